// `nexus-api user …`: account chores an operator does from the shell, on the same data as the server.
#include <unistd.h>

#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "accounts/bootstrap.hpp"
#include "accounts/password.hpp"
#include "app/app.hpp"
#include "store/open.hpp"

namespace nexus::app {

namespace {

constexpr const char* kUsage =
    "usage: nexus-api user reset-password NAME [flags, as for the server: --data-dir, --db, --secret…]\n"
    "  Sets NAME's password and ends all his sessions. The new password is read from standard input\n"
    "  when it is not a terminal; on a terminal a random one is made and printed once.\n";

}  // namespace

int user_command(int argc, char** argv) {
    if (argc < 4 || std::string(argv[2]) != "reset-password" || argv[3][0] == '-') {
        std::cerr << kUsage;
        return 2;
    }
    const std::string name = argv[3];
    // The rest are the server's own flags (the environment counts too): the same database.
    std::vector<char*> rest{argv[0]};
    for (int i = 4; i < argc; ++i) rest.push_back(argv[i]);
    config::Config config;
    try {
        config = config::load(static_cast<int>(rest.size()), rest.data());
    } catch (const config::ExitRequest& e) {
        return e.code;
    } catch (const config::ConfigError& e) {
        std::cerr << "nexus-api: invalid configuration: " << e.what() << "\n";
        return 2;
    }
    const bool typed = isatty(STDIN_FILENO) != 0;
    std::string password;
    if (typed) {
        password = accounts::random_password();
    } else {
        password.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
    }
    try {
        const auto store = store::open(config);
        accounts::reset_password(*store, name, password);
    } catch (const std::exception& e) {
        std::cerr << "nexus-api: cannot reset the password: " << e.what() << "\n";
        return 1;
    }
    if (typed) std::cout << "New password of " << name << " (shown once): " << password << "\n";
    std::cerr << "The password of " << name << " is reset; all his sessions are ended.\n";
    return 0;
}

}  // namespace nexus::app
