#include "accounts/roles.hpp"

#include <array>

namespace nexus::accounts {

namespace {

struct Row {
    Resource resource;
    Grant root;
    Grant admin;
    Grant user;
};

using G = Grant;
using R = Resource;

// Who may call what. Ownership (kOwn) and rank (kLower) are applied by the handlers, from the
// grant this table gives them.
constexpr std::array kTable{
    //  resource     root     admin      user
    Row{R::kChannel, G::kAll, G::kAll,   G::kDeny},
    Row{R::kPrice,   G::kAll, G::kAll,   G::kDeny},
    Row{R::kUser,    G::kAll, G::kLower, G::kDeny},
    Row{R::kToken,   G::kAll, G::kAll,   G::kOwn},
    Row{R::kLog,     G::kAll, G::kAll,   G::kOwn},
    Row{R::kSelf,    G::kOwn, G::kOwn,   G::kOwn},
    Row{R::kAuth,    G::kOwn, G::kOwn,   G::kOwn},
    Row{R::kAudit,   G::kAll, G::kAll,   G::kDeny},
    Row{R::kOther,   G::kAll, G::kAll,   G::kAll},
};

}  // namespace

std::optional<Role> parse_role(std::string_view name) {
    if (name == "root") return Role::kRoot;
    if (name == "admin") return Role::kAdmin;
    if (name == "user") return Role::kUser;
    return std::nullopt;
}

std::string_view role_name(Role role) {
    switch (role) {
        case Role::kRoot: return "root";
        case Role::kAdmin: return "admin";
        case Role::kUser: return "user";
    }
    return "user";
}

Grant grant(Role role, Resource resource) {
    for (const auto& row : kTable) {
        if (row.resource != resource) continue;
        switch (role) {
            case Role::kRoot: return row.root;
            case Role::kAdmin: return row.admin;
            case Role::kUser: return row.user;
        }
    }
    return Grant::kDeny;
}

}  // namespace nexus::accounts
