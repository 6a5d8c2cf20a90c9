// The mock SiliconFlow upstream as a program, for test clients outside C++ (the OpenAI SDK
// suite) and for the stream benchmark. Prints "port <n>" once it listens; runs until SIGINT or
// SIGTERM.
//
//   nexus-mock-upstream [--port N] [--key K]...   (the first --key replaces the default key)
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "support/mock_upstream.hpp"

int main(int argc, char** argv) {
    nexus::testing::MockUpstream::Options options;
    bool first_key = true;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        if (flag == "--port") {
            options.port = static_cast<std::uint16_t>(std::atoi(argv[i + 1]));
        } else if (flag == "--key") {
            if (first_key) {
                options.good_key = argv[i + 1];
                first_key = false;
            } else {
                options.other_good_keys.emplace_back(argv[i + 1]);
            }
        } else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before the server thread starts: it inherits the mask

    nexus::testing::MockUpstream mock(options);
    std::printf("port %u\n", static_cast<unsigned>(mock.port()));
    std::fflush(stdout);
    int received = 0;
    sigwait(&signals, &received);
    return 0;
}
