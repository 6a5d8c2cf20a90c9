#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/types.hpp"

namespace nexus::accounts {

/// The name of the session cookie.
inline constexpr std::string_view kSessionCookie = "nexus_session";

/// How long a session lives: since its last request (idle) and since the login (at most).
struct SessionPolicy {
    std::int64_t idle_seconds = 168 * 3600;
    std::int64_t max_seconds = 30 * 86400;
};

/// A session just opened: the id the browser gets (in the cookie, 256 random bits) and the row
/// that is kept (its SHA-256, the CSRF token, the times).
struct NewSession {
    std::string id;
    store::Session row;
};
NewSession new_session(std::int64_t user_id, std::int64_t now);

/// The SHA-256 of a session id, as the row keeps it.
std::string session_hash(std::string_view id);

/// Whether `session` has ended at `now` under `policy`.
bool session_expired(const store::Session& session, std::int64_t now, const SessionPolicy& policy);

/// The value of cookie `name` in a Cookie header ("a=1; b=2"), or nullopt.
std::optional<std::string_view> cookie_value(std::string_view cookie_header, std::string_view name);

/// The Set-Cookie value that opens (`id`, for `max_age_seconds`) or, with an empty id, clears
/// the session cookie: HttpOnly, SameSite=Strict, Path=/, and Secure when `secure`.
std::string session_set_cookie(std::string_view id, std::int64_t max_age_seconds, bool secure);

/// Whether a request's Origin header is the server's own: `public_url`'s scheme, host and port
/// when it is set, else "http://" + the request's Host. Compared without case.
bool origin_allowed(std::string_view origin, std::string_view public_url, std::string_view host);

}  // namespace nexus::accounts
