#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace nexus::accounts {

/// What a signed-in person may do, in rising order.
enum class Role : std::uint8_t { kUser = 1, kAdmin = 2, kRoot = 3 };

std::optional<Role> parse_role(std::string_view name);
std::string_view role_name(Role role);

/// What an /api route acts on: each route declares one.
enum class Resource : std::uint8_t {
    kChannel,  ///< /api/channel*
    kPrice,    ///< /api/price*
    kUser,     ///< /api/user* but /api/user/self*: other people's accounts
    kToken,    ///< /api/token*
    kLog,      ///< /api/log, /api/usage
    kSelf,     ///< /api/user/self*: one's own account
    kAuth,     ///< /api/auth/logout, /api/auth/me
    kAudit,    ///< /api/audit
    kOther,    ///< an unknown /api path (its 404 needs an identity, like every /api route)
};

/// How far a role reaches into a resource.
enum class Grant : std::uint8_t {
    kDeny,   ///< 403
    kAll,    ///< every object
    kOwn,    ///< only objects the caller owns: another's is 404, as if it did not exist
    kLower,  ///< accounts of a lower role (admins over users): others are seen, not written
};

/// The role × route table: the one place that says who may call what.
Grant grant(Role role, Resource resource);

}  // namespace nexus::accounts
