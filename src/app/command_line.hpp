#pragma once
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace nexus::app {

/// What a command (`nexus-api backup …`) was given: its own flags, and the server's
/// configuration from the rest and the environment, so that it works on the server's own data.
struct CommandLine {
    config::Config config;
    std::map<std::string, std::string, std::less<>> flags;  ///< own flags given: "--to" → value; a switch → ""
    std::vector<std::string> words;                         ///< the arguments before the first flag
};

/// One of a command's own flags.
struct Flag {
    std::string_view name;
    bool takes_value;
};

/// Thrown once a command printed its usage or a configuration error; main returns `code`.
struct CommandExit {
    int code;
};

/// Parses argv[2…]: the words first, then `own` flags (`--name value` or `--name=value`), the
/// rest handed to config::load. `--help` prints `usage` and exits 0; a flag without its value
/// or a bad server flag prints why and exits 2.
CommandLine parse_command_line(int argc, char** argv, std::initializer_list<Flag> own, std::string_view usage);

/// Runs `body` and returns its exit code; a CommandExit gives its code, a ConfigError (a bad
/// value given) one line on stderr and 2, any other exception one line ("nexus-api NAME: what
/// went wrong") and 1.
int run_command(std::string_view name, const std::function<int()>& body);

/// The commands besides serving, by argv[1] (nullptr: none of them, so serve).
using Command = int (*)(int argc, char** argv);
Command find_command(std::string_view name);

int backup_command(int argc, char** argv);
int restore_command(int argc, char** argv);
int rotate_secret_command(int argc, char** argv);
int admin_key_command(int argc, char** argv);
int user_command(int argc, char** argv);

}  // namespace nexus::app
