// The usage sink against a real SQLite store: what a refused batch and a full backlog do.
#include "relay/usage_sink.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <thread>

#include "core/crypto.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/nexus_process.hpp"

namespace nexus::relay {
namespace {

using namespace std::chrono_literals;

// Runs `sql` on the database file through a connection of its own (what the store does not see coming).
void exec_aside(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
}

std::string dropped(const core::Metrics& m) {
    const core::Metrics* all[] = {&m};
    const auto text = core::Metrics::render(all);
    const std::string line = "\nnexus_usage_records_dropped_total ";
    const auto at = text.find(line) + line.size();
    return text.substr(at, text.find('\n', at) - at);
}

class UsageSinkTest : public ::testing::Test {
protected:
    UsageSinkTest() : store_(dir_.file("nexus.db"), core::SecretBox(core::random_bytes(32))) {}
    ~UsageSinkTest() override { db_.join(); }

    store::UsageRecord record(const std::string& id) {
        store::UsageRecord r;
        r.request_id = id;
        r.model = "m";
        return r;
    }
    std::int64_t rows() { return store_.list_usage({}).total; }

    testing::TempDir dir_;
    store::sqlite::SqliteStore store_;
    net::thread_pool db_{1};
    core::Metrics metrics_;
    std::atomic<std::size_t> backlog_{0};
};

TEST_F(UsageSinkTest, ARefusedBatchIsTriedAgainAndLandsWhenTheDatabaseTakesIt) {
    UsageSink sink(store_, db_.get_executor(), metrics_, backlog_, {}, {.flush_every = 1s, .backlog_limit = 100,
                                                                     .retry_delays = {300ms, 300ms, 300ms}});
    exec_aside(dir_.file("nexus.db"), "ALTER TABLE usage_logs RENAME TO usage_logs_hidden");
    sink.record(record("a"));
    sink.record(record("b"));
    sink.flush();
    std::this_thread::sleep_for(150ms);  // the first try failed; the next is due at 300 ms
    exec_aside(dir_.file("nexus.db"), "ALTER TABLE usage_logs_hidden RENAME TO usage_logs");
    // The rows are committed a moment before the batch is done with (its backlog given back).
    for (int i = 0; i < 100 && (rows() < 2 || backlog_.load() != 0); ++i) std::this_thread::sleep_for(20ms);
    EXPECT_EQ(rows(), 2);
    EXPECT_EQ(dropped(metrics_), "0");
    EXPECT_EQ(backlog_.load(), 0u);
}

TEST_F(UsageSinkTest, ABatchRefusedEveryTimeIsDroppedAndCounted) {
    UsageSink sink(store_, db_.get_executor(), metrics_, backlog_, {}, {.flush_every = 1s, .backlog_limit = 100,
                                                                     .retry_delays = {50ms, 50ms}});
    exec_aside(dir_.file("nexus.db"), "ALTER TABLE usage_logs RENAME TO usage_logs_hidden");
    for (const auto* id : {"a", "b", "c"}) sink.record(record(id));
    sink.flush();
    for (int i = 0; i < 100 && dropped(metrics_) != "3"; ++i) std::this_thread::sleep_for(20ms);
    EXPECT_EQ(dropped(metrics_), "3");
    EXPECT_EQ(backlog_.load(), 0u);
}

TEST_F(UsageSinkTest, PastTheBacklogLimitBatchesAreDroppedAndCounted) {
    UsageSink sink(store_, db_.get_executor(), metrics_, backlog_, {}, {.flush_every = 1s, .backlog_limit = 5,
                                                                     .retry_delays = {}});
    backlog_ = 4;  // another thread's records are still on their way
    for (const auto* id : {"a", "b"}) sink.record(record(id));
    sink.flush();
    backlog_ -= 4;
    sink.record(record("c"));
    sink.flush();
    db_.join();
    EXPECT_EQ(dropped(metrics_), "2");
    EXPECT_EQ(rows(), 1);
}

}  // namespace
}  // namespace nexus::relay
