#pragma once
// The backends every store test runs on. Each opens through the one factory the server uses,
// store::open(config), on storage of its own that goes with it.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/crypto.hpp"
#include "store/open.hpp"
#include "support/nexus_process.hpp"
#include "support/redis_server.hpp"
#include "support/test_database.hpp"

namespace nexus::store::test {

/// A SQLite file in a temporary directory.
class SqliteBackend {
public:
    SqliteBackend() : key_(core::random_bytes(32)) {}
    std::unique_ptr<Store> open() const {
        config::Config config;
        config.data_dir = dir_.path();
        config.secret = key_;
        return store::open(config);
    }
    std::string path() const { return dir_.file("nexus.db"); }
    const std::string& key() const { return key_; }
    /// Every byte the backend keeps on disk.
    std::string raw_bytes() const {
        std::string all;
        for (const auto& e : std::filesystem::directory_iterator(dir_.path())) all += testing::read_file(e.path());
        return all;
    }

private:
    testing::TempDir dir_;
    std::string key_;
};

/// A database of its own on the tests' private PostgreSQL.
class PostgresBackend {
public:
    PostgresBackend() : key_(core::random_bytes(32)) {}
    std::unique_ptr<Store> open() const { return open_with(key_); }
    std::unique_ptr<Store> open_with(const std::string& key) const {
        config::Config config;
        config.data_dir = dir_.path();
        config.secret = key;
        config.database_url = database_.url();
        return store::open(config);
    }
    const std::string& url() const { return database_.url(); }
    const std::string& key() const { return key_; }
    /// Every value the database holds, every table's rows as text.
    std::string raw_bytes() const { return raw_bytes_of(database_); }
    static std::string raw_bytes_of(const testing::TestDatabase& database) {
        return database.query(
            "SELECT string_agg(t, E'\\n') FROM (SELECT query_to_xml('SELECT * FROM ' || quote_ident(table_name), "
            "true, false, '')::text AS t FROM information_schema.tables WHERE table_schema = 'public') AS tables");
    }
    const testing::TestDatabase& database() const { return database_; }

private:
    testing::TempDir dir_;
    testing::TestDatabase database_;
    std::string key_;
};

/// PostgreSQL with the sessions in Redis (NEXUS_REDIS_URL): a redis-server of its own.
class PostgresRedisBackend {
public:
    PostgresRedisBackend() : key_(core::random_bytes(32)) {}
    std::unique_ptr<Store> open() const {
        config::Config config;
        config.data_dir = dir_.path();
        config.secret = key_;
        config.database_url = database_.url();
        config.redis_url = redis_.url();
        return store::open(config);
    }
    const std::string& key() const { return key_; }
    std::string raw_bytes() const { return PostgresBackend::raw_bytes_of(database_); }

private:
    testing::TempDir dir_;
    testing::TestDatabase database_;
    testing::RedisServer redis_;
    std::string key_;
};

using Backends = ::testing::Types<SqliteBackend, PostgresBackend>;
/// Where accounts are kept: sessions in the database, or in Redis.
using AccountBackends = ::testing::Types<SqliteBackend, PostgresBackend, PostgresRedisBackend>;

/// The names the typed suites give each backend in their test names.
struct BackendNames {
    template <class T>
    static std::string GetName(int) {
        if (std::is_same_v<T, SqliteBackend>) return "Sqlite";
        return std::is_same_v<T, PostgresBackend> ? "Postgres" : "PostgresRedis";
    }
};

}  // namespace nexus::store::test
