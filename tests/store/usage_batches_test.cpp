// The usage ledger across retries and writers, on every backend: a batch tried again is written
// once, and batches written side by side add up exactly.
#include <gtest/gtest.h>

#include <thread>

#include "store/backends.hpp"

namespace nexus::store {
namespace {

template <class Backend>
class UsageBatches : public ::testing::Test {
protected:
    Backend backend_;
};
TYPED_TEST_SUITE(UsageBatches, test::Backends, test::BackendNames);

Token limited_token(std::string hash) {
    Token t;
    t.name = "limited";
    t.key_hash = std::move(hash);
    t.key_preview = "sk-...";
    t.remain_quota = 1'000'000;
    return t;
}

std::vector<UsageRecord> batch_for(std::int64_t token_id, int rows, std::int64_t quota_each) {
    std::vector<UsageRecord> batch(static_cast<std::size_t>(rows));
    const std::string same_id = "same-id";  // a client may send the same X-Request-Id every time
    for (int i = 0; i < rows; ++i) {
        auto& r = batch[static_cast<std::size_t>(i)];
        r.created_time = 5000 + i;
        r.request_id = same_id;
        r.token_id = token_id;
        r.model = "model-a";
        r.status = 200;
        r.quota = quota_each;
    }
    return batch;
}

TYPED_TEST(UsageBatches, ABatchTriedAgainIsWrittenOnce) {
    auto store = this->backend_.open();
    const auto token = store->insert_token(limited_token("h1"));
    const auto batch = batch_for(token.id, 3, 10);
    store->insert_usage(batch, "batch-1");
    store->insert_usage(batch, "batch-1");  // the first commit's answer was lost: tried again
    EXPECT_EQ(store->list_usage({}).total, 3);
    EXPECT_EQ(store->get_token(token.id)->used_quota, 30);
    EXPECT_EQ(store->get_token(token.id)->remain_quota, 1'000'000 - 30);
    // Another batch, with the same request ids, is another batch.
    store->insert_usage(batch, "batch-2");
    EXPECT_EQ(store->list_usage({}).total, 6);
    EXPECT_EQ(store->get_token(token.id)->used_quota, 60);
    // Pruning the rows prunes their batch ids with them.
    EXPECT_EQ(store->prune_usage(6000), 6);
    store->insert_usage(batch, "batch-1");
    EXPECT_EQ(store->list_usage({}).total, 3);
}

// Two writers (two nodes, or two threads of one) charge the same tokens in opposite orders:
// neither waits for ever on the other, and every unit of quota is counted once.
TYPED_TEST(UsageBatches, BatchesWrittenSideBySideAddUpExactly) {
    auto first = this->backend_.open();
    auto second = this->backend_.open();
    const auto a = first->insert_token(limited_token("ha"));
    const auto b = first->insert_token(limited_token("hb"));
    constexpr int kBatches = 40;
    auto write = [&](Store& store, std::int64_t one, std::int64_t other, const char* name) {
        for (int i = 0; i < kBatches; ++i) {
            auto batch = batch_for(one, 2, 1);
            auto more = batch_for(other, 2, 1);
            batch.insert(batch.end(), more.begin(), more.end());
            store.insert_usage(batch, std::string(name) + std::to_string(i));
        }
    };
    std::thread t1([&] { write(*first, a.id, b.id, "first-"); });
    std::thread t2([&] { write(*second, b.id, a.id, "second-"); });
    t1.join();
    t2.join();
    EXPECT_EQ(first->list_usage({}).total, 2 * kBatches * 4);
    EXPECT_EQ(second->get_token(a.id)->used_quota, 2 * kBatches * 2);
    EXPECT_EQ(second->get_token(b.id)->used_quota, 2 * kBatches * 2);
    EXPECT_EQ(first->get_token(a.id)->remain_quota, 1'000'000 - 2 * kBatches * 2);
}

// Nodes that keep the quota left in Redis start again from remain_quota when an admin sets it,
// which the epoch tells them; what calls spend must not move it.
TYPED_TEST(UsageBatches, TheQuotaEpochMovesWhenTheQuotaIsSetNotWhenItIsSpent) {
    auto store = this->backend_.open();
    auto token = store->insert_token(limited_token("he"));
    EXPECT_EQ(store->get_token(token.id)->quota_epoch, 0);
    store->insert_usage(batch_for(token.id, 2, 10), "spent");
    EXPECT_EQ(store->get_token(token.id)->quota_epoch, 0) << "spending moved the epoch";
    token = *store->get_token(token.id);
    token.remain_quota = 500;
    store->update_token(token);
    EXPECT_EQ(store->get_token(token.id)->quota_epoch, 1);
    token.name = "renamed";
    store->update_token(token);
    EXPECT_EQ(store->get_token(token.id)->quota_epoch, 1) << "a write that kept the quota moved the epoch";
    User u;
    u.username = "owner";
    u.role = "user";
    u.remain_quota = 100;
    u.password_hash = "$argon2id$x";
    u = store->insert_user(u);
    u.remain_quota = 300;
    store->update_user(u);
    EXPECT_EQ(store->get_user(u.id)->quota_epoch, 1);
    EXPECT_EQ(store->all_users().back().quota_epoch, 1);
    EXPECT_EQ(store->all_tokens().back().quota_epoch, 1);
}

}  // namespace
}  // namespace nexus::store
