// The master key rotated (whole, or cut short by a kill and settled on the next start) and the
// admin key reset, each against the real binary and its data directory.
#include <sqlite3.h>

#include <filesystem>

#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "store/master_key.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/pool_fixture.hpp"

namespace nexus::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string hex_key() { return core::to_hex(core::random_bytes(32)); }

std::string key_in(const std::string& dir) {
    const auto key = core::from_hex(read_file(dir + "/secret.key").substr(0, 64));
    return key ? *key : std::string();
}

class Rotation : public PoolTest {
protected:
    std::string data_dir() const { return data_.file("data"); }
    std::string db() const { return data_dir() + "/nexus.db"; }
    void stop() {
        nexus_->signal(SIGTERM);
        ASSERT_EQ(nexus_->wait_exit(20s), 0);
    }
    RunResult command(std::vector<std::string> args, Env env = {}) {
        env["NEXUS_DATA_DIR"] = data_dir();
        return run_nexus(env, std::move(args), 120s);
    }
    // `n` channels straight into the stopped server's database, their keys sealed with `key`
    // ("sk-<i>"), in one transaction: many secrets make a rotation long enough to kill.
    void add_channels(int n, const std::string& key) {
        const core::SecretBox box(key);
        sqlite3* handle = nullptr;
        ASSERT_EQ(sqlite3_open(db().c_str(), &handle), SQLITE_OK);
        sqlite3_exec(handle, "BEGIN", nullptr, nullptr, nullptr);
        sqlite3_stmt* insert = nullptr;
        sqlite3_prepare_v2(handle,
                           "INSERT INTO channels (type, name, key_encrypted, key_preview, base_url, created_time, "
                           "updated_time) VALUES ('OpenAI-Compatible', ?, ?, 'sk-...', 'http://127.0.0.1:9', 1, 1)",
                           -1, &insert, nullptr);
        for (int i = 0; i < n; ++i) {
            const auto number = std::to_string(i);
            const auto name = std::string("c").append(number);
            const auto sealed = box.seal(std::string("sk-").append(number));
            sqlite3_bind_text(insert, 1, name.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(insert, 2, sealed.c_str(), -1, SQLITE_TRANSIENT);
            ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE);
            sqlite3_reset(insert);
        }
        sqlite3_finalize(insert);
        ASSERT_EQ(sqlite3_exec(handle, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(handle);
    }
    // Every channel key opens with the key in secret.key now (the server stopped): how many.
    std::size_t keys_that_open() {
        store::sqlite::SqliteStore store(db(), core::SecretBox(key_in(data_dir())));
        std::size_t n = 0;
        for (const auto& c : store.channels_with_keys()) n += c.key.starts_with("sk-");
        return n;
    }
};

TEST_F(Rotation, EverySecretIsReSealedAndTheOldKeyIsKeptForOlderBackups) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_token(port());
    const auto backup = data_.file("before.db");
    ASSERT_EQ(command({"backup", "--to", backup}).exit_code, 0);
    EXPECT_EQ(command({"rotate-secret"}).exit_code, 1) << "not while the server runs";
    stop();
    const auto old_key = key_in(data_dir());
    const auto run = command({"rotate-secret"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("re-sealed 2 secret(s)"), std::string::npos) << run.out;  // the channel key, the check
    const auto new_key = key_in(data_dir());
    ASSERT_EQ(new_key.size(), 32u);
    EXPECT_NE(new_key, old_key);
    const auto kept = store::old_key_file(data_dir(), store::key_fingerprint(old_key));
    EXPECT_EQ(core::from_hex(read_file(kept).substr(0, 64)).value_or(""), old_key);
    EXPECT_FALSE(fs::exists(store::next_key_file(data_dir())));
    EXPECT_EQ(read_file(db()).find("sk-aaa"), std::string::npos) << "no key in the clear";

    start();
    EXPECT_EQ(post_chat(port(), chat_body("m")).status, 200) << "the channel's key opens under the new master key";
    EXPECT_EQ(mock_.requests().back().headers.at("authorization"), "Bearer sk-aaa");
    const auto audit = admin_call(port(), "GET", "/api/audit");
    EXPECT_NE(audit.body.find("\"rotate-secret\""), std::string::npos) << audit.body;
    stop();
    // A backup from before needs the old key, and the restore says where it is.
    const auto restore = command({"restore", "--from", backup});
    EXPECT_EQ(restore.exit_code, 1);
    EXPECT_NE(restore.err.find(kept + " is the one it needs"), std::string::npos) << restore.err;
}

TEST_F(Rotation, WithNexusSecretTheNewKeyIsGivenAndOnlyItOpensTheDatabase) {
    const auto k1 = hex_key();
    const auto k2 = hex_key();
    stop();
    fs::remove_all(data_dir());
    start({{"NEXUS_SECRET", k1}});
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_token(port());
    stop();
    auto run = command({"rotate-secret"}, {{"NEXUS_SECRET", k1}});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("--new-secret"), std::string::npos) << run.err;
    EXPECT_EQ(command({"rotate-secret", "--new-secret", k1}, {{"NEXUS_SECRET", k1}}).exit_code, 1) << "the same key";
    EXPECT_EQ(command({"rotate-secret", "--new-secret", "short"}, {{"NEXUS_SECRET", k1}}).exit_code, 2);
    run = command({"rotate-secret", "--new-secret", k2}, {{"NEXUS_SECRET", k1}});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("set NEXUS_SECRET"), std::string::npos) << run.out;
    EXPECT_FALSE(fs::exists(data_dir() + "/secret.key"));

    const auto old = run_nexus(Env{{"NEXUS_DATA_DIR", data_dir()}, {"NEXUS_SECRET", k1}, {"NEXUS_PORT", "0"}}, {}, 20s);
    EXPECT_EQ(old.exit_code, 1);
    EXPECT_NE(old.err.find("the master key does not open"), std::string::npos) << old.err;
    start({{"NEXUS_SECRET", k2}});
    EXPECT_EQ(post_chat(port(), chat_body("m")).status, 200);
}

TEST_F(Rotation, ARotationCutShortIsSettledByTheNextStart) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_token(port());
    stop();
    const auto old_key = key_in(data_dir());
    const auto key_file = data_dir() + "/secret.key";
    const auto next_file = store::next_key_file(data_dir());

    // Cut short before its commit: the new key is on disk, the database still under the old one.
    write_file(next_file, hex_key() + "\n");
    start();
    EXPECT_NE(nexus_->stderr_text().find("rotation was rolled back"), std::string::npos) << nexus_->stderr_text();
    EXPECT_FALSE(fs::exists(next_file));
    EXPECT_EQ(key_in(data_dir()), old_key);
    EXPECT_EQ(post_chat(port(), chat_body("m")).status, 200);
    stop();

    // Cut short after its commit: the database is under the new key, secret.key still the old one.
    const auto k2 = hex_key();
    ASSERT_EQ(command({"rotate-secret", "--new-secret", k2}).exit_code, 0);
    fs::rename(key_file, next_file);
    fs::rename(store::old_key_file(data_dir(), store::key_fingerprint(old_key)), key_file);
    start();
    EXPECT_NE(nexus_->stderr_text().find("rotation was completed"), std::string::npos) << nexus_->stderr_text();
    EXPECT_EQ(core::to_hex(key_in(data_dir())), k2);
    EXPECT_FALSE(fs::exists(next_file));
    EXPECT_TRUE(fs::exists(store::old_key_file(data_dir(), store::key_fingerprint(old_key))));
    EXPECT_EQ(post_chat(port(), chat_body("m")).status, 200);
}

TEST_F(Rotation, KilledAnywhereItLeavesOneKeyThatOpensEverySecret) {
    stop();
    constexpr int kChannels = 20000;
    add_channels(kChannels, key_in(data_dir()));
    int rotated = 0;
    int untouched = 0;
    for (const int delay_ms : {0, 5, 20, 50, 100, 200, 400}) {
        const auto before = key_in(data_dir());
        NexusProcess rotation(Env{{"NEXUS_DATA_DIR", data_dir()}}, {"rotate-secret"});
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        rotation.signal(SIGKILL);
        rotation.wait_exit(20s);
        // The next start settles whatever was cut short, and every key opens.
        start();
        EXPECT_EQ(json::parse(admin_call(port(), "GET", "/api/channel?page_size=1").body).at("total"), kChannels);
        stop();
        EXPECT_FALSE(fs::exists(store::next_key_file(data_dir()))) << "after " << delay_ms << " ms";
        EXPECT_EQ(keys_that_open(), static_cast<std::size_t>(kChannels)) << "after " << delay_ms << " ms";
        (key_in(data_dir()) == before ? untouched : rotated) += 1;
    }
    std::cout << "kills before the commit: " << untouched << ", after it: " << rotated << "\n";
}

TEST(AdminKey, ResetReplacesTheKeyOnlyWhileTheServerIsStopped) {
    TempDir dir;
    const Env env{{"NEXUS_DATA_DIR", dir.file("data")}};  // no NEXUS_ADMIN_KEY: the stored key counts
    auto server = std::make_unique<NexusProcess>(Env{{"NEXUS_DATA_DIR", dir.file("data")}, {"NEXUS_ADMIN_KEY", ""}});
    ASSERT_TRUE(server->wait_ready()) << server->stderr_text();
    auto run = run_nexus(env, {"admin-key", "--reset"}, 20s);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("stop it first"), std::string::npos) << run.err;
    server->signal(SIGTERM);
    ASSERT_EQ(server->wait_exit(20s), 0);

    run = run_nexus(env, {"admin-key", "--reset"}, 20s);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto at = run.out.find("nexus-admin-");
    ASSERT_NE(at, std::string::npos) << run.out;
    const auto key = run.out.substr(at, run.out.find('\n', at) - at);
    EXPECT_EQ(run.err.find(key), std::string::npos) << "the key is printed once, on stdout";
    server = std::make_unique<NexusProcess>(Env{{"NEXUS_DATA_DIR", dir.file("data")}, {"NEXUS_ADMIN_KEY", ""}});
    ASSERT_TRUE(server->wait_ready()) << server->stderr_text();
    const auto with = [&](const std::string& k) {
        return http_request(server->port(), "GET", "/api/audit", "", {{"Authorization", "Bearer " + k}});
    };
    const auto audit = with(key);
    EXPECT_EQ(audit.status, 200);
    EXPECT_NE(audit.body.find("\"admin-key-reset\""), std::string::npos) << audit.body;
    EXPECT_EQ(with(std::string(kTestAdminKey)).status, 401);
    server.reset();

    run = run_nexus(Env{{"NEXUS_DATA_DIR", dir.file("data")}, {"NEXUS_ADMIN_KEY", kTestAdminKey}}, {"admin-key", "--reset"},
                    20s);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("NEXUS_ADMIN_KEY is set"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace nexus::testing
