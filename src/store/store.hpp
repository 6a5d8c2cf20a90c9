#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"
#include "store/rows.hpp"
#include "store/types.hpp"

namespace nexus::store {

/// The persistent state of nexus-api: channels, tokens, prices, usage records, users, sessions,
/// the audit log, settings. The front every
/// caller uses, over a Backend (SQLite now, PostgreSQL later) that only stores rows: here
/// channel keys are sealed with the master key and masked for display, lists and maps are
/// encoded as JSON, the master key is checked against the database at construction (a wrong
/// key throws and changes nothing), and listeners are told of every committed change to
/// channels or tokens, on the writing thread.
///
/// Calls block on the database: never call them from an I/O thread that serves /v1/*. They are
/// thread-safe as the backend is (every backend serialises what it must). Failures other than
/// Conflict throw std::runtime_error.
class Store {
public:
    Store(std::unique_ptr<Backend> backend, core::SecretBox secrets);
    virtual ~Store() = default;
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    Page<Channel> list_channels(const ListQuery& query);
    std::optional<Channel> get_channel(std::int64_t id);
    /// Inserts `channel` (its plaintext key sealed at rest); returns it as stored, key empty.
    Channel insert_channel(const Channel& channel);
    /// Replaces every field of channel `c.id`; a non-empty `c.key` rotates the key. Nullopt: no such id.
    std::optional<Channel> update_channel(const Channel& c);
    bool delete_channel(std::int64_t id);
    /// Every channel with its key opened, for the relay's in-memory view.
    std::vector<Channel> channels_with_keys();
    /// One channel with its key opened (a channel test); nullopt: no such id.
    std::optional<Channel> get_channel_with_key(std::int64_t id);

    Page<Token> list_tokens(const ListQuery& query);
    std::optional<Token> get_token(std::int64_t id);
    /// Throws Conflict when a token with the same key hash exists.
    Token insert_token(const Token& token);
    std::optional<Token> update_token(const Token& token);
    bool delete_token(std::int64_t id);
    std::vector<Token> all_tokens();

    /// Sets a channel's status with its reason and time (the relay's auto-disable). Notifies.
    bool set_channel_status(std::int64_t id, int status, std::string_view reason);
    /// Records a channel test's response time and time. Does not notify (the relay ignores it).
    bool record_channel_test(std::int64_t id, std::int64_t response_time_ms);

    /// Writes a batch of usage records in one transaction and adds their tokens to each
    /// channel's used_tokens. Does not notify. A batch with a `batch_id` already written is skipped,
    /// so a batch may be tried again after a failure whose outcome is unknown.
    void insert_usage(const std::vector<UsageRecord>& records, std::string_view batch_id = {});
    Page<UsageRecord> list_usage(const UsageQuery& query);
    /// Deletes usage records older than `before` (unix seconds); returns how many.
    std::int64_t prune_usage(std::int64_t before);
    /// The usage records created in [start, end] (unix seconds), summed by `group`.
    std::vector<UsageSummary> summarize_usage(UsageGroup group, std::int64_t start, std::int64_t end,
                                              std::optional<std::int64_t> user_id = std::nullopt);

    /// Users. A write that changes what the relay sees of a user (insert, update, delete with
    /// his tokens) notifies; a password or a login time does not.
    Page<User> list_users(const UserQuery& query);
    std::optional<User> get_user(std::int64_t id);
    /// By username, in any case.
    std::optional<User> find_user(std::string_view username);
    std::vector<User> all_users();
    std::int64_t count_users();
    /// Inserts `user` (its created_time set here); returns it as stored. Throws Conflict when
    /// the username is taken.
    User insert_user(const User& user);
    std::optional<User> update_user(const User& user);
    bool set_user_password(std::int64_t id, std::string_view password_hash);
    void record_login(std::int64_t id);
    /// A user's second factor, its secret opened (nullopt: no such user; throws when the secret
    /// cannot be opened), and written back sealed.
    std::optional<Totp> get_totp(std::int64_t id);
    bool put_totp(std::int64_t id, const Totp& totp);
    /// Deletes the user, his tokens and his sessions together.
    bool delete_user(std::int64_t id);
    /// Gives tokens and usage rows from before users (user_id 0) to `owner`.
    void adopt_orphans(std::int64_t owner);

    /// Sessions, by the SHA-256 of their id.
    void insert_session(const Session& session);
    std::optional<Session> get_session(std::string_view id_hash);
    void touch_session(std::string_view id_hash, std::int64_t time);
    bool delete_session(std::string_view id_hash);
    /// Ends every session of `user_id` but `keep` (an id hash, or empty); how many.
    std::int64_t end_sessions(std::int64_t user_id, std::string_view keep = {});
    std::int64_t prune_sessions(std::int64_t created_before, std::int64_t seen_before);

    /// The audit log.
    void audit(const AuditEntry& entry);
    Page<AuditEntry> list_audit(const AuditQuery& query);

    /// Prices, by the model clients send. A put or delete notifies (the relay bills by them).
    std::vector<ModelPrice> all_prices();
    std::optional<ModelPrice> get_price(std::string_view model);
    /// Inserts or replaces the price of `price.model`; returns it as stored (its time set).
    ModelPrice put_price(const ModelPrice& price);
    bool delete_price(std::string_view model);
    /// Sets tokens' accessed_time (id, unix seconds) in one transaction. Does not notify.
    void touch_tokens(const std::vector<std::pair<std::int64_t, std::int64_t>>& accessed);

    std::optional<std::string> get_setting(std::string_view name);
    void put_setting(std::string_view name, std::string_view value);

    /// Re-seals every sealed value (channel keys, second-factor secrets, the master-key check)
    /// under `next`, in one transaction, and uses `next` from then on. A value the current key
    /// does not open throws and changes nothing. Returns how many values were re-sealed.
    std::int64_t rotate_master_key(core::SecretBox next);

    /// Registers `listener`, called after every committed write to channels, tokens, users or prices.
    void on_change(std::function<void()> listener);
    /// Calls `changed` (from a thread of its own) when other nodes sharing the database commit
    /// such a write, at once where the backend can tell (PostgreSQL's LISTEN/NOTIFY), else by a
    /// version read every `poll_every`. Watches until the result is destroyed; nullptr when the
    /// database is this process's alone (SQLite).
    std::unique_ptr<ChangeWatch> watch_other_nodes(std::function<void()> changed, std::chrono::milliseconds poll_every) {
        return backend_->watch(std::move(changed), poll_every);
    }

private:
    void check_master_key();
    void notify_change();
    Channel channel_of(const ChannelRow& row) const;
    Channel channel_with_key(const ChannelRow& row) const;
    ChannelRow row_of(const Channel& c) const;

    std::unique_ptr<Backend> backend_;
    core::SecretBox secrets_;
    std::mutex listeners_mutex_;
    std::vector<std::function<void()>> listeners_;
};

/// The name under which the front keeps its master-key check in the settings, and the text it
/// seals there.
inline constexpr std::string_view kMasterKeyCheckSetting = "master_key_check";
inline constexpr std::string_view kMasterKeyCheckText = "nexus-api master key check";

}  // namespace nexus::store
