// Backups while the server serves, restores that check before they change anything, the one
// server per database, and schema upgrades that say what they did: each against the real binary.
#include <sqlite3.h>

#include <filesystem>
#include <set>

#include "core/crypto.hpp"
#include "store/sqlite/migrations.hpp"
#include "support/pool_fixture.hpp"

namespace nexus::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// The request ids of every usage record the server at `port` has.
std::set<std::string> request_ids(std::uint16_t port) {
    std::set<std::string> ids;
    for (int page = 1;; ++page) {
        const auto res = admin_call(port, "GET", "/api/log?page_size=100&page=" + std::to_string(page));
        const auto data = json::parse(res.body).at("data").as_array();
        for (const auto& row : data) ids.insert(std::string(row.at("request_id").as_string()));
        if (data.size() < 100) return ids;
    }
}

// Runs SQL on a database file from the test, as a tool of the operator's would.
void sql(const std::string& path, const std::string& statements) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
}

std::string random_key_file() { return core::to_hex(core::random_bytes(32)) + "\n"; }

class Backup : public PoolTest {
protected:
    std::string data_dir() const { return data_.file("data"); }
    void stop() {
        nexus_->signal(SIGTERM);
        ASSERT_EQ(nexus_->wait_exit(20s), 0);
    }
    RunResult command(const std::string& dir, std::vector<std::string> args) {
        return run_nexus(Env{{"NEXUS_DATA_DIR", dir}}, std::move(args), 60s);
    }
};

TEST_F(Backup, ABackupTakenUnderLoadRestoresEverythingUpToIt) {
    const auto channel_id = add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_token(port());
    for (int i = 0; i < 20; ++i) ASSERT_EQ(post_chat(port(), chat_body("m")).status, 200);
    ASSERT_EQ(usage_records(20, "?page_size=100").size(), 20u);
    const auto before = request_ids(port());

    // Calls keep coming while the backup is taken.
    std::atomic<bool> done{false};
    std::atomic<int> served{0};
    std::thread load([&] {
        while (!done) served += post_chat(port(), chat_body("m")).status == 200;
    });
    // Some of those calls' records are written before the backup starts.
    while (json::parse(admin_call(port(), "GET", "/api/log?page_size=1").body).at("total").as_int64() <= 20) {
        std::this_thread::sleep_for(20ms);
    }
    const auto file = data_.file("nexus-backup.db");
    const auto backup = command(data_dir(), {"backup", "--to", file});
    const int served_during = served;
    while (served < served_during + 20) std::this_thread::sleep_for(5ms);
    done = true;
    load.join();
    ASSERT_EQ(backup.exit_code, 0) << backup.err;
    EXPECT_NE(backup.out.find("fingerprint"), std::string::npos) << backup.out;
    EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_FALSE(fs::exists(file + "-wal")) << "a backup is one file";
    EXPECT_NE(command(data_dir(), {"backup", "--to", file}).exit_code, 0) << "a backup never overwrites a file";
    stop();
    nexus_.reset();

    // Restored into a fresh data directory with the same master key.
    TempDir fresh;
    const auto restored_dir = fresh.file("data");
    fs::create_directories(restored_dir);
    fs::copy_file(data_dir() + "/secret.key", restored_dir + "/secret.key");
    const auto restore = command(restored_dir, {"restore", "--from", file});
    ASSERT_EQ(restore.exit_code, 0) << restore.err;
    NexusProcess restored(Env{{"NEXUS_DATA_DIR", restored_dir}});
    ASSERT_TRUE(restored.wait_ready()) << restored.stderr_text();
    const auto ids = request_ids(restored.port());
    for (const auto& id : before) EXPECT_TRUE(ids.contains(id)) << "usage record " << id << " is lost";
    EXPECT_GT(ids.size(), before.size()) << "the records written while the backup ran";
    EXPECT_LT(ids.size(), before.size() + static_cast<std::size_t>(served.load())) << "records from after the backup";
    const auto ch = admin_call(restored.port(), "GET", "/api/channel/" + std::to_string(channel_id));
    ASSERT_EQ(ch.status, 200);
    EXPECT_EQ(json::parse(ch.body).at("name"), "A");
    EXPECT_EQ(post_chat(restored.port(), chat_body("m")).status, 200) << "the token and the channel's key work";
    EXPECT_EQ(mock_.requests().back().headers.at("authorization"), "Bearer sk-aaa");
}

TEST_F(Backup, ARestoreWithTheWrongKeyRefusesAndChangesNothing) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    const auto file = data_.file("nexus-backup.db");
    ASSERT_EQ(command(data_dir(), {"backup", "--to", file}).exit_code, 0);
    stop();

    // A fresh data directory with another key: refused, and no database appears.
    TempDir other;
    const auto other_dir = other.file("data");
    fs::create_directories(other_dir);
    write_file(other_dir + "/secret.key", random_key_file());
    auto run = command(other_dir, {"restore", "--from", file});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("needs the master key with fingerprint"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("nothing was changed"), std::string::npos) << run.err;
    EXPECT_FALSE(fs::exists(other_dir + "/nexus.db"));

    // No key at all: it says which one it needs, and a refusal creates nothing, not even the
    // data directory.
    TempDir bare;
    run = command(bare.file("data"), {"restore", "--from", file});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("fingerprint"), std::string::npos) << run.err;
    EXPECT_FALSE(fs::exists(bare.file("data")));

    // An existing database under another key stays byte for byte as it was.
    {
        NexusProcess own(Env{{"NEXUS_DATA_DIR", other_dir}});
        ASSERT_TRUE(own.wait_ready()) << own.stderr_text();
        add_channel(own.port(), channel_body("B", "sk-bbb", mock_.base_url()));
        own.signal(SIGTERM);
        ASSERT_EQ(own.wait_exit(20s), 0);
    }
    const auto original = read_file(other_dir + "/nexus.db");
    ASSERT_FALSE(original.empty());
    run = command(other_dir, {"restore", "--from", file});
    EXPECT_EQ(run.exit_code, 1) << run.out;
    EXPECT_EQ(read_file(other_dir + "/nexus.db"), original);
    for (const auto& entry : fs::directory_iterator(other_dir)) {
        EXPECT_EQ(entry.path().filename().string().find("before-restore"), std::string::npos) << entry.path();
    }
}

TEST_F(Backup, RestoreWaitsForTheServerToStopAndKeepsTheDatabaseItReplaces) {
    const auto file = data_.file("nexus-backup.db");
    ASSERT_EQ(command(data_dir(), {"backup", "--to", file}).exit_code, 0);
    add_channel(port(), channel_body("after-the-backup", "sk-aaa", mock_.base_url()));
    auto run = command(data_dir(), {"restore", "--from", file});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("is in use by nexus-api (pid " + std::to_string(nexus_->pid()) + ")"), std::string::npos)
        << run.err;
    stop();
    run = command(data_dir(), {"restore", "--from", file});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    std::string kept;
    for (const auto& entry : fs::directory_iterator(data_dir())) {
        if (entry.path().filename().string().starts_with("nexus.db.before-restore-")) kept = entry.path().string();
    }
    ASSERT_FALSE(kept.empty()) << run.out;
    EXPECT_NE(run.out.find(kept), std::string::npos) << run.out;
    // The restored database lacks the channel made after the backup; the one kept aside has it.
    start();
    EXPECT_EQ(json::parse(admin_call(port(), "GET", "/api/channel").body).at("total"), 0);
    stop();
    start({{"NEXUS_DB", kept}});
    EXPECT_EQ(json::parse(admin_call(port(), "GET", "/api/channel").body).at("total"), 1);
}

TEST_F(Backup, RestoreRefusesADamagedOrNewerBackup) {
    stop();
    const auto help = command(data_dir(), {"restore", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("usage: nexus-api restore --from FILE"), std::string::npos) << help.out;
    const auto usage = command(data_dir(), {"restore"});
    EXPECT_EQ(usage.exit_code, 2) << "no --from";
    EXPECT_NE(usage.err.find("usage: nexus-api restore"), std::string::npos) << usage.err;
    const auto file = data_.file("nexus-backup.db");
    ASSERT_EQ(command(data_dir(), {"backup", "--to", file}).exit_code, 0);
    const auto good = read_file(file);

    sql(file, "INSERT INTO schema_version (version) VALUES (" + std::to_string(store::sqlite::kSchemaVersion + 1) + ")");
    auto run = command(data_dir(), {"restore", "--from", file});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("newer than this nexus-api knows"), std::string::npos) << run.err;

    // A page of a table damaged (its b-tree page type made impossible): the schema still reads,
    // the integrity check does not pass.
    write_file(file, good);
    sql(file, "CREATE TABLE filler (x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
              "WHERE i < 500) INSERT INTO filler SELECT randomblob(300) FROM n;");
    auto damaged = read_file(file);
    damaged[damaged.size() - 4096] = '\x7f';
    write_file(file, damaged);
    run = command(data_dir(), {"restore", "--from", file});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("is damaged"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("nothing was changed"), std::string::npos) << run.err;

    write_file(file, "not a database at all, just some text that is long enough to look like a file header....");
    run = command(data_dir(), {"restore", "--from", file});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("not an SQLite database"), std::string::npos) << run.err;
    start();  // the database is as it was
}

TEST_F(Backup, OneServerPerDatabaseAndTheLockDiesWithItsHolder) {
    auto second = run_nexus(Env{{"NEXUS_DATA_DIR", data_dir()}, {"NEXUS_PORT", "0"}}, {}, 20s);
    EXPECT_EQ(second.exit_code, 1);
    EXPECT_NE(second.err.find("is in use by nexus-api (pid " + std::to_string(nexus_->pid()) + ")"), std::string::npos)
        << second.err;
    nexus_->signal(SIGKILL);
    nexus_->wait_exit(10s);
    start();  // a crash leaves no stale lock
}

TEST(Upgrade, AnOlderSchemaIsMigratedOnStartAndSaysSoInOneLine) {
    TempDir dir;
    const auto data = dir.file("data");
    fs::create_directories(data);
    std::string steps;
    for (int v = 0; v < 3; ++v) steps += std::string(store::sqlite::kMigrations[v]) + ";";
    sql(data + "/nexus.db", steps + "CREATE TABLE schema_version (version INTEGER NOT NULL);"
                                    "INSERT INTO schema_version VALUES (1), (2), (3);");
    NexusProcess nexus(Env{{"NEXUS_DATA_DIR", data}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    EXPECT_NE(nexus.stderr_text().find("schema migrated from version 3 to " + std::to_string(store::sqlite::kSchemaVersion)),
              std::string::npos)
        << nexus.stderr_text();
    nexus.signal(SIGTERM);
    ASSERT_EQ(nexus.wait_exit(20s), 0);

    // A schema newer than the binary knows is refused, and nothing is migrated.
    sql(data + "/nexus.db", "INSERT INTO schema_version VALUES (" + std::to_string(store::sqlite::kSchemaVersion + 1) + ")");
    const auto newer = run_nexus(Env{{"NEXUS_DATA_DIR", data}, {"NEXUS_PORT", "0"}}, {}, 20s);
    EXPECT_EQ(newer.exit_code, 1);
    EXPECT_NE(newer.err.find("newer than this nexus-api knows"), std::string::npos) << newer.err;
    EXPECT_EQ(newer.err.find("migrated"), std::string::npos) << newer.err;
}

}  // namespace
}  // namespace nexus::testing
