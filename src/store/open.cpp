#include "store/open.hpp"

#include <filesystem>

#include "store/master_key.hpp"
#include "store/postgres/postgres_backend.hpp"
#include "store/redis_sessions.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace nexus::store {

std::string database_path(const config::Config& config) {
    return config.db.empty() ? (std::filesystem::path(config.data_dir) / "nexus.db").string() : config.db;
}

std::unique_ptr<Store> open(const config::Config& config) {
    if (uses_postgres(config)) {
        if (config.secret.empty()) throw std::runtime_error("a PostgreSQL database needs NEXUS_SECRET");
        std::unique_ptr<Backend> backend = std::make_unique<postgres::PostgresBackend>(config.database_url);
        if (!config.redis_url.empty()) {
            redis::Url url;
            try {
                url = redis::Url::parse(config.redis_url);
            } catch (const std::invalid_argument& e) {
                throw std::runtime_error(std::string("NEXUS_REDIS_URL: ") + e.what());
            }
            backend = with_sessions(std::move(backend), make_redis_sessions(url));
        }
        return std::make_unique<Store>(std::move(backend), core::SecretBox(config.secret));
    }
    // The data directory holds the database and the master key: owner only.
    std::filesystem::create_directories(config.data_dir);
    std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
    const std::string path = database_path(config);
    return std::make_unique<sqlite::SqliteStore>(path,
                                                 core::SecretBox(load_master_key(config.secret, config.data_dir, path)));
}

}  // namespace nexus::store
