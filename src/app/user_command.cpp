// `nexus-api user …`: account chores an operator does from the shell, on the same data as the server.
#include <unistd.h>

#include <iostream>
#include <iterator>
#include <string>

#include "accounts/bootstrap.hpp"
#include "accounts/password.hpp"
#include "app/command_line.hpp"
#include "store/open.hpp"

namespace nexus::app {

namespace {

constexpr const char* kUsage =
    "usage: nexus-api user reset-password NAME [flags, as for the server: --data-dir, --db, --secret…]\n"
    "  Sets NAME's password and ends all his sessions. The new password is read from standard input\n"
    "  when it is not a terminal; on a terminal a random one is made and printed once.\n";

}  // namespace

int user_command(int argc, char** argv) {
    return run_command("user", [&] {
        const auto line = parse_command_line(argc, argv, {}, kUsage);
        if (line.words.size() != 2 || line.words[0] != "reset-password") {
            std::cerr << kUsage;
            return 2;
        }
        const std::string& name = line.words[1];
        const bool typed = isatty(STDIN_FILENO) != 0;
        std::string password;
        if (typed) {
            password = accounts::random_password();
        } else {
            password.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
            while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
        }
        try {
            const auto store = store::open(line.config);
            accounts::reset_password(*store, name, password);
        } catch (const std::exception& e) {
            std::cerr << "nexus-api: cannot reset the password: " << e.what() << "\n";
            return 1;
        }
        if (typed) std::cout << "New password of " << name << " (shown once): " << password << "\n";
        std::cerr << "The password of " << name << " is reset; all his sessions are ended.\n";
        return 0;
    });
}

}  // namespace nexus::app
