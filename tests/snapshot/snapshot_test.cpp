#include "snapshot/snapshot.hpp"

#include <gtest/gtest.h>

#include <map>

namespace nexus::snapshot {
namespace {

using Clock = std::chrono::steady_clock;

store::Channel ch(std::int64_t id, std::int64_t priority, std::int64_t weight, std::vector<std::string> models = {},
                  int status = store::kChannelEnabled) {
    store::Channel c;
    c.id = id;
    c.type = "OpenAI-Compatible";
    c.name = "c" + std::to_string(id);
    c.key = "k" + std::to_string(id);
    c.base_url = "http://127.0.0.1:9";
    c.priority = priority;
    c.weight = weight;
    c.models = std::move(models);
    c.status = status;
    return c;
}

Snapshot make(const std::vector<store::Channel>& channels, const std::vector<store::Token>& tokens = {}) {
    return Snapshot(channels, tokens, {});
}

TEST(SnapshotPick, HighestPriorityTierFirst) {
    const auto s = make({ch(1, 0, 1), ch(2, 10, 1), ch(3, 5, 1)});
    std::mt19937_64 rng(1);
    EXPECT_EQ(s.pick("m", {}, rng, Clock::now())->id, 2);
    EXPECT_EQ(s.pick("m", std::vector<std::int64_t>{2}, rng, Clock::now())->id, 3);
    EXPECT_EQ(s.pick("m", std::vector<std::int64_t>{2, 3}, rng, Clock::now())->id, 1);
    EXPECT_EQ(s.pick("m", std::vector<std::int64_t>{1, 2, 3}, rng, Clock::now()), nullptr);
}

TEST(SnapshotPick, SkipsDisabledAndOtherModels) {
    const auto s = make({ch(1, 0, 1, {}, store::kChannelDisabledByAdmin), ch(2, 0, 1, {"a"}), ch(3, 0, 1, {"b"})});
    std::mt19937_64 rng(1);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(s.pick("b", {}, rng, Clock::now())->id, 3);
    EXPECT_EQ(s.pick("c", {}, rng, Clock::now()), nullptr);
    EXPECT_FALSE(s.any_serves("c"));
    EXPECT_TRUE(s.any_serves("a"));
}

TEST(SnapshotPick, WeightedWithinTier) {
    const auto s = make({ch(1, 0, 1), ch(2, 0, 9)});
    std::mt19937_64 rng(42);
    std::map<std::int64_t, int> counts;
    for (int i = 0; i < 10000; ++i) ++counts[s.pick("m", {}, rng, Clock::now())->id];
    EXPECT_NEAR(counts[2] / 10000.0, 0.9, 0.02);
}

TEST(SnapshotPick, AllZeroWeightsShareEvenly) {
    const auto s = make({ch(1, 0, 0), ch(2, 0, 0)});
    std::mt19937_64 rng(7);
    std::map<std::int64_t, int> counts;
    for (int i = 0; i < 2000; ++i) ++counts[s.pick("m", {}, rng, Clock::now())->id];
    EXPECT_GT(counts[1], 800);
    EXPECT_GT(counts[2], 800);
}

TEST(SnapshotPick, CoolingDownChannelIsSkippedUntilTheCooldownEnds) {
    const auto s = make({ch(1, 10, 1), ch(2, 0, 1)});
    std::mt19937_64 rng(1);
    const auto now = Clock::now();
    const auto& health = *s.channels()[0].health;
    auto& h = const_cast<ChannelHealth&>(health);
    EXPECT_FALSE(h.record_transient_failure(now, std::chrono::seconds(30)));
    EXPECT_FALSE(h.record_transient_failure(now, std::chrono::seconds(30)));
    EXPECT_EQ(s.pick("m", {}, rng, now)->id, 1) << "two failures do not trip the breaker";
    EXPECT_TRUE(h.record_transient_failure(now, std::chrono::seconds(30)));
    EXPECT_EQ(s.pick("m", {}, rng, now)->id, 2);
    EXPECT_EQ(s.pick("m", {}, rng, now + std::chrono::seconds(31))->id, 1) << "tried again after the cooldown";
}

TEST(SnapshotPick, SuccessClearsTheStreak) {
    ChannelHealth h;
    const auto now = Clock::now();
    h.record_transient_failure(now, std::chrono::seconds(30));
    h.record_transient_failure(now, std::chrono::seconds(30));
    h.record_success();
    EXPECT_FALSE(h.record_transient_failure(now, std::chrono::seconds(30)));
    EXPECT_FALSE(h.cooling_down(now));
}

TEST(Snapshot, HealthCarriesOverRebuilds) {
    const Snapshot first({ch(1, 0, 1)}, {}, {});
    const Snapshot second({ch(1, 0, 1), ch(2, 0, 1)}, {}, {}, &first);
    EXPECT_EQ(first.channels()[0].health.get(), second.channels()[0].health.get());
    EXPECT_NE(second.channels()[0].health.get(), second.channels()[1].health.get());
}

TEST(Snapshot, FindsTokensByHash) {
    store::Token t;
    t.id = 4;
    t.key_hash = "abc";
    t.status = store::kTokenDisabled;
    const auto s = make({}, {t});
    ASSERT_NE(s.find_token("abc"), nullptr);
    EXPECT_EQ(s.find_token("abc")->id, 4);
    EXPECT_EQ(s.find_token("abc")->status, store::kTokenDisabled);
    EXPECT_EQ(s.find_token("abd"), nullptr);
}

TEST(SnapshotHolder, ReaderSeesPublishedSnapshots) {
    SnapshotHolder holder;
    SnapshotHolder::Reader reader(holder);
    EXPECT_TRUE(reader.get()->channels().empty());
    holder.publish(std::make_shared<const Snapshot>(std::vector<store::Channel>{ch(1, 0, 1)},
                                                    std::vector<store::Token>{},
                                                    std::vector<store::ModelPrice>{}));
    EXPECT_EQ(reader.get()->channels().size(), 1u);
}

// A request holds its snapshot across upstream waits while another request on the same thread
// picks up a newer one: the first must stay alive (under ASan this reads freed memory otherwise).
TEST(SnapshotHolder, HeldSnapshotOutlivesANewerOne) {
    SnapshotHolder holder;
    SnapshotHolder::Reader reader(holder);
    auto publish = [&](std::int64_t id) {
        holder.publish(std::make_shared<const Snapshot>(std::vector<store::Channel>{ch(id, 0, 1)},
                                                        std::vector<store::Token>{},
                                                        std::vector<store::ModelPrice>{}));
    };
    publish(1);
    const auto held = reader.get();
    publish(2);
    EXPECT_EQ(reader.get()->channels().at(0).id, 2);
    publish(3);
    EXPECT_EQ(reader.get()->channels().at(0).id, 3);
    ASSERT_EQ(held->channels().size(), 1u);
    EXPECT_EQ(held->channels()[0].id, 1);
}

TEST(SnapshotMapping, MapsOnlyListedModels) {
    auto c = ch(1, 0, 1);
    c.model_mapping = {{"gpt-4o", "Qwen/Qwen2.5-72B-Instruct"}};
    const auto s = make({c});
    ASSERT_NE(s.channels()[0].mapped("gpt-4o"), nullptr);
    EXPECT_EQ(*s.channels()[0].mapped("gpt-4o"), "Qwen/Qwen2.5-72B-Instruct");
    EXPECT_EQ(s.channels()[0].mapped("other"), nullptr);
}

}  // namespace
}  // namespace nexus::snapshot

namespace nexus::snapshot {
namespace {

TEST(SnapshotPick, RejectedKeyIsSkippedAtOnceAndClearedWhenReEnabled) {
    const std::vector<store::Channel> channels{ch(1, 10, 1), ch(2, 0, 1)};
    const Snapshot s(channels, {}, {});
    std::mt19937_64 rng(1);
    s.channels()[0].health->mark_key_rejected();
    EXPECT_EQ(s.pick("m", {}, rng, Clock::now())->id, 2);
    // A rebuild that finds channel 1 enabled in the store (an admin re-enabled it) clears the mark.
    const Snapshot rebuilt(channels, {}, {}, &s);
    EXPECT_EQ(rebuilt.pick("m", {}, rng, Clock::now())->id, 1);
}

}  // namespace
}  // namespace nexus::snapshot
