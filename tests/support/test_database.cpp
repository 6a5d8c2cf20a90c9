#include "support/test_database.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "store/postgres/connection.hpp"

namespace nexus::testing {

std::string postgres_admin_url() {
    if (const char* url = std::getenv("NEXUS_TEST_DATABASE_URL"); url != nullptr && *url != '\0') return url;
    std::ifstream env(NEXUS_TEST_SERVERS_ENV);
    const std::string prefix = "NEXUS_TEST_DATABASE_URL=";
    for (std::string line; std::getline(env, line);) {
        if (line.starts_with(prefix)) return line.substr(prefix.size());
    }
    throw std::runtime_error(std::string("no test PostgreSQL: run the tests through ctest (its servers fixture writes ") +
                             NEXUS_TEST_SERVERS_ENV + ") or set NEXUS_TEST_DATABASE_URL");
}

namespace {

// The URL of database `name` on the server of `admin_url` (…/postgres): the same but the last segment.
std::string with_database(const std::string& admin_url, const std::string& name) {
    return admin_url.substr(0, admin_url.rfind('/') + 1) + name;
}

}  // namespace

TestDatabase::TestDatabase() {
    static std::atomic<int> counter{0};
    name_ = "nexus_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    const auto admin = postgres_admin_url();
    store::postgres::Connection c(admin);
    c.exec_script(("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)").c_str());
    c.exec_script(("CREATE DATABASE " + name_).c_str());
    url_ = with_database(admin, name_);
}

TestDatabase::~TestDatabase() {
    try {
        store::postgres::Connection c(postgres_admin_url());
        c.exec_script(("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)").c_str());
    } catch (const std::exception&) {
        // the server is gone already: its folder goes with the fixture's cleanup
    }
}

std::string TestDatabase::query(const std::string& sql) const {
    store::postgres::Connection c(url_);
    const auto result = c.exec_script(sql.c_str());
    return result.rows() > 0 ? result.at(0).text(0) : std::string();
}

}  // namespace nexus::testing
