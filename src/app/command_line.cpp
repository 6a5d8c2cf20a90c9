#include "app/command_line.hpp"

#include <iostream>

#include "core/logging.hpp"

namespace nexus::app {

CommandLine parse_command_line(int argc, char** argv, std::initializer_list<Flag> own, std::string_view usage) {
    CommandLine out;
    std::vector<char*> rest{argv[0]};
    int i = 2;
    for (; i < argc && argv[i][0] != '-'; ++i) out.words.emplace_back(argv[i]);
    for (; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            throw CommandExit{0};
        }
        const auto eq = arg.find('=');
        const auto name = arg.substr(0, eq);
        const Flag* flag = nullptr;
        for (const auto& f : own) {
            if (f.name == name) flag = &f;
        }
        if (!flag) {
            rest.push_back(argv[i]);
            continue;
        }
        if (!flag->takes_value) {
            out.flags[std::string(name)] = "";
        } else if (eq != std::string_view::npos) {
            out.flags[std::string(name)] = std::string(arg.substr(eq + 1));
        } else if (i + 1 < argc) {
            out.flags[std::string(name)] = argv[++i];
        } else {
            std::cerr << name << " needs a value\n" << usage;
            throw CommandExit{2};
        }
    }
    try {
        out.config = config::load(static_cast<int>(rest.size()), rest.data());
    } catch (const config::ExitRequest& e) {
        throw CommandExit{e.code};
    } catch (const config::ConfigError& e) {
        std::cerr << "nexus-api: invalid configuration: " << e.what() << "\n";
        throw CommandExit{2};
    }
    core::init_logging(out.config.log_level, false);  // the log on stderr; stdout is the command's answer
    return out;
}

int run_command(std::string_view name, const std::function<int()>& body) {
    try {
        return body();
    } catch (const CommandExit& e) {
        return e.code;
    } catch (const config::ConfigError& e) {
        std::cerr << "nexus-api " << name << ": invalid " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "nexus-api " << name << ": " << e.what() << "\n";
        return 1;
    }
}

Command find_command(std::string_view name) {
    static constexpr std::pair<std::string_view, Command> kCommands[] = {
        {"backup", backup_command},         {"restore", restore_command}, {"rotate-secret", rotate_secret_command},
        {"admin-key", admin_key_command},   {"user", user_command},
    };
    for (const auto& [n, command] : kCommands) {
        if (n == name) return command;
    }
    return nullptr;
}

}  // namespace nexus::app
