#pragma once
// What every SQL backend shares: the column lists of its tables, in the order their rows are read
// back, and the readers that turn a result row into the store's types. A reader takes any cursor
// with integer(column) and text(column) (a SQLite statement, a PostgreSQL result row), so the
// schema's shape is written once.
#include <cstdint>

#include "store/rows.hpp"

namespace nexus::store::columns {

inline constexpr const char* kChannel =
    "id, type, name, key_preview, base_url, models, model_mapping, priority, weight, status, status_reason, "
    "status_time, created_time, updated_time, test_time, response_time_ms, used_tokens, key_encrypted";

template <class Cursor>
ChannelRow channel_from(const Cursor& s) {
    ChannelRow row;
    auto& c = row.channel;
    c.id = s.integer(0);
    c.type = s.text(1);
    c.name = s.text(2);
    c.key_preview = s.text(3);
    c.base_url = s.text(4);
    row.models = s.text(5);
    row.model_mapping = s.text(6);
    c.priority = s.integer(7);
    c.weight = s.integer(8);
    c.status = static_cast<int>(s.integer(9));
    c.status_reason = s.text(10);
    c.status_time = s.integer(11);
    c.created_time = s.integer(12);
    c.updated_time = s.integer(13);
    c.test_time = s.integer(14);
    c.response_time_ms = s.integer(15);
    c.used_tokens = s.integer(16);
    row.key_sealed = s.text(17);
    return row;
}

inline constexpr const char* kToken =
    "id, name, key_hash, key_preview, status, user_id, created_time, accessed_time, expired_time, remain_quota, "
    "used_quota, models, allow_ips, rpm, tpm, max_concurrency, quota_epoch";

template <class Cursor>
TokenRow token_from(const Cursor& s) {
    TokenRow row;
    auto& t = row.token;
    t.id = s.integer(0);
    t.name = s.text(1);
    t.key_hash = s.text(2);
    t.key_preview = s.text(3);
    t.status = static_cast<int>(s.integer(4));
    t.user_id = s.integer(5);
    t.created_time = s.integer(6);
    t.accessed_time = s.integer(7);
    t.expired_time = s.integer(8);
    t.remain_quota = s.integer(9);
    t.used_quota = s.integer(10);
    row.models = s.text(11);
    row.allow_ips = s.text(12);
    t.rpm = s.integer(13);
    t.tpm = s.integer(14);
    t.max_concurrency = s.integer(15);
    t.quota_epoch = s.integer(16);
    return row;
}

inline constexpr const char* kUsage =
    "id, created_time, request_id, token_id, channel_id, model, stream, status, latency_ms, ttfb_ms, attempts, "
    "prompt_tokens, completion_tokens, total_tokens, cached_tokens, quota, price_input, price_output, "
    "price_cached_input, price_per_request, estimated, user_id";

/// kUsage without the id: what a usage row is inserted with, in this order.
inline constexpr const char* kUsageInsert =
    "created_time, request_id, token_id, channel_id, model, stream, status, latency_ms, ttfb_ms, attempts, "
    "prompt_tokens, completion_tokens, total_tokens, cached_tokens, quota, price_input, price_output, "
    "price_cached_input, price_per_request, estimated, user_id";

template <class Cursor>
UsageRecord usage_from(const Cursor& s) {
    UsageRecord r;
    r.id = s.integer(0);
    r.created_time = s.integer(1);
    r.request_id = s.text(2);
    r.token_id = s.integer(3);
    r.channel_id = s.integer(4);
    r.model = s.text(5);
    r.stream = s.integer(6) != 0;
    r.status = static_cast<int>(s.integer(7));
    r.latency_ms = s.integer(8);
    r.ttfb_ms = s.integer(9);
    r.attempts = static_cast<int>(s.integer(10));
    r.prompt_tokens = s.integer(11);
    r.completion_tokens = s.integer(12);
    r.total_tokens = s.integer(13);
    r.cached_tokens = s.integer(14);
    r.quota = s.integer(15);
    r.price.input = s.integer(16);
    r.price.output = s.integer(17);
    r.price.cached_input = s.integer(18);
    r.price.per_request = s.integer(19);
    r.estimated = s.integer(20) != 0;
    r.user_id = s.integer(21);
    return r;
}

inline constexpr const char* kPrice = "model, input, output, cached_input, per_request, updated_time";

template <class Cursor>
ModelPrice price_from(const Cursor& s) {
    ModelPrice p;
    p.model = s.text(0);
    p.price.input = s.integer(1);
    p.price.output = s.integer(2);
    p.price.cached_input = s.integer(3);
    p.price.per_request = s.integer(4);
    p.updated_time = s.integer(5);
    return p;
}

inline constexpr const char* kUser =
    "id, username, display_name, role, status, grp, remain_quota, used_quota, created_time, last_login_time, "
    "password_hash, totp_enabled, quota_epoch";

template <class Cursor>
User user_from(const Cursor& s) {
    User u;
    u.id = s.integer(0);
    u.username = s.text(1);
    u.display_name = s.text(2);
    u.role = s.text(3);
    u.status = static_cast<int>(s.integer(4));
    u.group = s.text(5);
    u.remain_quota = s.integer(6);
    u.used_quota = s.integer(7);
    u.created_time = s.integer(8);
    u.last_login_time = s.integer(9);
    u.password_hash = s.text(10);
    u.totp_enabled = s.integer(11) != 0;
    u.quota_epoch = s.integer(12);
    return u;
}

inline constexpr const char* kSession = "id_hash, user_id, csrf_token, created_time, seen_time";

template <class Cursor>
Session session_from(const Cursor& s) {
    return Session{s.text(0), s.integer(1), s.text(2), s.integer(3), s.integer(4)};
}

inline constexpr const char* kAudit = "id, time, actor_id, actor_name, action, object_type, object_id, fields, ip";

template <class Cursor>
AuditRow audit_from(const Cursor& s) {
    return AuditRow{AuditEntry{s.integer(0), s.integer(1), s.integer(2), s.text(3), s.text(4), s.text(5), s.text(6), {},
                               s.text(8)},
                    s.text(7)};
}

}  // namespace nexus::store::columns
