// Admission on its own: a call must fit in its token's quota and in its owner's, both held
// before it goes and billed the same amount after.
#include "admission/admission.hpp"

#include <gtest/gtest.h>

namespace nexus::admission {
namespace {

class TwoLevels : public ::testing::Test {
protected:
    // A user with `user_quota` and his token with `token_quota` (−1: unlimited); calls cost 10 each.
    void build(std::int64_t user_quota, std::int64_t token_quota, const snapshot::Snapshot* previous = nullptr) {
        store::User u;
        u.id = 3;
        u.remain_quota = user_quota;
        store::Token t;
        t.id = 8;
        t.user_id = 3;
        t.key_hash = "h";
        t.remain_quota = token_quota;
        store::ModelPrice p{"m", {0, 0, 0, 10}, 0};
        snap_ = std::make_unique<snapshot::Snapshot>(std::vector<store::Channel>{}, std::vector<store::Token>{t},
                                                     std::vector<store::ModelPrice>{p}, previous,
                                                     std::vector<store::User>{u});
    }
    core::Result<Reservation> reserve() {
        const auto* token = snap_->find_token("h");
        return admission_.decide(Ask{token, &model_, snap_->price_of(model_), 0, 0});
    }
    std::int64_t settle(const Reservation& r) { return admission_.settle(r, Spent{true, 0, 0, 0, 0}); }

    config::Config config_;
    LocalAdmission admission_{config_};
    std::string model_ = "m";
    std::unique_ptr<snapshot::Snapshot> snap_;
};

TEST_F(TwoLevels, TheOwnersQuotaLimitsAnUnlimitedToken) {
    build(25, -1);
    ASSERT_NE(snap_->find_token("h")->owner, nullptr);
    auto a = reserve();
    auto b = reserve();
    ASSERT_TRUE(a.has_value());
    ASSERT_TRUE(b.has_value());
    const auto c = reserve();
    ASSERT_FALSE(c.has_value()) << "20 of 25 held: a third call of 10 does not fit";
    EXPECT_EQ(c.error().code, "insufficient_quota");
    EXPECT_EQ(c.error().status, 429);
    EXPECT_EQ(settle(*a), 10);
    EXPECT_EQ(settle(*b), 10);
    EXPECT_EQ((*snap_->owner_quota_of(3))->unwritten(), 20);
    EXPECT_EQ((*snap_->counters_of(8))->unwritten(), 20) << "the token is billed the same";
    EXPECT_FALSE(reserve().has_value()) << "5 left";
}

TEST_F(TwoLevels, ATokenRefusalGivesTheOwnersHoldBack) {
    build(100, 15);
    auto a = reserve();
    ASSERT_TRUE(a.has_value());
    for (int i = 0; i < 20; ++i) ASSERT_FALSE(reserve().has_value()) << "the token's 15 hold one call";
    // Had the refused calls kept what they held of the owner's 100, none would fit now.
    build(100, -1, snap_.get());
    for (int i = 0; i < 9; ++i) ASSERT_TRUE(reserve().has_value()) << i;
    EXPECT_FALSE(reserve().has_value()) << "10 calls of 10 in all, the first still in flight";
    EXPECT_EQ(settle(*a), 10);
}

TEST_F(TwoLevels, BothAreBilledWhatTheSmallerCouldPay) {
    build(100, 10);
    auto a = reserve();
    ASSERT_TRUE(a.has_value());
    // The token is left 4 while the call runs (an admin lowered it): it pays 4, and so does its owner.
    build(100, 4, snap_.get());
    EXPECT_EQ(settle(*a), 4);
    EXPECT_EQ((*snap_->owner_quota_of(3))->unwritten(), 4);
    EXPECT_EQ((*snap_->counters_of(8))->unwritten(), 4);
}

TEST_F(TwoLevels, AnUnpricedModelIsRefusedWhenTheOwnerIsLimited) {
    build(100, -1);
    model_ = "no-price";
    const auto r = reserve();
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, "model_price_not_set");
    build(-1, -1);
    EXPECT_TRUE(reserve().has_value()) << "unlimited all the way: free";
}

}  // namespace
}  // namespace nexus::admission
