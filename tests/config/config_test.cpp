#include "config/config.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace nexus::config {
namespace {

Config load_with(std::map<std::string, std::string> env, std::vector<const char*> args = {}) {
    std::vector<const char*> argv{"nexus-api"};
    argv.insert(argv.end(), args.begin(), args.end());
    return load(static_cast<int>(argv.size()), argv.data(), [env](const char* name) -> const char* {
        const auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

std::string error_of(std::map<std::string, std::string> env, std::vector<const char*> args = {}) {
    try {
        load_with(std::move(env), std::move(args));
    } catch (const ConfigError& e) {
        return e.what();
    }
    return {};
}

TEST(Config, Defaults) {
    const auto c = load_with({});
    EXPECT_EQ(c.port, 3000);
    EXPECT_EQ(c.data_dir, "./data");
    EXPECT_EQ(c.max_body_bytes, 32u << 20);
    EXPECT_EQ(c.shutdown_grace, std::chrono::seconds(30));
    EXPECT_EQ(c.siliconflow_base_url, "https://api.siliconflow.cn");
    EXPECT_TRUE(c.siliconflow_api_key.empty());
    EXPECT_EQ(c.threads, 0u);
}

TEST(Config, ReadsEnvironment) {
    const auto c = load_with({{"NEXUS_PORT", "8080"},
                              {"NEXUS_THREADS", "3"},
                              {"NEXUS_SHUTDOWN_GRACE_SECONDS", "1.5"},
                              {"NEXUS_MAX_BODY_BYTES", "1024"},
                              {"SILICONFLOW_API_KEY", "sk-x"},
                              {"NEXUS_ACCESS_LOG", "off"}});
    EXPECT_EQ(c.port, 8080);
    EXPECT_EQ(c.threads, 3u);
    EXPECT_EQ(c.shutdown_grace, std::chrono::milliseconds(1500));
    EXPECT_EQ(c.max_body_bytes, 1024u);
    EXPECT_EQ(c.siliconflow_api_key, "sk-x");
    EXPECT_FALSE(c.access_log);
}

TEST(Config, FlagsOverrideEnvironment) {
    const auto c = load_with({{"NEXUS_PORT", "8080"}}, {"--port", "9090", "--data-dir", "/tmp/d"});
    EXPECT_EQ(c.port, 9090);
    EXPECT_EQ(c.data_dir, "/tmp/d");
}

TEST(Config, BadValuesNameTheVariable) {
    EXPECT_NE(error_of({{"NEXUS_PORT", "abc"}}).find("NEXUS_PORT"), std::string::npos);
    EXPECT_NE(error_of({{"NEXUS_PORT", "70000"}}).find("NEXUS_PORT"), std::string::npos);
    EXPECT_NE(error_of({{"NEXUS_THREADS", "0"}}).find("NEXUS_THREADS"), std::string::npos);
    EXPECT_NE(error_of({{"NEXUS_MAX_BODY_BYTES", "-1"}}).find("NEXUS_MAX_BODY_BYTES"), std::string::npos);
    EXPECT_NE(error_of({{"NEXUS_SHUTDOWN_GRACE_SECONDS", "soon"}}).find("NEXUS_SHUTDOWN_GRACE_SECONDS"),
              std::string::npos);
    EXPECT_NE(error_of({{"SILICONFLOW_BASE_URL", "ftp://x"}}).find("SILICONFLOW_BASE_URL"), std::string::npos);
    EXPECT_NE(error_of({{"SILICONFLOW_BASE_URL", "http://127.0.0.1:99999999999999999999"}}).find("SILICONFLOW_BASE_URL"),
              std::string::npos);
    EXPECT_NE(error_of({{"NEXUS_LOG_LEVEL", "loud"}}).find("NEXUS_LOG_LEVEL"), std::string::npos);
    EXPECT_NE(error_of({{"NEXUS_ACCESS_LOG", "maybe"}}).find("NEXUS_ACCESS_LOG"), std::string::npos);
    EXPECT_NE(error_of({{"SILICONFLOW_API_KEY", "sk-abc\n"}}).find("SILICONFLOW_API_KEY"), std::string::npos);
    EXPECT_NE(error_of({{"SILICONFLOW_API_KEY", "sk-abc\r\nX-Evil: 1"}}).find("control"), std::string::npos);
    const auto flag_error = error_of({}, {"--port", "x"});
    EXPECT_NE(flag_error.find("--port"), std::string::npos);
    EXPECT_NE(flag_error.find("NEXUS_PORT"), std::string::npos);
}

TEST(Config, ErrorIsOneLine) {
    const auto e = error_of({{"SILICONFLOW_BASE_URL", "not a url\nat all"}});
    EXPECT_FALSE(e.empty());
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(Config, TableListsEveryOptionOnce) {
    const auto table = option_table();
    EXPECT_GE(table.size(), 20u);
    std::set<std::string> envs;
    for (const auto& o : table) EXPECT_TRUE(envs.insert(o.env).second) << o.env;
    EXPECT_TRUE(envs.contains("NEXUS_PORT"));
    EXPECT_TRUE(envs.contains("NEXUS_MAX_BODY_BYTES"));
}

// Busy polling is off unless asked for, in microseconds, and bounded: a thread must sleep at last.
TEST(Config, BusyPollingIsOffUnlessAskedForAndBounded) {
    EXPECT_EQ(load_with({}).busy_poll, std::chrono::microseconds(0));
    EXPECT_EQ(load_with({{"NEXUS_BUSY_POLL_MICROSECONDS", "50"}}).busy_poll, std::chrono::microseconds(50));
    EXPECT_EQ(load_with({}, {"--busy-poll", "200"}).busy_poll, std::chrono::microseconds(200));
    EXPECT_NE(error_of({{"NEXUS_BUSY_POLL_MICROSECONDS", "10001"}}).find("NEXUS_BUSY_POLL_MICROSECONDS"),
              std::string::npos);
    EXPECT_NE(error_of({{"NEXUS_BUSY_POLL_MICROSECONDS", "-1"}}).find("NEXUS_BUSY_POLL_MICROSECONDS"),
              std::string::npos);
    EXPECT_NE(error_of({{"NEXUS_BUSY_POLL_MICROSECONDS", "fast"}}).find("NEXUS_BUSY_POLL_MICROSECONDS"),
              std::string::npos);
}

// PostgreSQL is one URL; nodes that share it must share the master key, so it cannot come from one
// node's key file; and one server has one database.
TEST(Config, ADatabaseUrlNeedsTheSharedSecretAndIsTheOnlyDatabase) {
    const std::string secret(64, 'a');
    const auto config = load_with({{"NEXUS_DATABASE_URL", "postgresql://u:p@db:5432/nexus"}, {"NEXUS_SECRET", secret}});
    EXPECT_EQ(config.database_url, "postgresql://u:p@db:5432/nexus");
    EXPECT_NE(error_of({{"NEXUS_DATABASE_URL", "postgresql://u:p@db/nexus"}}).find("NEXUS_SECRET"), std::string::npos);
    EXPECT_NE(error_of({{"NEXUS_DATABASE_URL", "mysql://u:p@db/nexus"}, {"NEXUS_SECRET", secret}})
                  .find("NEXUS_DATABASE_URL"),
              std::string::npos);
    EXPECT_NE(error_of({{"NEXUS_DATABASE_URL", "postgres://db/nexus"}, {"NEXUS_SECRET", secret}, {"NEXUS_DB", "x.db"}})
                  .find("not both"),
              std::string::npos);
    EXPECT_NE(error_of({{"NEXUS_DB", "postgresql://db/nexus"}}).find("NEXUS_DATABASE_URL"), std::string::npos);
}

// Redis shares limits between nodes, and nodes share a PostgreSQL database.
TEST(Config, ARedisUrlIsForNodesThatShareADatabase) {
    const std::string secret(64, 'a');
    const auto config = load_with({{"NEXUS_DATABASE_URL", "postgresql://db/nexus"},
                                   {"NEXUS_SECRET", secret},
                                   {"NEXUS_REDIS_URL", "rediss://:pw@cache:6380/1"},
                                   {"NEXUS_REDIS_LEASE_SECONDS", "10"}});
    EXPECT_EQ(config.redis_url, "rediss://:pw@cache:6380/1");
    EXPECT_EQ(config.redis_lease, std::chrono::seconds(10));
    EXPECT_NE(error_of({{"NEXUS_REDIS_URL", "redis://cache"}}).find("NEXUS_DATABASE_URL"), std::string::npos);
    EXPECT_NE(error_of({{"NEXUS_DATABASE_URL", "postgresql://db/nexus"}, {"NEXUS_SECRET", secret},
                        {"NEXUS_REDIS_URL", "memcached://cache"}})
                  .find("NEXUS_REDIS_URL"),
              std::string::npos);
}

TEST(Config, AffinityCountIsPositive) { EXPECT_GE(affinity_cpu_count(), 1u); }

}  // namespace
}  // namespace nexus::config
