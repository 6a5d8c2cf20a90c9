// The store's accounts: users, sessions, the audit log, and a user's quota in the usage ledger.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/crypto.hpp"
#include "store/open.hpp"
#include "store/backends.hpp"
#include "store/store.hpp"
#include "support/nexus_process.hpp"

namespace nexus::store {
namespace {

template <class Backend>
class AccountsStore : public ::testing::Test {
protected:
    void SetUp() override { store_ = backend_.open(); }
    User add(const std::string& name, std::int64_t quota = -1) {
        User u;
        u.username = name;
        u.role = "user";
        u.remain_quota = quota;
        u.password_hash = "$argon2id$x";
        return store_->insert_user(u);
    }
    Token add_token(std::int64_t user_id, const std::string& hash) {
        Token t;
        t.name = "t";
        t.key_hash = hash;
        t.key_preview = "sk-...";
        t.user_id = user_id;
        return store_->insert_token(t);
    }

    Backend backend_;
    std::unique_ptr<Store> store_;
};
TYPED_TEST_SUITE(AccountsStore, test::AccountBackends, test::BackendNames);

TYPED_TEST(AccountsStore, UsernamesAreUniqueInAnyCase) {
    const auto alice = this->add("alice");
    EXPECT_GT(alice.created_time, 0);
    EXPECT_THROW(this->add("ALICE"), Conflict);
    ASSERT_TRUE(this->store_->find_user("Alice"));
    EXPECT_EQ(this->store_->find_user("Alice")->id, alice.id);
    EXPECT_FALSE(this->store_->find_user("bob"));
    EXPECT_EQ(this->store_->count_users(), 1);
}

TYPED_TEST(AccountsStore, UsersAreListedByRoleStatusAndName) {
    this->add("alice");
    auto bob = this->add("bob");
    bob.display_name = "Robert";
    bob.status = kUserDisabled;
    bob.role = "admin";
    ASSERT_TRUE(this->store_->update_user(bob));
    UserQuery q;
    q.role = "admin";
    EXPECT_EQ(this->store_->list_users(q).total, 1);
    q = {};
    q.status = kUserEnabled;
    EXPECT_EQ(this->store_->list_users(q).items.front().username, "alice");
    q = {};
    q.name_contains = "rob";
    EXPECT_EQ(this->store_->list_users(q).total, 0) << "a display name matches as written";
    q.name_contains = "Rob";
    EXPECT_EQ(this->store_->list_users(q).total, 1);
    q.name_contains = "ALI";
    EXPECT_EQ(this->store_->list_users(q).total, 1) << "a username in any case";
}

TYPED_TEST(AccountsStore, DeletingAUserTakesHisTokensAndSessions) {
    const auto alice = this->add("alice");
    const auto bob = this->add("bob");
    const auto hers = this->add_token(alice.id, "h1");
    const auto his = this->add_token(bob.id, "h2");
    this->store_->insert_session({"s1", alice.id, "c", 1, 1});
    this->store_->insert_session({"s2", bob.id, "c", 1, 1});
    ASSERT_TRUE(this->store_->delete_user(alice.id));
    EXPECT_FALSE(this->store_->get_user(alice.id));
    EXPECT_FALSE(this->store_->get_token(hers.id));
    EXPECT_FALSE(this->store_->get_session("s1"));
    EXPECT_TRUE(this->store_->get_token(his.id));
    EXPECT_TRUE(this->store_->get_session("s2"));
    EXPECT_FALSE(this->store_->delete_user(alice.id));
}

TYPED_TEST(AccountsStore, SessionsEndOneByOneAllButOneOrWhenOld) {
    const auto alice = this->add("alice");
    this->store_->insert_session({"a", alice.id, "c", 100, 100});
    this->store_->insert_session({"b", alice.id, "c", 100, 100});
    this->store_->insert_session({"c", alice.id, "c", 100, 100});
    this->store_->touch_session("a", 500);
    EXPECT_EQ(this->store_->get_session("a")->seen_time, 500);
    EXPECT_EQ(this->store_->end_sessions(alice.id, "a"), 2);
    EXPECT_TRUE(this->store_->get_session("a"));
    EXPECT_FALSE(this->store_->get_session("b"));
    this->store_->insert_session({"d", alice.id, "c", 300, 300});
    EXPECT_EQ(this->store_->prune_sessions(200, 400), 2) << "a: created too long ago; d: unseen too long";
    EXPECT_EQ(this->store_->end_sessions(alice.id), 0);
    this->store_->insert_session({"e", alice.id, "c", 1, 1});
    EXPECT_EQ(this->store_->end_sessions(alice.id), 1) << "without one to keep, all";
}

TYPED_TEST(AccountsStore, AUsersQuotaIsInTheLedger) {
    const auto alice = this->add("alice", 100);
    const auto t = this->add_token(alice.id, "h1");
    std::vector<UsageRecord> batch(2);
    for (std::size_t i = 0; i < batch.size(); ++i) {
        batch[i].token_id = t.id;
        batch[i].user_id = alice.id;
        batch[i].quota = 30;
        batch[i].request_id = "req-" + std::to_string(i);
    }
    this->store_->insert_usage(batch);
    const auto u = this->store_->get_user(alice.id);
    EXPECT_EQ(u->used_quota, 60);
    EXPECT_EQ(u->remain_quota, 40);
    UsageQuery q;
    q.user_id = alice.id;
    EXPECT_EQ(this->store_->list_usage(q).total, 2);
    q.user_id = alice.id + 1;
    EXPECT_EQ(this->store_->list_usage(q).total, 0);
    EXPECT_EQ(this->store_->summarize_usage(UsageGroup::kToken, 0, 1, alice.id).size(), 1u);
    EXPECT_TRUE(this->store_->summarize_usage(UsageGroup::kToken, 0, 1, alice.id + 1).empty());
}

TYPED_TEST(AccountsStore, TokensAndRowsFromBeforeUsersGoToTheirNewOwner) {
    const auto old = this->add_token(0, "h0");
    std::vector<UsageRecord> before(1);
    before[0].token_id = old.id;
    this->store_->insert_usage(before);
    const auto root = this->add("root");
    this->store_->adopt_orphans(root.id);
    EXPECT_EQ(this->store_->get_token(old.id)->user_id, root.id);
    EXPECT_EQ(this->store_->list_usage({}).items.front().user_id, root.id);
}

TYPED_TEST(AccountsStore, ATotpSecretIsSealedAtRest) {
    const auto alice = this->add("alice");
    Totp t;
    t.secret = "totp-secret-0123456789";
    t.enabled = true;
    t.last_step = 42;
    t.recovery_hashes = {"h1", "h2"};
    ASSERT_TRUE(this->store_->put_totp(alice.id, t));
    const auto back = this->store_->get_totp(alice.id);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->secret, t.secret);
    EXPECT_TRUE(back->enabled);
    EXPECT_EQ(back->last_step, 42);
    EXPECT_EQ(back->recovery_hashes, t.recovery_hashes);
    EXPECT_TRUE(this->store_->get_user(alice.id)->totp_enabled);
    const auto raw = this->backend_.raw_bytes();
    EXPECT_EQ(raw.find(t.secret), std::string::npos) << "only sealed";
    ASSERT_TRUE(this->store_->put_totp(alice.id, Totp{}));
    EXPECT_FALSE(this->store_->get_user(alice.id)->totp_enabled);
    EXPECT_FALSE(this->store_->get_totp(alice.id + 1));
}

TYPED_TEST(AccountsStore, TheAuditLogKeepsFieldNamesAndFilters) {
    this->store_->audit({0, 100, 2, "alice", "create", "token", "5", {"name", "key"}, "127.0.0.1"});
    this->store_->audit({0, 200, 0, "admin-key", "delete", "channel", "1", {}, "::1"});
    auto all = this->store_->list_audit({});
    ASSERT_EQ(all.total, 2);
    EXPECT_EQ(all.items.front().action, "delete") << "newest first";
    EXPECT_TRUE(all.items.front().fields.empty());
    EXPECT_EQ(all.items.back().fields, (std::vector<std::string>{"name", "key"}));
    AuditQuery q;
    q.actor_id = 2;
    EXPECT_EQ(this->store_->list_audit(q).total, 1);
    q = {};
    q.object_type = "channel";
    q.object_id = "1";
    EXPECT_EQ(this->store_->list_audit(q).total, 1);
    q = {};
    q.start_time = 150;
    EXPECT_EQ(this->store_->list_audit(q).items.front().actor_name, "admin-key");
}

}  // namespace
}  // namespace nexus::store
