#include "support/nexus_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace nexus::testing {

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nexus-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
}

std::string NexusProcess::binary() {
    // NEXUS_TEST_BINARY runs the suite against another build (an older commit's, to watch a new
    // test fail before its fix).
    if (const char* other = std::getenv("NEXUS_TEST_BINARY"); other != nullptr && *other != '\0') return other;
    return NEXUS_BINARY_PATH;
}

namespace {
pid_t spawn(const std::map<std::string, std::string>& env, const std::vector<std::string>& args,
            const std::string& out_path, const std::string& err_path, const std::vector<std::string>& wrapper = {},
            const std::string& in_path = {}) {
    std::vector<std::string> env_strings;
    if (const char* path = std::getenv("PATH")) env_strings.push_back(std::string("PATH=") + path);
    for (const char* pass : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
        if (const char* v = std::getenv(pass); v != nullptr && !env.contains(pass)) {
            env_strings.push_back(std::string(pass) + "=" + v);
        }
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<std::string> argv_strings = wrapper;
    argv_strings.push_back(NexusProcess::binary());
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());

    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(out, 1);
        dup2(err, 2);
        if (!in_path.empty()) dup2(open(in_path.c_str(), O_RDONLY), 0);
        // Nothing of the test process's descriptors leaks into the server's.
        close_range(3, ~0U, 0);
        if (wrapper.empty()) {
            execve(argv[0], argv.data(), envp.data());
        } else {
            execvpe(argv[0], argv.data(), envp.data());
        }
        _exit(127);
    }
    return pid;
}

std::optional<int> wait_pid(pid_t pid, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            if (WIFSIGNALED(status)) return -WTERMSIG(status);
            return -1;
        }
        if (std::chrono::steady_clock::now() >= end) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}
}  // namespace

NexusProcess::NexusProcess(std::map<std::string, std::string> env, std::vector<std::string> args,
                           std::vector<std::string> wrapper) {
    if (!env.contains("NEXUS_DATA_DIR")) env["NEXUS_DATA_DIR"] = dir_.file("data");
    bool has_port = env.contains("NEXUS_PORT");
    for (const auto& a : args) has_port = has_port || a == "--port";
    if (!has_port) env.try_emplace("NEXUS_PORT", std::string("0"));
    env.try_emplace("NEXUS_HOST", std::string("127.0.0.1"));
    env.try_emplace("NEXUS_ADMIN_KEY", std::string(kTestAdminKey));
    if (env["NEXUS_ADMIN_KEY"].empty()) env.erase("NEXUS_ADMIN_KEY");
    pid_ = spawn(env, args, dir_.file("stdout"), dir_.file("stderr"), wrapper);
}

NexusProcess::~NexusProcess() {
    if (pid_ > 0 && !exit_code_) {
        kill(pid_, SIGKILL);
        wait_pid(pid_, std::chrono::seconds(10));
    }
}

bool NexusProcess::wait_ready(std::chrono::milliseconds timeout) {
    static const std::string kMarker = "listening on ";
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        const auto err = stderr_text();
        if (const auto at = err.find(kMarker); at != std::string::npos) {
            const auto colon = err.find(':', at + kMarker.size());
            const auto space = err.find(' ', colon);
            if (colon != std::string::npos && space != std::string::npos) {
                port_ = static_cast<std::uint16_t>(std::stoi(err.substr(colon + 1, space - colon - 1)));
                return true;
            }
        }
        if (!running()) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

void NexusProcess::signal(int signo) {
    if (pid_ > 0 && !exit_code_) kill(pid_, signo);
}

std::optional<int> NexusProcess::wait_exit(std::chrono::milliseconds timeout) {
    if (exit_code_) return exit_code_;
    exit_code_ = wait_pid(pid_, timeout);
    return exit_code_;
}

bool NexusProcess::running() {
    if (exit_code_) return false;
    exit_code_ = wait_pid(pid_, std::chrono::milliseconds(0));
    return !exit_code_.has_value();
}

RunResult run_nexus(std::map<std::string, std::string> env, std::vector<std::string> args,
                    std::chrono::milliseconds timeout, const std::optional<std::string>& input) {
    TempDir dir;
    if (!env.contains("NEXUS_DATA_DIR")) env["NEXUS_DATA_DIR"] = dir.file("data");
    if (input) write_file(dir.file("in"), *input);
    const pid_t pid = spawn(env, args, dir.file("out"), dir.file("err"), {}, input ? dir.file("in") : std::string());
    auto code = wait_pid(pid, timeout);
    if (!code) {
        kill(pid, SIGKILL);
        wait_pid(pid, std::chrono::seconds(5));
        code = -SIGKILL;
    }
    return {*code, read_file(dir.file("out")), read_file(dir.file("err"))};
}

}  // namespace nexus::testing
