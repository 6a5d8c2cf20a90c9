#include "support/redis_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace nexus::testing {

namespace {

std::uint16_t free_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

bool accepts(std::uint16_t port) {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    boost::system::error_code ec;
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    return !ec;
}

}  // namespace

RedisServer::RedisServer(Options options) : options_(std::move(options)), port_(free_port()) {
    if (!options_.tls_cert_pem.empty()) {
        write_file(dir_.file("cert.pem"), options_.tls_cert_pem);
        write_file(dir_.file("key.pem"), options_.tls_key_pem);
    }
    start();
}

RedisServer::~RedisServer() { kill(); }

std::string RedisServer::url(int db) const {
    std::string auth = options_.password.empty() ? std::string() : ":" + options_.password + "@";
    return std::string(options_.tls_cert_pem.empty() ? "redis://" : "rediss://") + auth + "127.0.0.1:" +
           std::to_string(port_) + "/" + std::to_string(db);
}

void RedisServer::start() {
    kill();
    std::vector<std::string> args{"redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                  "--dir", dir_.path(), "--daemonize", "no", "--loglevel", "warning"};
    const auto port = std::to_string(port_);
    if (options_.tls_cert_pem.empty()) {
        args.insert(args.end(), {"--port", port});
    } else {
        args.insert(args.end(), {"--port", "0", "--tls-port", port, "--tls-cert-file", dir_.file("cert.pem"),
                                 "--tls-key-file", dir_.file("key.pem"), "--tls-ca-cert-file", dir_.file("cert.pem"),
                                 "--tls-auth-clients", "no"});
    }
    if (!options_.password.empty()) args.insert(args.end(), {"--requirepass", options_.password});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const auto log = dir_.file("redis.log");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        // A test that dies (an abort, a sanitizer's report) takes its Redis with it.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(out, 1);
        dup2(out, 2);
        close_range(3, ~0U, 0);
        execvp("redis-server", argv.data());
        _exit(127);
    }
    for (int i = 0; i < 500; ++i) {
        if (accepts(port_)) return;
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("redis-server exited: " + read_file(log));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("redis-server never took connections: " + read_file(log));
}

void RedisServer::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

}  // namespace nexus::testing
