#include "accounts/session.hpp"

#include "core/crypto.hpp"
#include "core/origin.hpp"
#include "core/text.hpp"

namespace nexus::accounts {

namespace {

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

NewSession new_session(std::int64_t user_id, std::int64_t now) {
    NewSession s;
    s.id = core::random_token(43);  // ≥ 256 bits from [A-Za-z0-9]
    s.row.id_hash = session_hash(s.id);
    s.row.user_id = user_id;
    s.row.csrf_token = core::random_token(43);
    s.row.created_time = now;
    s.row.seen_time = now;
    return s;
}

std::string session_hash(std::string_view id) { return core::sha256_hex(id); }

bool session_expired(const store::Session& session, std::int64_t now, const SessionPolicy& policy) {
    return now - session.seen_time >= policy.idle_seconds || now - session.created_time >= policy.max_seconds;
}

std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const auto semi = header.find(';');
        const auto pair = trimmed(header.substr(0, semi));
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && trimmed(pair.substr(0, eq)) == name) return trimmed(pair.substr(eq + 1));
        if (semi == std::string_view::npos) break;
        header.remove_prefix(semi + 1);
    }
    return std::nullopt;
}

std::string session_set_cookie(std::string_view id, std::int64_t max_age_seconds, bool secure) {
    std::string out(kSessionCookie);
    out += '=';
    out += id;
    out += "; Path=/; HttpOnly; SameSite=Strict; Max-Age=";
    out += std::to_string(id.empty() ? 0 : max_age_seconds);
    if (secure) out += "; Secure";
    return out;
}

bool origin_allowed(std::string_view origin, std::string_view public_url, std::string_view host) {
    // Compared as the connection pool keys origins: scheme, host and port, the default port
    // written out, any path dropped; without case.
    const auto own = core::Origin::parse(core::ascii_lower(public_url.empty() ? "http://" + std::string(host)
                                                                             : std::string(public_url)));
    const auto theirs = core::Origin::parse(core::ascii_lower(trimmed(origin)));
    return own && theirs && own->key == theirs->key;
}

}  // namespace nexus::accounts
