#pragma once
#include "config/config.hpp"

namespace nexus::app {

/// Runs nexus-api with `config` until SIGTERM or SIGINT, then drains: stops accepting, lets
/// requests in flight finish for up to the shutdown grace, and returns 0. Throws on start-up
/// failure (port taken, bad channel URL) with a message for the operator.
int run(const config::Config& config);

/// main(): runs the command argv[1] names (backup, restore, rotate-secret, admin-key, user), or
/// else parses the configuration (printing one line naming the bad variable and returning 2
/// when it is invalid), sets up logging, and calls run().
int main(int argc, char** argv);

}  // namespace nexus::app
