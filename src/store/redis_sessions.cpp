#include "store/redis_sessions.hpp"

#include <charconv>
#include <mutex>

#include "redis/blocking.hpp"

namespace nexus::store {

namespace {

constexpr const char* kCreated = "nexus:sessions:created";
constexpr const char* kSeen = "nexus:sessions:seen";

std::string session_key(std::string_view id_hash) { return "nexus:session:" + std::string(id_hash); }
std::string owner_key(std::int64_t user_id) { return "nexus:user:" + std::to_string(user_id) + ":sessions"; }

// Deletes one session and its entries in the indexes; shared by the scripts below.
constexpr const char* kForget = R"lua(
local function forget(hash)
  local key = 'nexus:session:' .. hash
  local user = redis.call('HGET', key, 'user_id')
  if not user then return 0 end
  redis.call('DEL', key)
  redis.call('SREM', 'nexus:user:' .. user .. ':sessions', hash)
  redis.call('ZREM', 'nexus:sessions:created', hash)
  redis.call('ZREM', 'nexus:sessions:seen', hash)
  return 1
end
)lua";

const std::string kRemove = std::string(kForget) + "return forget(ARGV[1])";
const std::string kRemoveUser = std::string(kForget) + R"lua(
local n = 0
for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if hash ~= ARGV[1] then n = n + forget(hash) end
end
return n
)lua";
const std::string kPrune = std::string(kForget) + R"lua(
local n = 0
for _, hash in ipairs(redis.call('ZRANGEBYSCORE', 'nexus:sessions:created', '-inf', '(' .. ARGV[1])) do
  n = n + forget(hash)
end
for _, hash in ipairs(redis.call('ZRANGEBYSCORE', 'nexus:sessions:seen', '-inf', '(' .. ARGV[2])) do
  n = n + forget(hash)
end
return n
)lua";
constexpr const char* kInsert = R"lua(
redis.call('HSET', KEYS[1], 'user_id', ARGV[2], 'csrf_token', ARGV[3], 'created_time', ARGV[4], 'seen_time', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZADD', 'nexus:sessions:created', ARGV[4], ARGV[1])
redis.call('ZADD', 'nexus:sessions:seen', ARGV[5], ARGV[1])
return 1
)lua";
constexpr const char* kTouch = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'seen_time', ARGV[2])
redis.call('ZADD', 'nexus:sessions:seen', ARGV[2], ARGV[1])
return 1
)lua";

std::int64_t number(const std::string& text) {
    std::int64_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    return v;
}

class RedisSessions final : public SessionRows {
public:
    explicit RedisSessions(const redis::Url& url) : redis_(url) {}

    void insert(const Session& s) override {
        run(kInsert, {session_key(s.id_hash), owner_key(s.user_id)},
            {s.id_hash, std::to_string(s.user_id), s.csrf_token, std::to_string(s.created_time),
             std::to_string(s.seen_time)});
    }
    std::optional<Session> get(std::string_view id_hash) override {
        const auto reply = call({"HMGET", session_key(id_hash), "user_id", "csrf_token", "created_time", "seen_time"});
        if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 4 ||
            reply.elements[0].type == redis::Reply::Type::kNil) {
            return std::nullopt;
        }
        const auto& e = reply.elements;
        return Session{std::string(id_hash), number(e[0].text), e[1].text, number(e[2].text), number(e[3].text)};
    }
    void touch(std::string_view id_hash, std::int64_t time) override {
        run(kTouch, {session_key(id_hash)}, {std::string(id_hash), std::to_string(time)});
    }
    bool remove(std::string_view id_hash) override { return run(kRemove.c_str(), {}, {std::string(id_hash)}) > 0; }
    std::int64_t remove_user(std::int64_t user_id, std::string_view keep) override {
        return run(kRemoveUser.c_str(), {owner_key(user_id)}, {std::string(keep)});
    }
    std::int64_t prune(std::int64_t created_before, std::int64_t seen_before) override {
        return run(kPrune.c_str(), {}, {std::to_string(created_before), std::to_string(seen_before)});
    }

private:
    redis::Reply call(std::vector<std::string> args) {
        std::lock_guard lock(mutex_);
        redis::Reply reply;
        try {
            reply = redis_.call(std::move(args));
        } catch (const std::runtime_error& e) {
            throw Unavailable(e.what());
        }
        if (reply.is_error()) throw std::runtime_error("redis: " + reply.text);
        return reply;
    }
    std::int64_t run(const char* script, std::vector<std::string> keys, std::vector<std::string> args) {
        std::vector<std::string> words{"EVAL", script, std::to_string(keys.size())};
        words.insert(words.end(), keys.begin(), keys.end());
        words.insert(words.end(), args.begin(), args.end());
        return call(std::move(words)).integer;
    }

    std::mutex mutex_;
    redis::BlockingClient redis_;
};

// Every table the backend's, but the sessions.
class WithSessions final : public Backend {
public:
    WithSessions(std::unique_ptr<Backend> backend, std::unique_ptr<SessionRows> sessions)
        : backend_(std::move(backend)), sessions_(std::move(sessions)) {}
    ChannelRows& channels() override { return backend_->channels(); }
    TokenRows& tokens() override { return backend_->tokens(); }
    UsageRows& usage() override { return backend_->usage(); }
    PriceRows& prices() override { return backend_->prices(); }
    SettingRows& settings() override { return backend_->settings(); }
    UserRows& users() override { return backend_->users(); }
    SessionRows& sessions() override { return *sessions_; }
    AuditRows& audit() override { return backend_->audit(); }
    std::int64_t reseal(const std::function<std::string(const std::string&)>& reseal) override {
        return backend_->reseal(reseal);
    }
    std::unique_ptr<ChangeWatch> watch(std::function<void()> changed, std::chrono::milliseconds poll_every) override {
        return backend_->watch(std::move(changed), poll_every);
    }

private:
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<SessionRows> sessions_;
};

}  // namespace

std::unique_ptr<SessionRows> make_redis_sessions(const redis::Url& url) { return std::make_unique<RedisSessions>(url); }

std::unique_ptr<Backend> with_sessions(std::unique_ptr<Backend> backend, std::unique_ptr<SessionRows> sessions) {
    return std::make_unique<WithSessions>(std::move(backend), std::move(sessions));
}

}  // namespace nexus::store
