// The store contract. Every backend runs this suite: SQLite and PostgreSQL (tests/store/backends.hpp).
#include "store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/crypto.hpp"
#include "store/open.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/backends.hpp"
#include "store/sync_counter.hpp"
#include "support/nexus_process.hpp"

namespace nexus::store {
namespace {

using testing::TempDir;

using test::SqliteBackend;

template <class Backend>
class StoreTest : public ::testing::Test {
protected:
    Backend backend_;
};

TYPED_TEST_SUITE(StoreTest, test::Backends, test::BackendNames);

Channel sample_channel(std::string name = "main", std::string key = "sk-abcdefghijklmnopqrstuvwxyz") {
    Channel c;
    c.type = "SiliconFlow";
    c.name = std::move(name);
    c.key = std::move(key);
    c.base_url = "https://api.siliconflow.cn";
    c.models = {"Qwen/Qwen2.5-7B-Instruct"};
    c.model_mapping = {{"gpt-4o", "Qwen/Qwen2.5-72B-Instruct"}};
    c.priority = 5;
    c.weight = 3;
    return c;
}

TYPED_TEST(StoreTest, ChannelRoundTrip) {
    auto store = this->backend_.open();
    const auto created = store->insert_channel(sample_channel());
    EXPECT_GT(created.id, 0);
    EXPECT_TRUE(created.key.empty()) << "reads never carry the key";
    EXPECT_EQ(created.key_preview, "sk-abcd...wxyz");
    EXPECT_GT(created.created_time, 0);
    const auto got = store->get_channel(created.id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->name, "main");
    EXPECT_EQ(got->models, std::vector<std::string>{"Qwen/Qwen2.5-7B-Instruct"});
    ASSERT_EQ(got->model_mapping.size(), 1u);
    EXPECT_EQ(got->model_mapping[0].second, "Qwen/Qwen2.5-72B-Instruct");
    EXPECT_EQ(got->priority, 5);
    EXPECT_EQ(got->weight, 3);
    const auto with_keys = store->channels_with_keys();
    ASSERT_EQ(with_keys.size(), 1u);
    EXPECT_EQ(with_keys[0].key, "sk-abcdefghijklmnopqrstuvwxyz");
    const auto one = store->get_channel_with_key(created.id);
    ASSERT_TRUE(one);
    EXPECT_EQ(one->key, "sk-abcdefghijklmnopqrstuvwxyz");
    EXPECT_EQ(one->name, "main");
    EXPECT_FALSE(store->get_channel_with_key(created.id + 1));
}

TYPED_TEST(StoreTest, UpdateKeepsOrRotatesTheKey) {
    auto store = this->backend_.open();
    auto c = store->insert_channel(sample_channel());
    c.name = "renamed";
    ASSERT_TRUE(store->update_channel(c));
    EXPECT_EQ(store->channels_with_keys()[0].key, "sk-abcdefghijklmnopqrstuvwxyz");
    c.key = "sk-rotated-key-0000000000";
    const auto updated = store->update_channel(c);
    ASSERT_TRUE(updated);
    EXPECT_EQ(updated->name, "renamed");
    EXPECT_EQ(updated->key_preview, "sk-rota...0000");
    EXPECT_EQ(store->channels_with_keys()[0].key, "sk-rotated-key-0000000000");
    c.id = 999;
    EXPECT_FALSE(store->update_channel(c));
}

TYPED_TEST(StoreTest, DeleteAndMissing) {
    auto store = this->backend_.open();
    const auto c = store->insert_channel(sample_channel());
    EXPECT_TRUE(store->delete_channel(c.id));
    EXPECT_FALSE(store->delete_channel(c.id));
    EXPECT_FALSE(store->get_channel(c.id));
}

TYPED_TEST(StoreTest, ListPagesAndFilters) {
    auto store = this->backend_.open();
    for (int i = 0; i < 25; ++i) {
        auto c = sample_channel("ch-" + std::to_string(i));
        if (i % 5 == 0) c.status = kChannelDisabledByAdmin;
        store->insert_channel(c);
    }
    ListQuery q;
    q.page_size = 10;
    auto page = store->list_channels(q);
    EXPECT_EQ(page.total, 25);
    EXPECT_EQ(page.items.size(), 10u);
    q.page = 3;
    page = store->list_channels(q);
    EXPECT_EQ(page.items.size(), 5u);
    EXPECT_EQ(page.items[0].name, "ch-20");
    ListQuery disabled;
    disabled.status = kChannelDisabledByAdmin;
    EXPECT_EQ(store->list_channels(disabled).total, 5);
    ListQuery named;
    named.name_contains = "ch-1";
    EXPECT_EQ(store->list_channels(named).total, 11);  // ch-1, ch-10..ch-19
}

TYPED_TEST(StoreTest, TokensStoredByHash) {
    auto store = this->backend_.open();
    Token t;
    t.name = "app";
    t.key_hash = core::sha256_hex("sk-nexus-abc");
    t.key_preview = mask_key("sk-nexus-abc");
    const auto created = store->insert_token(t);
    EXPECT_GT(created.id, 0);
    EXPECT_EQ(created.expired_time, -1);
    EXPECT_EQ(created.status, kTokenEnabled);
    EXPECT_THROW(store->insert_token(t), Conflict);
    auto changed = created;
    changed.status = kTokenDisabled;
    ASSERT_TRUE(store->update_token(changed));
    EXPECT_EQ(store->get_token(created.id)->status, kTokenDisabled);
    EXPECT_EQ(store->all_tokens().size(), 1u);
    EXPECT_EQ(store->list_tokens({}).total, 1);
    EXPECT_TRUE(store->delete_token(created.id));
    EXPECT_FALSE(store->get_token(created.id));
}

TYPED_TEST(StoreTest, WritesNotifyListeners) {
    auto store = this->backend_.open();
    std::atomic<int> changes{0};
    store->on_change([&] { ++changes; });
    auto c = store->insert_channel(sample_channel());
    store->update_channel(c);
    store->delete_channel(c.id);
    Token t;
    t.name = "x";
    t.key_hash = core::sha256_hex("k");
    store->insert_token(t);
    EXPECT_EQ(changes.load(), 4);
    store->get_channel(1);
    store->list_channels({});
    EXPECT_EQ(changes.load(), 4) << "reads must not notify";
}

TYPED_TEST(StoreTest, PersistsAcrossReopen) {
    {
        auto store = this->backend_.open();
        store->insert_channel(sample_channel());
        store->put_setting("k", "v");
    }
    auto store = this->backend_.open();
    EXPECT_EQ(store->list_channels({}).total, 1);
    EXPECT_EQ(store->channels_with_keys()[0].key, "sk-abcdefghijklmnopqrstuvwxyz");
    EXPECT_EQ(store->get_setting("k"), "v");
    store->put_setting("k", "w");
    EXPECT_EQ(store->get_setting("k"), "w");
}

TYPED_TEST(StoreTest, NoPlaintextKeyOnDisk) {
    {
        auto store = this->backend_.open();
        store->insert_channel(sample_channel("c", "sk-plaintext-must-not-appear-0001"));
    }
    EXPECT_EQ(this->backend_.raw_bytes().find("plaintext-must-not-appear"), std::string::npos);
}

TYPED_TEST(StoreTest, UsageRecordsBatchFilterAndPrune) {
    auto store = this->backend_.open();
    const auto c = store->insert_channel(sample_channel());
    std::vector<UsageRecord> batch;
    for (int i = 0; i < 5; ++i) {
        UsageRecord r;
        r.created_time = 1000 + i;
        r.request_id = "req-" + std::to_string(i);
        r.token_id = i % 2 + 1;
        r.channel_id = c.id;
        r.model = std::string(1, i < 3 ? 'a' : 'b');
        r.status = 200;
        r.attempts = 1;
        r.total_tokens = 10;
        batch.push_back(r);
    }
    store->insert_usage(batch);
    EXPECT_EQ(store->list_usage({}).total, 5);
    UsageQuery q;
    q.model = "a";
    EXPECT_EQ(store->list_usage(q).total, 3);
    q = {};
    q.token_id = 2;
    EXPECT_EQ(store->list_usage(q).total, 2);
    q = {};
    q.start_time = 1002;
    q.end_time = 1003;
    EXPECT_EQ(store->list_usage(q).total, 2);
    q = {};
    q.page_size = 2;
    const auto page = store->list_usage(q);
    ASSERT_EQ(page.items.size(), 2u);
    EXPECT_EQ(page.items[0].request_id, "req-4") << "newest first";
    EXPECT_EQ(store->get_channel(c.id)->used_tokens, 50);
    EXPECT_EQ(store->prune_usage(1003), 3);
    EXPECT_EQ(store->list_usage({}).total, 2);
}

// A batch larger than one multi-row insert (and not a multiple of it): every row lands once,
// in order, with every field where it belongs.
TYPED_TEST(StoreTest, ALargeBatchKeepsEveryRowAndEveryField) {
    auto store = this->backend_.open();
    std::vector<UsageRecord> batch;
    for (int i = 0; i < 75; ++i) {
        UsageRecord r;
        r.created_time = 2000 + i;
        r.request_id = "req-" + std::to_string(i);
        r.token_id = 100 + i;
        r.user_id = 200 + i;
        r.channel_id = 300 + i;
        r.model = "model-" + std::to_string(i);
        r.stream = i % 2 == 0;
        r.status = 200 + i;
        r.latency_ms = 400 + i;
        r.ttfb_ms = 500 + i;
        r.attempts = 1 + i;
        r.prompt_tokens = 600 + i;
        r.completion_tokens = 700 + i;
        r.total_tokens = 800 + i;
        r.cached_tokens = 900 + i;
        r.quota = 1000 + i;
        r.price = {1100 + i, 1200 + i, 1300 + i, 1400 + i};
        r.estimated = i % 3 == 0;
        batch.push_back(r);
    }
    store->insert_usage(batch);
    UsageQuery q;
    q.page_size = 100;
    const auto page = store->list_usage(q);
    ASSERT_EQ(page.total, 75);
    ASSERT_EQ(page.items.size(), 75u);
    for (int i = 0; i < 75; ++i) {
        const auto& want = batch[static_cast<std::size_t>(i)];
        const auto& got = page.items[static_cast<std::size_t>(74 - i)];  // newest first
        SCOPED_TRACE(want.request_id);
        EXPECT_EQ(got.created_time, want.created_time);
        EXPECT_EQ(got.request_id, want.request_id);
        EXPECT_EQ(got.token_id, want.token_id);
        EXPECT_EQ(got.user_id, want.user_id);
        EXPECT_EQ(got.channel_id, want.channel_id);
        EXPECT_EQ(got.model, want.model);
        EXPECT_EQ(got.stream, want.stream);
        EXPECT_EQ(got.status, want.status);
        EXPECT_EQ(got.latency_ms, want.latency_ms);
        EXPECT_EQ(got.ttfb_ms, want.ttfb_ms);
        EXPECT_EQ(got.attempts, want.attempts);
        EXPECT_EQ(got.prompt_tokens, want.prompt_tokens);
        EXPECT_EQ(got.completion_tokens, want.completion_tokens);
        EXPECT_EQ(got.total_tokens, want.total_tokens);
        EXPECT_EQ(got.cached_tokens, want.cached_tokens);
        EXPECT_EQ(got.quota, want.quota);
        EXPECT_EQ(got.price.input, want.price.input);
        EXPECT_EQ(got.price.output, want.price.output);
        EXPECT_EQ(got.price.cached_input, want.price.cached_input);
        EXPECT_EQ(got.price.per_request, want.price.per_request);
        EXPECT_EQ(got.estimated, want.estimated);
    }
    // A second batch goes through the statements kept from the first.
    store->insert_usage(std::vector<UsageRecord>(batch.begin(), batch.begin() + 40));
    EXPECT_EQ(store->list_usage({}).total, 115);
}

TYPED_TEST(StoreTest, ChannelStatusAndTestAndTokenAccess) {
    auto store = this->backend_.open();
    std::atomic<int> changes{0};
    const auto c = store->insert_channel(sample_channel());
    store->on_change([&] { ++changes; });
    EXPECT_TRUE(store->set_channel_status(c.id, kChannelDisabledAutomatically, "upstream rejected the key"));
    EXPECT_EQ(changes.load(), 1) << "a status change must reach the relay";
    const auto got = store->get_channel(c.id);
    EXPECT_EQ(got->status, kChannelDisabledAutomatically);
    EXPECT_EQ(got->status_reason, "upstream rejected the key");
    EXPECT_GT(got->status_time, 0);
    EXPECT_FALSE(store->set_channel_status(999, 1, ""));
    EXPECT_TRUE(store->record_channel_test(c.id, 123));
    EXPECT_EQ(store->get_channel(c.id)->response_time_ms, 123);
    EXPECT_GT(store->get_channel(c.id)->test_time, 0);
    Token t;
    t.name = "t";
    t.key_hash = core::sha256_hex("k");
    const auto token = store->insert_token(t);
    store->touch_tokens({{token.id, 5000}});
    store->touch_tokens({{token.id, 4000}});  // never moves backwards
    EXPECT_EQ(store->get_token(token.id)->accessed_time, 5000);
}

// What an admin was told is written is on disk: admin writes are synced before they return
// (synchronous=FULL); usage batches are not (NORMAL: a crash of the process loses none of them
// once committed, only a power loss could).
TEST(SqliteStore, AdminWritesAreSyncedAndUsageBatchesAreNot) {
    testing::SyncCounter counter("-wal");
    TempDir dir;
    sqlite::SqliteStore store(dir.file("nexus.db"), core::SecretBox(core::random_bytes(32)));
    int before = counter.syncs();
    const auto channel = store.insert_channel(sample_channel());
    EXPECT_GT(counter.syncs(), before) << "a channel write was not synced";
    before = counter.syncs();
    auto changed = channel;
    changed.name = "renamed";
    changed.key = "sk-rotated-0123456789abcdef";
    store.update_channel(changed);
    EXPECT_GT(counter.syncs(), before) << "a channel update was not synced";
    before = counter.syncs();
    Token t;
    t.name = "t";
    t.key_hash = core::sha256_hex("sk-token");
    t.key_preview = "sk-t...oken";
    store.insert_token(t);
    EXPECT_GT(counter.syncs(), before) << "a token write was not synced";

    before = counter.syncs();
    UsageRecord r;
    r.request_id = "r1";
    r.model = "m";
    store.insert_usage({r, r, r});
    store.touch_tokens({{1, 100}});
    EXPECT_EQ(counter.syncs(), before) << "usage batches pay for a sync each";
    // And the connection is back to FULL for the next admin write.
    store.delete_channel(channel.id);
    EXPECT_GT(counter.syncs(), before);
}

TEST(SqliteStore, WrongMasterKeyIsRefusedAndNothingChanges) {
    SqliteBackend backend;
    { backend.open()->insert_channel(sample_channel()); }
    const auto before = testing::read_file(backend.path());
    EXPECT_TRUE(sqlite::SqliteStore::holds_secrets(backend.path()));
    try {
        sqlite::SqliteStore other(backend.path(), core::SecretBox(core::random_bytes(32)));
        FAIL() << "a wrong master key was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("master key"), std::string::npos) << e.what();
    }
    EXPECT_EQ(testing::read_file(backend.path()), before);
    EXPECT_EQ(backend.open()->channels_with_keys()[0].key, "sk-abcdefghijklmnopqrstuvwxyz");
}

TEST(SqliteStore, NewerSchemaIsRefused) {
    SqliteBackend backend;
    { backend.open(); }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(backend.path().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_version (version) VALUES (99)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    try {
        backend.open();
        FAIL() << "a newer schema was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
    }
}

TEST(SqliteStore, RecordsSchemaVersion) {
    SqliteBackend backend;
    { backend.open(); }
    { backend.open(); }  // a second open applies nothing again
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(backend.path().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*), max(version) FROM schema_version", -1, &s, nullptr);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(s, 0), sqlite::kSchemaVersion);
    EXPECT_EQ(sqlite3_column_int(s, 1), sqlite::kSchemaVersion);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

// A version-2 database (usage_logs with AUTOINCREMENT) keeps its usage records through the v3
// rebuild of that table.
// A usage batch goes in as multi-row INSERTs in one transaction. SQLite keeps a statement journal
// for such a statement when a constraint could abort it alone; a batch's outgrew memory and was
// written to a temporary file page by page, most of the database thread's writes (issue 17).
// Written OR ROLLBACK, a batch needs none, and is still all or nothing.
TEST(SqliteStore, AUsageBatchKeepsNoStatementJournal) {
    testing::SyncCounter counter("-wal");
    TempDir dir;
    sqlite::SqliteStore store(dir.file("nexus.db"), core::SecretBox(core::random_bytes(32)));
    std::vector<UsageRecord> batch(20'000);
    for (std::size_t i = 0; i < batch.size(); ++i) {
        batch[i].created_time = 1000 + static_cast<std::int64_t>(i);
        batch[i].request_id = "request-" + std::to_string(i);
        batch[i].token_id = 1 + static_cast<std::int64_t>(i % 7);
        batch[i].channel_id = 1 + static_cast<std::int64_t>(i % 3);
        batch[i].model = "Qwen/Qwen2.5-7B-Instruct";
    }
    store.insert_usage(batch, "one-batch");
    EXPECT_EQ(counter.statement_journals(), 0);
    EXPECT_EQ(store.list_usage({}).total, 20'000);

    // A row the database refuses takes its whole batch back with it, and the next batch goes in.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("nexus.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TRIGGER refuse BEFORE INSERT ON usage_logs WHEN NEW.model = 'refused' "
                           "BEGIN SELECT RAISE(ABORT, 'refused'); END",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
    auto refused = std::vector<UsageRecord>(batch.begin(), batch.begin() + 100);
    refused[64].model = "refused";
    EXPECT_THROW(store.insert_usage(refused, "refused-batch"), std::exception);
    EXPECT_EQ(store.list_usage({}).total, 20'000);
    store.insert_usage(std::vector<UsageRecord>(batch.begin(), batch.begin() + 100), "next-batch");
    EXPECT_EQ(store.list_usage({}).total, 20'100);
}

TEST(SqliteStore, MigratesV2UsageLogsKeepingTheirRows) {
    SqliteBackend backend;
    {
        auto store = backend.open();
        std::vector<UsageRecord> batch(3);
        for (int i = 0; i < 3; ++i) {
            batch[i].created_time = 1700000000 + i;
            batch[i].request_id = "req-" + std::to_string(i);
            batch[i].model = "m";
            batch[i].total_tokens = 10 + i;
        }
        store->insert_usage(batch);
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(backend.path().c_str(), &db), SQLITE_OK);
    // Back to what version 2 made.
    const char* to_v2 = R"sql(
        DELETE FROM schema_version WHERE version >= 3;
        DROP TABLE usage_batches;
        ALTER TABLE tokens DROP COLUMN quota_epoch;
        DROP TABLE users;
        DROP TABLE sessions;
        DROP TABLE audit_logs;
        DROP INDEX tokens_user;
        DROP TABLE prices;
        ALTER TABLE tokens DROP COLUMN allow_ips;
        ALTER TABLE tokens DROP COLUMN rpm;
        ALTER TABLE tokens DROP COLUMN tpm;
        ALTER TABLE tokens DROP COLUMN max_concurrency;
        CREATE TABLE usage_v2 AS SELECT id, created_time, request_id, token_id, channel_id, model, stream, status,
          latency_ms, ttfb_ms, attempts, prompt_tokens, completion_tokens, total_tokens FROM usage_logs;
        DROP TABLE usage_logs;
        CREATE TABLE usage_logs (id INTEGER PRIMARY KEY AUTOINCREMENT, created_time INTEGER NOT NULL,
          request_id TEXT NOT NULL, token_id INTEGER NOT NULL, channel_id INTEGER NOT NULL, model TEXT NOT NULL,
          stream INTEGER NOT NULL, status INTEGER NOT NULL, latency_ms INTEGER NOT NULL, ttfb_ms INTEGER NOT NULL,
          attempts INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
          total_tokens INTEGER NOT NULL);
        INSERT INTO usage_logs SELECT * FROM usage_v2;
        DROP TABLE usage_v2;
        CREATE INDEX usage_logs_time ON usage_logs (created_time);
        CREATE INDEX usage_logs_token ON usage_logs (token_id, created_time);
        CREATE INDEX usage_logs_channel ON usage_logs (channel_id, created_time);)sql";
    ASSERT_EQ(sqlite3_exec(db, to_v2, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);

    auto store = backend.open();
    const auto page = store->list_usage(UsageQuery{});
    ASSERT_EQ(page.total, 3);
    EXPECT_EQ(page.items.front().request_id, "req-2") << "newest first, ids kept";
    EXPECT_EQ(page.items.back().total_tokens, 10);

    ASSERT_EQ(sqlite3_open(backend.path().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name = 'usage_logs'", -1, &s, nullptr);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))).find("AUTOINCREMENT"),
              std::string::npos);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

TEST(MaskKey, ShowsAtMostFourAndFour) {
    EXPECT_EQ(mask_key("sk-abcdefghijklmnop"), "sk-abcd...mnop");
    EXPECT_EQ(mask_key("abcdefghijklmnop"), "abcd...mnop");
    EXPECT_EQ(mask_key("sk-short"), "sk-********");
    EXPECT_EQ(mask_key("sk-xxxx"), "sk-********");
    EXPECT_EQ(mask_key("elevenchars"), "********");
    EXPECT_EQ(mask_key(""), "********");
}

}  // namespace
}  // namespace nexus::store
