#pragma once
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/types.hpp"

namespace nexus::store {

/// Thrown for a write that breaks a uniqueness rule (a token key already in use).
struct Conflict : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The persistent state of nexus-api: channels, tokens, settings. Every backend (SQLite now,
/// PostgreSQL later) implements this and passes the same store test suite.
///
/// Calls block on the database: never call them from an I/O thread that serves /v1/*. They are
/// thread-safe (a backend serialises what it must). Writes call the change listeners after they
/// commit, on the writing thread. Failures other than Conflict throw std::runtime_error.
class Store {
public:
    virtual ~Store() = default;

    virtual Page<Channel> list_channels(const ListQuery& query) = 0;
    virtual std::optional<Channel> get_channel(std::int64_t id) = 0;
    /// Inserts `channel` (its plaintext key is encrypted at rest); returns it as stored, key empty.
    virtual Channel insert_channel(const Channel& channel) = 0;
    /// Replaces every field of channel `c.id`; a non-empty `c.key` rotates the key. Nullopt: no such id.
    virtual std::optional<Channel> update_channel(const Channel& c) = 0;
    virtual bool delete_channel(std::int64_t id) = 0;
    /// Every channel with its key decrypted, for the relay's in-memory view.
    virtual std::vector<Channel> channels_with_keys() = 0;
    /// One channel with its key decrypted (a channel test); nullopt: no such id.
    virtual std::optional<Channel> get_channel_with_key(std::int64_t id) = 0;

    virtual Page<Token> list_tokens(const ListQuery& query) = 0;
    virtual std::optional<Token> get_token(std::int64_t id) = 0;
    /// Throws Conflict when a token with the same key hash exists.
    virtual Token insert_token(const Token& token) = 0;
    virtual std::optional<Token> update_token(const Token& token) = 0;
    virtual bool delete_token(std::int64_t id) = 0;
    virtual std::vector<Token> all_tokens() = 0;

    /// Sets a channel's status with its reason and time (the relay's auto-disable). Notifies.
    virtual bool set_channel_status(std::int64_t id, int status, std::string_view reason) = 0;
    /// Records a channel test's response time and time. Does not notify (the relay ignores it).
    virtual bool record_channel_test(std::int64_t id, std::int64_t response_time_ms) = 0;

    /// Writes a batch of usage records in one transaction and adds their tokens to each
    /// channel's used_tokens. Does not notify.
    virtual void insert_usage(const std::vector<UsageRecord>& records) = 0;
    virtual Page<UsageRecord> list_usage(const UsageQuery& query) = 0;
    /// Deletes usage records older than `before` (unix seconds); returns how many.
    virtual std::int64_t prune_usage(std::int64_t before) = 0;
    /// Sets tokens' accessed_time (id, unix seconds) in one transaction. Does not notify.
    virtual void touch_tokens(const std::vector<std::pair<std::int64_t, std::int64_t>>& accessed) = 0;

    virtual std::optional<std::string> get_setting(std::string_view name) = 0;
    virtual void put_setting(std::string_view name, std::string_view value) = 0;

    /// Registers `listener`, called after every committed write to channels or tokens.
    void on_change(std::function<void()> listener);

protected:
    void notify_change();

private:
    std::mutex listeners_mutex_;
    std::vector<std::function<void()>> listeners_;
};

}  // namespace nexus::store
