#include "accounts/bootstrap.hpp"

#include <iostream>
#include <stdexcept>

#include "accounts/password.hpp"

namespace nexus::accounts {

std::int64_t ensure_root(store::Store& store, const std::string& configured) {
    if (store.count_users() > 0) {
        store::UserQuery q;
        q.role = "root";
        q.page_size = 1;
        const auto roots = store.list_users(q);
        if (roots.items.empty()) throw std::runtime_error("the database has users but no root account");
        return roots.items.front().id;
    }
    if (!configured.empty()) {
        if (const auto bad = check_password(configured, "NEXUS_ROOT_PASSWORD")) throw std::runtime_error(bad->message);
    }
    const std::string password = configured.empty() ? random_password() : configured;
    store::User root;
    root.username = "root";
    root.display_name = "Root";
    root.role = "root";
    root.password_hash = hash_password(password);
    const auto stored = store.insert_user(root);
    store.adopt_orphans(stored.id);
    if (configured.empty()) {
        std::cerr << "\n"
                     "==================================================================\n"
                     "  nexus-api root account (shown once; only its Argon2id hash is kept):\n"
                     "\n"
                     "    username: root\n"
                     "    password: " << password << "\n"
                     "\n"
                     "  Sign in at POST /api/auth/login. Set NEXUS_ROOT_PASSWORD to choose it,\n"
                     "  or later: nexus-api user reset-password root\n"
                     "==================================================================\n"
                  << std::endl;
    }
    return stored.id;
}

void reset_password(store::Store& store, std::string_view username, std::string_view password) {
    if (const auto bad = check_password(password)) throw std::runtime_error(bad->message);
    const auto user = store.find_user(username);
    if (!user) throw std::runtime_error("no user named '" + std::string(username) + "'");
    store.set_user_password(user->id, hash_password(password));
    store.end_sessions(user->id);
}

}  // namespace nexus::accounts
