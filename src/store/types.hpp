#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/price.hpp"

namespace nexus::store {

/// Channel status values (one-api's numbering).
inline constexpr int kChannelEnabled = 1;
inline constexpr int kChannelDisabledByAdmin = 2;
inline constexpr int kChannelDisabledAutomatically = 3;

/// Token status values.
inline constexpr int kTokenDisabled = 0;
inline constexpr int kTokenEnabled = 1;

/// An upstream provider account.
struct Channel {
    std::int64_t id = 0;
    std::string type;         ///< "OpenAI", "SiliconFlow" or "OpenAI-Compatible"
    std::string name;
    std::string key;          ///< plaintext; empty unless read with channels_with_keys(), get_channel_with_key() or being written
    std::string key_preview;  ///< masked, safe to show
    std::string base_url;
    std::vector<std::string> models;  ///< empty: any model
    std::vector<std::pair<std::string, std::string>> model_mapping;  ///< requested → upstream name
    std::int64_t priority = 0;
    std::int64_t weight = 1;
    int status = kChannelEnabled;
    std::string status_reason;
    std::int64_t status_time = 0;
    std::int64_t created_time = 0;
    std::int64_t updated_time = 0;
    std::int64_t test_time = 0;
    std::int64_t response_time_ms = 0;
    std::int64_t used_tokens = 0;
};

/// A client credential. The key itself is never stored: only its SHA-256 and a masked preview.
struct Token {
    std::int64_t id = 0;
    std::string name;
    std::string key_hash;     ///< SHA-256 hex of the full key
    std::string key_preview;  ///< masked, safe to show
    int status = kTokenEnabled;
    std::int64_t user_id = 0;
    std::int64_t created_time = 0;
    std::int64_t accessed_time = 0;
    std::int64_t expired_time = -1;  ///< unix seconds; -1 never
    std::int64_t remain_quota = -1;  ///< quota units left; -1 unlimited
    std::int64_t used_quota = 0;     ///< units spent, by unlimited tokens too
    std::vector<std::string> models;     ///< allowed models, as clients send them; empty: all
    std::vector<std::string> allow_ips;  ///< allowed client addresses and CIDRs (v4, v6); empty: any
    std::int64_t rpm = 0;                ///< calls per minute; 0: no limit
    std::int64_t tpm = 0;                ///< prompt + completion tokens per minute; 0: no limit
    std::int64_t max_concurrency = 0;    ///< calls in flight; 0: no limit
    std::int64_t quota_epoch = 0;  ///< moves whenever remain_quota is set (not when calls spend it)
};

/// User status values.
inline constexpr int kUserEnabled = 1;
inline constexpr int kUserDisabled = 2;

/// A person who signs in: an admin who runs the gateway, or a user who holds his own tokens.
struct User {
    std::int64_t id = 0;
    std::string username;      ///< unique, 3–32 of [A-Za-z0-9_.-], compared without case
    std::string display_name;
    std::string role = "user"; ///< "root", "admin" or "user"
    int status = kUserEnabled;
    std::string group = "default";
    std::int64_t remain_quota = -1;  ///< quota units left over all his tokens; -1 unlimited
    std::int64_t used_quota = 0;
    std::int64_t created_time = 0;
    std::int64_t last_login_time = 0;
    std::string password_hash;  ///< "$argon2id$…"; never shown
    bool totp_enabled = false;  ///< login asks for a one-time code too
    std::int64_t quota_epoch = 0;  ///< moves whenever remain_quota is set (not when calls spend it)
};

/// A user's second factor: read and written apart from the rest of him (only logins need it).
struct Totp {
    std::string secret;  ///< raw bytes; empty: none set up
    bool enabled = false;
    std::int64_t last_step = 0;  ///< the last 30-second step a code was taken for (each code is good once)
    std::vector<std::string> recovery_hashes;  ///< SHA-256 of the unused recovery codes
};

/// A signed-in browser. Only the SHA-256 of the session id is kept.
struct Session {
    std::string id_hash;
    std::int64_t user_id = 0;
    std::string csrf_token;
    std::int64_t created_time = 0;
    std::int64_t seen_time = 0;  ///< last request (to a minute)
};

/// One write through /api, or one login, as the audit log keeps it.
struct AuditEntry {
    std::int64_t id = 0;
    std::int64_t time = 0;
    std::int64_t actor_id = 0;  ///< 0: the admin key, or nobody known (a failed login)
    std::string actor_name;
    std::string action;       ///< create, update, delete, login, login_failed, logout, password…
    std::string object_type;  ///< channel, token, price, user, session
    std::string object_id;
    std::vector<std::string> fields;  ///< names of the fields written, never their values
    std::string ip;
};

struct UserQuery {
    std::int64_t page = 1;
    std::int64_t page_size = 20;
    std::optional<int> status;
    std::string role;
    std::string name_contains;  ///< in username or display_name
};

struct AuditQuery {
    std::int64_t page = 1;
    std::int64_t page_size = 20;
    std::optional<std::int64_t> actor_id;
    std::string object_type;
    std::string object_id;
    std::optional<std::int64_t> start_time;
    std::optional<std::int64_t> end_time;
};

/// What calls of one model cost.
struct ModelPrice {
    std::string model;  ///< as clients send it, before any channel's mapping
    core::Price price;
    std::int64_t updated_time = 0;
};

/// What one relayed call used: written in batches after the answer, off the hot path.
struct UsageRecord {
    std::int64_t id = 0;
    std::int64_t created_time = 0;  ///< unix seconds
    std::string request_id;
    std::int64_t token_id = 0;
    std::int64_t user_id = 0;       ///< the token's owner, who pays for the call too
    std::int64_t channel_id = 0;    ///< 0: no channel was reached
    std::string model;
    bool stream = false;
    int status = 0;                 ///< status sent to the client
    std::int64_t latency_ms = 0;
    std::int64_t ttfb_ms = -1;      ///< first upstream response byte; -1 none
    int attempts = 0;
    std::int64_t prompt_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::int64_t total_tokens = 0;
    std::int64_t cached_tokens = 0;  ///< of the prompt, read from the provider's cache
    std::int64_t quota = 0;          ///< what the call cost, in quota units
    core::Price price;               ///< the price it was billed at
    bool estimated = false;          ///< no usage came from the upstream: the counts are estimates
};

struct UsageQuery {
    std::int64_t page = 1;
    std::int64_t page_size = 20;
    std::optional<std::int64_t> user_id;  ///< the token owner's records only
    std::optional<std::int64_t> token_id;
    std::optional<std::int64_t> channel_id;
    std::string model;
    std::optional<int> status;
    std::optional<std::int64_t> start_time;  ///< unix seconds, inclusive
    std::optional<std::int64_t> end_time;    ///< unix seconds, inclusive
};

/// How usage is summed up by GET /api/usage.
enum class UsageGroup : std::uint8_t { kHour, kDay, kModel, kToken, kChannel };

/// One group of usage records, summed.
struct UsageSummary {
    std::int64_t key_number = 0;  ///< the hour's or day's start (unix seconds), the token or channel id
    std::string key_text;         ///< the model (kModel)
    std::int64_t calls = 0;
    std::int64_t errors = 0;      ///< answered with a status outside 2xx (or not answered)
    std::int64_t prompt_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::int64_t quota = 0;
    std::int64_t latency_p50_ms = 0;
    std::int64_t latency_p99_ms = 0;
};

/// How a channel test (a tiny chat call through one channel) went.
struct ChannelTestResult {
    bool success = false;
    int status = 0;  ///< upstream status, or ours (502/504) when none came
    std::string message;
    std::int64_t response_time_ms = 0;
};

/// Paging and filters of a list call.
struct ListQuery {
    std::int64_t page = 1;       ///< from 1
    std::int64_t page_size = 20; ///< 1..100
    std::optional<int> status;
    std::string name_contains;
    std::optional<std::int64_t> user_id;  ///< tokens: one owner's only
};

template <class T>
struct Page {
    std::vector<T> items;
    std::int64_t total = 0;
};


/// The masked form of a secret: "sk-" + 4 + "..." + last 4 for sk- keys, first 4 + "..." + last 4
/// for others, and a fixed mask for anything shorter than 12 characters (after "sk-").
std::string mask_key(std::string_view key);

}  // namespace nexus::store
