// What only the PostgreSQL backend does: nodes that start together, a key that does not open the
// database, a schema from a newer release, a lost connection, errors that hold no values.
#include <gtest/gtest.h>

#include <thread>

#include "store/backends.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/migrations.hpp"

namespace nexus::store {
namespace {

using test::PostgresBackend;

Channel sample_channel() {
    Channel c;
    c.type = "SiliconFlow";
    c.name = "main";
    c.key = "sk-abcdefghijklmnopqrstuvwxyz";
    c.base_url = "https://api.siliconflow.cn";
    return c;
}

TEST(PostgresStore, NodesStartingTogetherMigrateOnce) {
    PostgresBackend backend;
    std::vector<std::thread> nodes;
    std::atomic<int> opened{0};
    for (int i = 0; i < 4; ++i) {
        nodes.emplace_back([&] {
            if (backend.open()) ++opened;
        });
    }
    for (auto& n : nodes) n.join();
    EXPECT_EQ(opened.load(), 4);
    EXPECT_EQ(backend.database().query("SELECT count(*) FROM schema_version"), std::to_string(postgres::kSchemaVersion));
    EXPECT_EQ(backend.database().query("SELECT count(*) FROM settings WHERE name = 'master_key_check'"), "1");
}

TEST(PostgresStore, AKeyThatDoesNotOpenTheDatabaseIsRefused) {
    PostgresBackend backend;
    backend.open()->insert_channel(sample_channel());
    try {
        backend.open_with(core::random_bytes(32));
        FAIL() << "a wrong master key was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("master key"), std::string::npos) << e.what();
    }
    EXPECT_EQ(backend.open()->channels_with_keys()[0].key, "sk-abcdefghijklmnopqrstuvwxyz");
}

TEST(PostgresStore, NewerSchemaIsRefused) {
    PostgresBackend backend;
    backend.open();
    backend.database().query("INSERT INTO schema_version (version) VALUES (99)");
    try {
        backend.open();
        FAIL() << "a newer schema was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
    }
}

// A conflict's message names no value: PostgreSQL's DETAIL would repeat the key hash.
TEST(PostgresStore, ConflictsSayNothingOfTheValues) {
    PostgresBackend backend;
    auto store = backend.open();
    Token t;
    t.name = "t";
    t.key_hash = "hash-that-must-not-be-repeated";
    t.key_preview = "sk-...";
    store->insert_token(t);
    try {
        store->insert_token(t);
        FAIL() << "a second token with the same key was stored";
    } catch (const Conflict& e) {
        EXPECT_EQ(std::string(e.what()).find("hash-that-must-not-be-repeated"), std::string::npos) << e.what();
    }
}

// The server ends the node's connection (a restart, a failover, an idle timeout): the statement
// that finds it gone fails, and the next one opens a new connection.
TEST(PostgresStore, ALostConnectionIsOpenedAgain) {
    PostgresBackend backend;
    auto store = backend.open();
    store->put_setting("k", "v");
    backend.database().query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND "
        "pid <> pg_backend_pid()");
    std::optional<std::string> got;
    for (int i = 0; i < 2 && !got; ++i) {
        try {
            got = store->get_setting("k");
        } catch (const std::runtime_error&) {
            // the first statement after the loss may fail; the caller (a batch, an admin write) tries again
        }
    }
    EXPECT_EQ(got, "v");
}

// libpq quotes a malformed part of the URL in its error, the password included (measured:
// 'invalid percent-encoded token: "s3cr%zzet"'); the message that reaches the log does not.
TEST(PostgresStore, AnUnusableUrlsErrorHoldsNoPassword) {
    for (const char* url : {"postgresql://u:s3cr%zzet@127.0.0.1:1/db", "postgresql://u:s3cr%21et@127.0.0.1:notaport/db"}) {
        try {
            postgres::Connection c(url);
            FAIL() << "connected to " << url;
        } catch (const Unavailable& e) {
            const std::string message = e.what();
            EXPECT_EQ(message.find("s3cr"), std::string::npos) << message;
            EXPECT_NE(message.find("cannot connect to PostgreSQL"), std::string::npos) << message;
        }
    }
    EXPECT_EQ(postgres::without_password("a s3cr!et b", "postgresql://u:s3cr%21et@h/db"), "a *** b");
    EXPECT_EQ(postgres::without_password("no password here", "postgresql://u@h/db"), "no password here");
}

}  // namespace
}  // namespace nexus::store
