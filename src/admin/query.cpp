#include "admin/query.hpp"

#include <boost/url/parse.hpp>

#include <charconv>
#include <functional>
#include <limits>

namespace nexus::admin {

using core::Error;

namespace {

constexpr auto kMaxInt = std::numeric_limits<std::int64_t>::max();

// The whole of `text` as an integer in [min, max], or nullopt.
std::optional<std::int64_t> parse_int(std::string_view text, std::int64_t min, std::int64_t max) {
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size() || v < min || v > max) return std::nullopt;
    return v;
}

Error bad(std::string_view name, std::string_view what) {
    std::string message(1, '\'');
    message.append(name).append("' must be ").append(what).append(".");
    return Error::bad_request(std::move(message), std::string(name), "invalid_value");
}

// Calls `on(key, value)` for each parameter of `query`; what it returns (an error) stops it.
core::Result<void> each_param(std::string_view query,
                              const std::function<std::optional<Error>(std::string_view, std::string_view)>& on) {
    // Built with append: GCC 12 warns falsely on "?" + std::string (bug 105651).
    std::string ref(1, '?');
    ref.append(query);
    const auto url = boost::urls::parse_relative_ref(ref);
    if (!url) return Error::bad_request("The query string is malformed.");
    for (const auto& p : url->params()) {
        if (auto e = on(p.key, p.value)) return *e;
    }
    return {};
}

// page and page_size, the same on every list; true when `key` was one of them.
std::optional<Error> paging(std::string_view key, std::string_view value, std::int64_t& page, std::int64_t& page_size,
                            bool& taken) {
    taken = key == "page" || key == "page_size";
    if (key == "page") {
        const auto v = parse_int(value, 1, 1'000'000);
        if (!v) return bad(key, "an integer from 1");
        page = *v;
    } else if (key == "page_size") {
        const auto v = parse_int(value, 1, 100);
        if (!v) return bad(key, "an integer from 1 to 100");
        page_size = *v;
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::int64_t> parse_id(std::string_view text) { return parse_int(text, 1, kMaxInt); }

core::Result<store::ListQuery> parse_list_query(std::string_view query) {
    store::ListQuery q;
    auto done = each_param(query, [&](std::string_view key, std::string_view value) -> std::optional<Error> {
        bool taken = false;
        if (auto e = paging(key, value, q.page, q.page_size, taken); e || taken) return e;
        if (key == "status") {
            const auto v = parse_int(value, 0, 3);
            if (!v) return bad(key, "an integer from 0 to 3");
            q.status = static_cast<int>(*v);
        } else if (key == "q") {
            q.name_contains = std::string(value);
        } else if (key == "user_id") {
            q.user_id = parse_id(value);
            if (!q.user_id) return bad(key, "a user id");
        }
        return std::nullopt;
    });
    if (!done) return done.error();
    return q;
}

core::Result<store::UserQuery> parse_user_query(std::string_view query) {
    store::UserQuery q;
    auto done = each_param(query, [&](std::string_view key, std::string_view value) -> std::optional<Error> {
        bool taken = false;
        if (auto e = paging(key, value, q.page, q.page_size, taken); e || taken) return e;
        if (key == "status") {
            const auto v = parse_int(value, 1, 2);
            if (!v) return bad(key, "1 (enabled) or 2 (disabled)");
            q.status = static_cast<int>(*v);
        } else if (key == "role") {
            if (value != "root" && value != "admin" && value != "user") return bad(key, "root, admin or user");
            q.role = std::string(value);
        } else if (key == "q") {
            q.name_contains = std::string(value);
        }
        return std::nullopt;
    });
    if (!done) return done.error();
    return q;
}

core::Result<store::AuditQuery> parse_audit_query(std::string_view query) {
    store::AuditQuery q;
    auto done = each_param(query, [&](std::string_view key, std::string_view value) -> std::optional<Error> {
        bool taken = false;
        if (auto e = paging(key, value, q.page, q.page_size, taken); e || taken) return e;
        if (key == "actor_id") {
            q.actor_id = parse_int(value, 0, kMaxInt);
            if (!q.actor_id) return bad(key, "a user id (0: the admin key)");
        } else if (key == "object_type") {
            q.object_type = std::string(value);
        } else if (key == "object_id") {
            q.object_id = std::string(value);
        } else if (key == "start_time" || key == "end_time") {
            auto& field = key == "start_time" ? q.start_time : q.end_time;
            field = parse_int(value, 0, kMaxInt);
            if (!field) return bad(key, "unix seconds");
        }
        return std::nullopt;
    });
    if (!done) return done.error();
    return q;
}

core::Result<store::UsageQuery> parse_usage_query(std::string_view query) {
    store::UsageQuery q;
    auto done = each_param(query, [&](std::string_view key, std::string_view value) -> std::optional<Error> {
        bool taken = false;
        if (auto e = paging(key, value, q.page, q.page_size, taken); e || taken) return e;
        if (key == "token_id" || key == "channel_id" || key == "user_id") {
            auto& field = key == "token_id" ? q.token_id : key == "channel_id" ? q.channel_id : q.user_id;
            field = parse_id(value);
            if (!field) return bad(key, "an id");
        } else if (key == "start_time" || key == "end_time") {
            auto& field = key == "start_time" ? q.start_time : q.end_time;
            field = parse_int(value, 0, kMaxInt);
            if (!field) return bad(key, "unix seconds");
        } else if (key == "model") {
            q.model = std::string(value);
        } else if (key == "status") {
            const auto v = parse_int(value, 0, 999);
            if (!v) return bad(key, "an HTTP status");
            q.status = static_cast<int>(*v);
        }
        return std::nullopt;
    });
    if (!done) return done.error();
    return q;
}

core::Result<SummaryQuery> parse_summary_query(std::string_view query, std::int64_t now) {
    SummaryQuery q;
    std::optional<std::int64_t> start;
    std::optional<std::int64_t> end;
    bool grouped = false;
    auto done = each_param(query, [&](std::string_view key, std::string_view value) -> std::optional<Error> {
        if (key == "group_by") {
            static constexpr std::pair<std::string_view, store::UsageGroup> kGroups[] = {
                {"hour", store::UsageGroup::kHour},   {"day", store::UsageGroup::kDay},
                {"model", store::UsageGroup::kModel}, {"token", store::UsageGroup::kToken},
                {"channel", store::UsageGroup::kChannel}};
            grouped = false;
            for (const auto& [name, group] : kGroups) {
                if (value == name) {
                    q.group = group;
                    grouped = true;
                }
            }
            if (!grouped) return bad(key, "hour, day, model, token or channel");
        } else if (key == "start" || key == "end") {
            auto& field = key == "start" ? start : end;
            field = parse_int(value, 0, kMaxInt);
            if (!field) return bad(key, "unix seconds");
        }
        return std::nullopt;
    });
    if (!done) return done.error();
    if (!grouped) return Error::bad_request("Missing 'group_by': hour, day, model, token or channel.", "group_by",
                                            "missing_required_parameter");
    q.end = end.value_or(now);
    q.start = start.value_or(q.end - 86400);
    if (q.start > q.end) return bad("start", "at most 'end'");
    if (q.end - q.start > 366 * 86400) return bad("end", "at most 366 days after 'start'");
    return q;
}

}  // namespace nexus::admin
