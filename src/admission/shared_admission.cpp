#include "admission/shared_admission.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "core/crypto.hpp"

namespace nexus::admission {

namespace {

using snapshot::TokenCounters;

// A Lua script, run by its SHA-1 (EVALSHA), sent whole only when Redis does not have it yet.
struct Script {
    explicit Script(const char* text) : body(text) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        EVP_Digest(body.data(), body.size(), digest, &length, EVP_sha1(), nullptr);
        sha = core::to_hex(std::string_view(reinterpret_cast<const char*>(digest), length));
    }
    std::string body;
    std::string sha;
};

// Counts a call against a token's shared limits and holds its quota, or refuses it and counts
// nothing. KEYS: the requests window, the tokens window (hashes: second → amount), the leases (a
// sorted set: lease → expiry, ms), the token's quota and its owner's (hashes: epoch, left).
// ARGV: rpm, tpm, the call's tokens at most, max_concurrency, the lease, its lifetime (ms); then
// for the token and for the owner: the quota to hold (−1: not held here), the epoch of the node's
// view, and what the node sees left (the start of a quota Redis does not hold yet, or whose
// epoch is older: an admin set it since). Replies {0, second, requests left, tokens left, token
// epoch, owner epoch} when admitted, or {refusal, retry after (s)}: 1 concurrency, 2 requests,
// 3 tokens, 4 tokens that never fit, 5 the token's quota, 6 the owner's.
// A window is a minute of one-second buckets; a bucket counts until 61 s after its second began.
const Script kReserve(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local second = math.floor(now / 1000)
local rpm, tpm, want, most = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function window(key)
  local all = redis.call('HGETALL', key)
  local total, oldest, stale = 0, second, {}
  for i = 1, #all, 2 do
    local s = tonumber(all[i])
    if s <= second - 61 then
      stale[#stale + 1] = all[i]
    else
      total = total + tonumber(all[i + 1])
      if s < oldest then oldest = s end
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  return total, oldest + 61 - second
end
local function quota(key, want, epoch, base)
  if want < 0 then return true, -1 end
  local e = redis.call('HGET', key, 'epoch')
  if (not e) or tonumber(e) < epoch then
    redis.call('HSET', key, 'epoch', epoch, 'left', base)
    e = epoch
  end
  return tonumber(redis.call('HGET', key, 'left')) >= want, tonumber(e)
end
if most > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= most then return {1, 1} end
end
local used, spent = 0, 0
if rpm > 0 then
  local reset
  used, reset = window(KEYS[1])
  if used >= rpm then return {2, reset} end
end
if tpm > 0 then
  if want > tpm then return {4, 0} end
  local reset
  spent, reset = window(KEYS[2])
  if spent + want > tpm then return {3, reset} end
end
local token_want, owner_want = tonumber(ARGV[7]), tonumber(ARGV[10])
local fits, token_epoch = quota(KEYS[4], token_want, tonumber(ARGV[8]), tonumber(ARGV[9]))
if not fits then return {5, 0} end
local owner_fits, owner_epoch = quota(KEYS[5], owner_want, tonumber(ARGV[11]), tonumber(ARGV[12]))
if not owner_fits then return {6, 0} end
if token_want > 0 then redis.call('HINCRBY', KEYS[4], 'left', -token_want) end
if owner_want > 0 then redis.call('HINCRBY', KEYS[5], 'left', -owner_want) end
if rpm > 0 then
  redis.call('HINCRBY', KEYS[1], second, 1)
  redis.call('EXPIRE', KEYS[1], 120)
end
if tpm > 0 then
  redis.call('HINCRBY', KEYS[2], second, want)
  redis.call('EXPIRE', KEYS[2], 120)
end
if most > 0 then
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[5])
  redis.call('PEXPIRE', KEYS[3], 2 * tonumber(ARGV[6]))
end
return {0, second, rpm - used - 1, tpm - spent - want, token_epoch, owner_epoch}
)lua");

// Ends a call: gives back its lease, puts what it used in place of its tokens at most, and what
// it cost in place of the quota it held (all of its cost taken from a quota whose epoch moved
// since: that start did not count the call). KEYS: the tokens window, the leases, the token's
// quota, the owner's. ARGV: the lease ('' none), the second, tokens at most, tokens used; the
// quota held and its epoch for the token, then for the owner (−1: none); the cost.
const Script kSettle(R"lua(
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[2], ARGV[1]) end
local delta = tonumber(ARGV[4]) - tonumber(ARGV[3])
if delta ~= 0 and redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[2], delta)
end
local cost = tonumber(ARGV[9])
local function settle(key, want, epoch)
  if want < 0 then return end
  local e = redis.call('HGET', key, 'epoch')
  if not e then return end
  if tonumber(e) == epoch then
    redis.call('HINCRBY', key, 'left', want - cost)
  else
    redis.call('HINCRBY', key, 'left', -cost)
  end
end
settle(KEYS[3], tonumber(ARGV[5]), tonumber(ARGV[6]))
settle(KEYS[4], tonumber(ARGV[7]), tonumber(ARGV[8]))
return 0
)lua");

// The node's heartbeat: alive for 15 s more; the number of nodes alive. KEYS: the nodes. ARGV: the node.
const Script kHeartbeat(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + 15000, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
)lua");

// Renews leases still held: KEYS the leases of one token, ARGV the lease and its lifetime (ms).
const Script kRenew(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
return 0
)lua");

// A list of words (GCC 12 cannot take a braced list of them in a coroutine's co_await).
template <class... Words>
std::vector<std::string> words(Words&&... w) {
    return {std::string(std::forward<Words>(w))...};
}

// A token's keys: nexus:token:<id>:rpm, …:tpm, …:leases, …:quota; a user's quota: nexus:user:<id>:quota.
// (One Redis, not a cluster: a call's script touches a token's keys and its owner's together.)
std::string key(std::int64_t token, const char* what) {
    return "nexus:token:" + std::to_string(token) + ":" + what;
}
std::string owner_key(std::int64_t user) { return "nexus:user:" + std::to_string(user) + ":quota"; }

std::vector<std::string> invocation(const Script& script, bool by_sha, std::vector<std::string> keys,
                                    std::vector<std::string> args) {
    std::vector<std::string> out{by_sha ? "EVALSHA" : "EVAL", by_sha ? script.sha : script.body,
                                 std::to_string(keys.size())};
    out.insert(out.end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
    out.insert(out.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
    return out;
}

// Runs `script` by its SHA-1, and whole when Redis does not know it (after a restart).
net::awaitable<boost::system::result<redis::Reply>> eval(redis::Client& redis, const Script& script,
                                                         std::vector<std::string> keys, std::vector<std::string> args,
                                                         std::chrono::milliseconds deadline) {
    auto reply = co_await redis.call(invocation(script, true, keys, args), deadline);
    if (reply && reply->is_error() && reply->text.starts_with("NOSCRIPT")) {
        reply = co_await redis.call(invocation(script, false, std::move(keys), std::move(args)), deadline);
    }
    co_return reply;
}

}  // namespace

SharedAdmission::SharedAdmission(LocalAdmission& local, redis::Client& redis, Nodes& nodes, core::Metrics& metrics,
                                 Options options)
    : local_(local), redis_(redis), nodes_(nodes), metrics_(metrics), options_(options) {}

SharedAdmission::~SharedAdmission() {
    *alive_ = false;
    stop();
}

net::awaitable<core::Result<Reservation>> SharedAdmission::fallback(const Ask& ask) {
    const bool quota = ask.token->limits.limited_quota || (ask.token->owner != nullptr && ask.token->owner->limited_quota);
    if (quota && !options_.quota_without_redis) {
        co_return core::Error::unavailable(
            "The quota of this API key is kept where it cannot be reached now; try again shortly.", "quota_unavailable",
            5);
    }
    co_return local_.decide(ask, nodes_.count.load(std::memory_order_relaxed));
}

net::awaitable<core::Result<Reservation>> SharedAdmission::reserve(const Ask& ask) {
    const auto& token = *ask.token;
    const auto& limits = token.limits;
    const auto* owner = token.owner;
    const bool owner_limited = owner != nullptr && owner->limited_quota;
    if (!limits.any() && !owner_limited) co_return local_.decide(ask);  // nothing to count or hold
    if (!redis_.up() && state_ == State::kStarting) {
        // The node has just started: its first connection gets two seconds before a call falls
        // back to this node's share.
        const auto alive = alive_;
        net::steady_timer wait(redis_.executor());
        while (!redis_.up() && std::chrono::steady_clock::now() - started_ < std::chrono::seconds(2)) {
            wait.expires_after(std::chrono::milliseconds(10));
            co_await wait.async_wait(use_nothrow);
            if (!*alive) co_return core::Error::overloaded("The server is stopping.");
        }
    }
    if (!redis_.up()) co_return co_await fallback(ask);
    metrics_.set_redis_up(true);
    auto decided = local_.decide(ask);
    if (!decided) co_return decided;
    auto& r = *decided;
    std::string lease;
    if (limits.max_concurrency > 0) {
        lease = nodes_.id + ":" + std::to_string(nodes_.next_lease.fetch_add(1, std::memory_order_relaxed));
    }
    if ((limits.limited_quota || owner_limited) && nodes_.views_loaded.load() < nodes_.view_needed.load()) {
        // Redis came back, maybe without the quota it held: it starts again from a view of the
        // ledger loaded since (a second at most, else from the view there is).
        const auto alive = alive_;
        net::steady_timer wait(redis_.executor());
        for (int i = 0; i < 200 && nodes_.views_loaded.load() < nodes_.view_needed.load(); ++i) {
            wait.expires_after(std::chrono::milliseconds(5));
            co_await wait.async_wait(use_nothrow);
            if (!*alive) co_return core::Error::overloaded("The server is stopping.");
        }
    }
    // The quota to hold, and where this node would start it where Redis holds none: what the
    // ledger will have left once this node's settled calls are in it.
    const auto token_want = limits.limited_quota ? r.want.quota : std::int64_t{-1};
    const auto token_base = limits.limited_quota ? r.counters->settled_left() : 0;
    const auto owner_want = owner_limited ? r.owner_want : std::int64_t{-1};
    const auto owner_base = owner_limited ? r.owner->settled_left() : 0;
    const auto owner_quota = owner_key(owner != nullptr ? owner->id : 0);
    const auto alive = alive_;
    auto reply = co_await eval(
        redis_, kReserve,
        words(key(token.id, "rpm"), key(token.id, "tpm"), key(token.id, "leases"), key(token.id, "quota"),
              owner_quota),
        words(std::to_string(limits.rpm), std::to_string(limits.tpm), std::to_string(r.want.tokens),
              std::to_string(limits.max_concurrency), lease, std::to_string(options_.lease.count()),
              std::to_string(token_want), std::to_string(token.quota_epoch), std::to_string(token_base),
              std::to_string(owner_want), std::to_string(owner != nullptr ? owner->quota_epoch : 0),
              std::to_string(owner_base)),
        options_.deadline);
    if (!*alive) co_return core::Error::overloaded("The server is stopping.");
    const bool answered = reply && reply->type == redis::Reply::Type::kArray && reply->elements.size() >= 2;
    if (!answered) {
        // No answer in time, or not one the script gives: as if Redis were away. A reply that is
        // only late held a slot and quota: they are given back, in order, after the script.
        redis_.send(invocation(kSettle, false,
                               words(key(token.id, "tpm"), key(token.id, "leases"), key(token.id, "quota"), owner_quota),
                               words(lease, "0", "0", "0", std::to_string(token_want), std::to_string(token.quota_epoch),
                                     std::to_string(owner_want), std::to_string(owner != nullptr ? owner->quota_epoch : 0),
                                     "0")));
        local_.settle(r, {});
        if (reply && reply->is_error()) spdlog::warn("redis: the limits script failed: {}", reply->text);
        co_return co_await fallback(ask);
    }
    const auto& e = reply->elements;
    const auto outcome = e[0].integer;
    if (outcome != 0) {
        local_.settle(r, {});
        if (outcome == 5 || outcome == 6) co_return quota_refusal(ask, r.want.quota, outcome == 6);
        TokenCounters::Admission state = r.state;
        state.refusal = outcome == 1   ? TokenCounters::Refusal::kConcurrency
                        : outcome == 2 ? TokenCounters::Refusal::kRequests
                        : outcome == 3 ? TokenCounters::Refusal::kTokens
                                       : TokenCounters::Refusal::kTokensNeverFit;
        state.retry_after = std::chrono::seconds(e[1].integer);
        if (outcome == 2) state.requests_remaining = 0;
        if (outcome == 3) state.tokens_remaining = 0;
        co_return refusal(ask, limits, r.want, state);
    }
    r.shared = true;
    r.lease = std::move(lease);
    r.shared_second = e[1].integer;
    r.owner_id = owner != nullptr ? owner->id : 0;
    r.shared_token_quota = token_want;
    r.shared_owner_quota = owner_want;
    if (e.size() >= 6) {
        r.token_epoch = e[4].integer;
        r.owner_epoch = e[5].integer;
    }
    if (!r.lease.empty()) leases_.emplace(r.lease, token.id);
    if (e.size() >= 4 && (limits.rpm > 0 || limits.tpm > 0)) {
        // What is left is what all nodes left: the shared windows' counts.
        auto state = r.state;
        state.requests_remaining = std::max<long long>(0, e[2].integer);
        state.tokens_remaining = std::max<long long>(0, e[3].integer);
        r.rate_fields.clear();
        append_rate_limit_fields(r.rate_fields, limits, state);
    }
    co_return r;
}

std::int64_t SharedAdmission::settle(const Reservation& r, const Spent& spent) {
    const auto quota = local_.settle(r, spent);
    if (!r.shared) return quota;
    if (!r.lease.empty()) leases_.erase(r.lease);
    const auto used = spent.total_tokens > 0 ? spent.total_tokens : spent.prompt_tokens + spent.completion_tokens;
    const bool tokens = r.limits.tpm > 0 && used != r.want.tokens;
    if (r.lease.empty() && !tokens && r.shared_token_quota < 0 && r.shared_owner_quota < 0) return quota;
    // Sent whole: it must not be lost to a NOSCRIPT nobody reads. Lost when Redis is away: the
    // lease then expires, the window keeps the call's tokens at most, and the quota what it held.
    redis_.send(invocation(
        kSettle, false,
        {key(r.token_id, "tpm"), key(r.token_id, "leases"), key(r.token_id, "quota"), owner_key(r.owner_id)},
        {r.lease, std::to_string(r.shared_second), std::to_string(tokens ? r.want.tokens : 0),
         std::to_string(tokens ? used : 0), std::to_string(r.shared_token_quota), std::to_string(r.token_epoch),
         std::to_string(r.shared_owner_quota), std::to_string(r.owner_epoch), std::to_string(quota)}));
    return quota;
}

void SharedAdmission::start(bool heartbeat) {
    timer_ = std::make_unique<net::steady_timer>(redis_.executor());
    net::co_spawn(redis_.executor(), upkeep(heartbeat), net::detached);
}

void SharedAdmission::stop() {
    if (timer_) timer_->cancel();
}

net::awaitable<void> SharedAdmission::upkeep(bool heartbeat) {
    const auto alive = alive_;
    const auto renew_every = std::max<std::int64_t>(1, options_.lease.count() / 3000);
    std::int64_t since_heartbeat = -1;  // seconds; -1: none yet
    // Until the first connection, it looks every 50 ms, so that the node counts itself at once.
    while (!redis_.up() && state_ == State::kStarting) {
        timer_->expires_after(std::chrono::milliseconds(50));
        auto [ec] = co_await timer_->async_wait(use_nothrow);
        if (ec || !*alive) co_return;
        if (std::chrono::steady_clock::now() - started_ > std::chrono::seconds(2)) break;
    }
    for (std::int64_t tick = 2;; ++tick) {
        const bool up = redis_.up();
        metrics_.set_redis_up(up);
        // Said once per change, by one thread; a first connection gets two seconds.
        const auto next = up ? State::kUp : State::kDown;
        if (heartbeat && next != state_ && next != State::kStarting) {
            if (next == State::kUp) {
                spdlog::info("redis: limits and quotas are shared by every node");
            } else {
                spdlog::warn("redis: cannot be reached; each node holds to its share of every limit (1/{}), and {}",
                             nodes_.count.load(),
                             options_.quota_without_redis ? "limited quotas are checked against this node's view"
                                                          : "calls against a limited quota are refused (503)");
            }
        }
        state_ = next;
        if (heartbeat && up && redis_.connections() != connections_seen_) {
            if (connections_seen_ != 0 && options_.reconnected) {
                nodes_.view_needed.store(nodes_.views_loaded.load() + 1);
                options_.reconnected();
            }
            connections_seen_ = redis_.connections();
        }
        if (up && heartbeat && (since_heartbeat < 0 || since_heartbeat >= 5)) {
            auto count = co_await eval(redis_, kHeartbeat, words("nexus:nodes"), words(nodes_.id), std::chrono::seconds(1));
            if (!*alive) co_return;
            if (count && count->type == redis::Reply::Type::kInteger && count->integer > 0) {
                nodes_.count.store(count->integer, std::memory_order_relaxed);
                since_heartbeat = 0;
            }
        } else if (since_heartbeat >= 0) {
            ++since_heartbeat;
        }
        if (up && tick % renew_every == 0) {
            for (const auto& [lease, token] : leases_) {
                redis_.send(invocation(kRenew, false, words(key(token, "leases")),
                                       words(lease, std::to_string(options_.lease.count()))));
            }
        }
        timer_->expires_after(std::chrono::seconds(1));
        auto [ec] = co_await timer_->async_wait(use_nothrow);
        if (ec || !*alive) co_return;
    }
}

}  // namespace nexus::admission
