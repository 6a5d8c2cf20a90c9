#pragma once
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/types.hpp"

namespace nexus::admin {

/// The channel types nexus-api knows, and the base URL each gets when none is given ("" when
/// the type requires one).
bool is_channel_type(std::string_view type);
std::string_view default_base_url(std::string_view type);

/// Parses an admin request body: a JSON object (else a 400 naming no field).
core::Result<boost::json::object> parse_object(std::string_view body);

/// The string field `name` of `body` (its first `max` bytes), or nullopt when absent or not a string.
std::optional<std::string> string_field(const boost::json::object& body, std::string_view name, std::size_t max = 256);
/// The 400 for a required field that is missing (or not a string).
core::Error missing_field(std::string_view name);

/// Applies the fields of `body` to `channel` (create: `creating` true, a fresh Channel), checking
/// each: unknown fields, wrong types, bad values → 400 naming the field. On create, `type`,
/// `name` and `key` are required and a missing base_url takes the type's default.
core::Result<store::Channel> apply_channel(const boost::json::object& body, store::Channel channel, bool creating);

/// The same for tokens. On create, `name` is required and `key`, when given, needs ≥ 8
/// printable characters; on update a `key` is refused (a token's key never changes).
struct TokenInput {
    store::Token token;
    std::string key;  ///< the admin-given key on create, else empty
};
core::Result<TokenInput> apply_token(const boost::json::object& body, store::Token token, bool creating);

/// The same for users. On create, `username` and `password` are required and `role` defaults to
/// "user"; on update, neither `username` nor `password` may be sent (a password has its own route).
struct UserInput {
    store::User user;
    std::string password;  ///< on create
};
core::Result<UserInput> apply_user(const boost::json::object& body, store::User user, bool creating);

/// A channel as the API shows it: the key masked, never in full.
boost::json::object channel_json(const store::Channel& c);
/// A token as the API shows it; `full_key` only in the answer to its creation.
boost::json::object token_json(const store::Token& t, std::string_view full_key = {});
/// A user as the API shows him: never his password hash.
boost::json::object user_json(const store::User& u);
boost::json::object audit_json(const store::AuditEntry& a);

}  // namespace nexus::admin
