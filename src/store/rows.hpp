#pragma once
// What a storage backend implements: narrow interfaces over rows, one per table. A row holds
// what the backend keeps, as it keeps it: a channel's key sealed (encrypted by the front, never
// seen in plaintext here), lists and maps as JSON text. Everything else (sealing, masking, the
// master-key check, JSON columns, telling listeners of a change) is the front's (store.hpp), so
// a backend is only the database. Calls block on the database; a backend serialises what it
// must, and is used from the database thread. Failures throw std::runtime_error, a broken
// uniqueness rule throws Conflict.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/types.hpp"

namespace nexus::store {

/// Thrown for a write that breaks a uniqueness rule (a token key already in use).
struct Conflict : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Thrown when the database cannot be reached (a PostgreSQL server down or unreachable, a
/// connection lost mid-transaction): nothing was changed, and trying again later may work.
struct Unavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct ChannelRow {
    Channel channel;           ///< every field but key, models and model_mapping
    std::string key_sealed;    ///< the key as the front sealed it
    std::string models;        ///< JSON array
    std::string model_mapping; ///< JSON object
};

struct TokenRow {
    Token token;            ///< every field but models and allow_ips
    std::string models;     ///< JSON array
    std::string allow_ips;  ///< JSON array
};

class ChannelRows {
public:
    virtual ~ChannelRows() = default;
    virtual Page<ChannelRow> list(const ListQuery& query) = 0;
    virtual std::optional<ChannelRow> get(std::int64_t id) = 0;
    virtual std::vector<ChannelRow> all() = 0;
    /// Inserts `row` (its created and updated times set by the caller); the new id.
    virtual std::int64_t insert(const ChannelRow& row) = 0;
    /// Replaces every field of row `row.channel.id` but used_tokens and created_time; the key
    /// (key_sealed, key_preview) only `with_key`. One transaction. False: no such id.
    virtual bool update(const ChannelRow& row, bool with_key) = 0;
    virtual bool remove(std::int64_t id) = 0;
    virtual bool set_status(std::int64_t id, int status, std::string_view reason, std::int64_t time) = 0;
    virtual bool record_test(std::int64_t id, std::int64_t response_time_ms, std::int64_t time) = 0;
};

class TokenRows {
public:
    virtual ~TokenRows() = default;
    virtual Page<TokenRow> list(const ListQuery& query) = 0;
    virtual std::optional<TokenRow> get(std::int64_t id) = 0;
    virtual std::vector<TokenRow> all() = 0;
    /// Inserts `row`; the new id. Throws Conflict when a token with its key hash exists.
    virtual std::int64_t insert(const TokenRow& row) = 0;
    /// Replaces every field an admin may set (name, status, user_id, expired_time, remain_quota,
    /// models, allow_ips, rpm, tpm, max_concurrency). False: no such id.
    virtual bool update(const TokenRow& row) = 0;
    virtual bool remove(std::int64_t id) = 0;
    /// Sets accessed_time (id, unix seconds) where it is older, in one transaction.
    virtual void touch(const std::vector<std::pair<std::int64_t, std::int64_t>>& accessed) = 0;
};

class PriceRows {
public:
    virtual ~PriceRows() = default;
    virtual std::vector<ModelPrice> all() = 0;
    virtual std::optional<ModelPrice> get(std::string_view model) = 0;
    /// Inserts or replaces the price of `price.model`.
    virtual void put(const ModelPrice& price) = 0;
    virtual bool remove(std::string_view model) = 0;
};

class UsageRows {
public:
    virtual ~UsageRows() = default;
    /// Writes a batch in one transaction: the rows, each call's cost added to its token's and
    /// its owner's used_quota and taken from their remain_quota (unless unlimited), and its
    /// tokens added to each channel's used_tokens. So the rows are the ledger of the quota.
    /// A batch whose `batch_id` (non-empty) was written before is not written again: the caller
    /// may try a batch again after a failure whose outcome it cannot know.
    virtual void insert(const std::vector<UsageRecord>& records, std::string_view batch_id) = 0;
    virtual Page<UsageRecord> list(const UsageQuery& query) = 0;
    /// The records created in [start, end] (unix seconds), summed by `group`, in key order.
    /// `user_id`: that owner's records only.
    virtual std::vector<UsageSummary> summarize(UsageGroup group, std::int64_t start, std::int64_t end,
                                                std::optional<std::int64_t> user_id) = 0;
    /// Deletes records (and batch ids) older than `before` (unix seconds); how many records.
    virtual std::int64_t prune(std::int64_t before) = 0;
};

struct TotpRow {
    std::string secret_sealed;  ///< as the front sealed it; empty: none
    bool enabled = false;
    std::int64_t last_step = 0;
    std::string recovery_hashes;  ///< JSON array
};

class UserRows {
public:
    virtual ~UserRows() = default;
    virtual Page<User> list(const UserQuery& query) = 0;
    virtual std::optional<User> get(std::int64_t id) = 0;
    /// By username, in any case.
    virtual std::optional<User> find(std::string_view username) = 0;
    virtual std::vector<User> all() = 0;
    virtual std::int64_t count() = 0;
    /// Inserts `user` (created_time set by the caller); the new id. Conflict: the username is taken.
    virtual std::int64_t insert(const User& user) = 0;
    /// Replaces display_name, role, status, group and remain_quota. False: no such id.
    virtual bool update(const User& user) = 0;
    virtual bool set_password(std::int64_t id, std::string_view password_hash) = 0;
    virtual void set_login_time(std::int64_t id, std::int64_t time) = 0;
    virtual std::optional<TotpRow> totp(std::int64_t id) = 0;
    virtual bool set_totp(std::int64_t id, const TotpRow& totp) = 0;
    /// Deletes the user with his tokens and sessions, in one transaction. False: no such id.
    virtual bool remove(std::int64_t id) = 0;
    /// Gives every token and usage row without an owner (user_id 0, from before users) to `owner`.
    virtual void adopt_orphans(std::int64_t owner) = 0;
};

class SessionRows {
public:
    virtual ~SessionRows() = default;
    virtual void insert(const Session& session) = 0;
    virtual std::optional<Session> get(std::string_view id_hash) = 0;
    virtual void touch(std::string_view id_hash, std::int64_t time) = 0;
    virtual bool remove(std::string_view id_hash) = 0;
    /// Ends every session of `user_id` but `keep` (an id hash, or empty); how many.
    virtual std::int64_t remove_user(std::int64_t user_id, std::string_view keep) = 0;
    /// Deletes sessions created before `created_before` or last seen before `seen_before`.
    virtual std::int64_t prune(std::int64_t created_before, std::int64_t seen_before) = 0;
};

struct AuditRow {
    AuditEntry entry;    ///< every field but fields
    std::string fields;  ///< JSON array
};

class AuditRows {
public:
    virtual ~AuditRows() = default;
    virtual void insert(const AuditRow& row) = 0;
    /// Newest first.
    virtual Page<AuditRow> list(const AuditQuery& query) = 0;
};

class SettingRows {
public:
    virtual ~SettingRows() = default;
    virtual std::optional<std::string> get(std::string_view name) = 0;
    virtual void put(std::string_view name, std::string_view value) = 0;
    /// Writes `value` only when `name` has none yet (so that of nodes starting together, one wins).
    virtual void put_new(std::string_view name, std::string_view value) = 0;
};

/// Watches for what other nodes sharing the database commit; stops when destroyed.
class ChangeWatch {
public:
    virtual ~ChangeWatch() = default;
};

/// A storage backend: its tables.
class Backend {
public:
    virtual ~Backend() = default;
    virtual ChannelRows& channels() = 0;
    virtual TokenRows& tokens() = 0;
    virtual UsageRows& usage() = 0;
    virtual PriceRows& prices() = 0;
    virtual SettingRows& settings() = 0;
    virtual UserRows& users() = 0;
    virtual SessionRows& sessions() = 0;
    virtual AuditRows& audit() = 0;

    /// Passes every sealed value the backend keeps (channel keys, second-factor secrets, the
    /// master-key check) through `reseal` and writes the results back, all in one transaction:
    /// when `reseal` throws or the process dies half-way, nothing is changed. Returns how many.
    virtual std::int64_t reseal(const std::function<std::string(const std::string&)>& reseal) = 0;

    /// Calls `changed` (from a thread of its own) soon after another node commits a change to
    /// channels, tokens, users or prices, and whenever one may have been missed; nullptr for a
    /// backend only this process uses.
    virtual std::unique_ptr<ChangeWatch> watch(std::function<void()> changed, std::chrono::milliseconds poll_every) {
        (void)changed;
        (void)poll_every;
        return nullptr;
    }
};

/// A backend whose tables are row objects of its own (SQLite's, PostgreSQL's): each made by the
/// backend's constructor, once its connection is open.
class OwnedTables : public Backend {
public:
    ChannelRows& channels() override { return *channels_; }
    TokenRows& tokens() override { return *tokens_; }
    UsageRows& usage() override { return *usage_; }
    PriceRows& prices() override { return *prices_; }
    SettingRows& settings() override { return *settings_; }
    UserRows& users() override { return *users_; }
    SessionRows& sessions() override { return *sessions_; }
    AuditRows& audit() override { return *audit_; }

protected:
    std::unique_ptr<ChannelRows> channels_;
    std::unique_ptr<TokenRows> tokens_;
    std::unique_ptr<UsageRows> usage_;
    std::unique_ptr<PriceRows> prices_;
    std::unique_ptr<SettingRows> settings_;
    std::unique_ptr<UserRows> users_;
    std::unique_ptr<SessionRows> sessions_;
    std::unique_ptr<AuditRows> audit_;
};

}  // namespace nexus::store
