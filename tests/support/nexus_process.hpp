#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nexus::testing {

using Env = std::map<std::string, std::string>;

/// The admin key every test process gets unless its Env sets NEXUS_ADMIN_KEY ("" leaves it unset).
inline constexpr const char* kTestAdminKey = "test-admin-key-0123456789";

/// A temporary directory, removed with everything in it when this goes.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);

/// The real nexus-api binary, started with the given environment and flags on a free port
/// (--port 0 unless the flags say otherwise), its stdout and stderr in files of its own
/// temporary directory. The destructor kills it if it still runs.
class NexusProcess {
public:
    /// `env` is added to a clean environment (PATH and the variables the test names only).
    /// `wrapper`, when given, is the command that runs the binary (its argv comes first).
    NexusProcess(std::map<std::string, std::string> env, std::vector<std::string> args = {},
                 std::vector<std::string> wrapper = {});
    ~NexusProcess();
    NexusProcess(const NexusProcess&) = delete;
    NexusProcess& operator=(const NexusProcess&) = delete;

    /// Waits for the "listening on" log line; false when the process exited or it timed out.
    bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }

    void signal(int signo);
    /// Waits for the process to exit; its exit code, or nullopt on timeout (or a signal death: -signo).
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    bool running();

    std::string stdout_text() const { return read_file(dir_.file("stdout")); }
    std::string stderr_text() const { return read_file(dir_.file("stderr")); }
    const TempDir& dir() const { return dir_; }

    /// Path to the binary under test: the build's, or NEXUS_TEST_BINARY when set.
    static std::string binary();

private:
    TempDir dir_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::optional<int> exit_code_;
};

/// Runs the binary to completion (start-up failures, subcommands); returns its exit code and
/// output. `input`, when given, is its standard input (a file, not a terminal).
struct RunResult {
    int exit_code;
    std::string out;
    std::string err;
};
RunResult run_nexus(std::map<std::string, std::string> env, std::vector<std::string> args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10),
                    const std::optional<std::string>& input = std::nullopt);

}  // namespace nexus::testing
