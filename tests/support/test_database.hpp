#pragma once
#include <string>

namespace nexus::testing {

/// The URL of the maintenance database of the private PostgreSQL that ctest's `servers` fixture
/// started (tests/servers/test_servers.sh), or of NEXUS_TEST_DATABASE_URL when that is set. Fails
/// the calling test (an exception) when there is none: a test that needs PostgreSQL never passes
/// without it.
std::string postgres_admin_url();

/// A new, empty database of its own on that server, dropped (its connections ended) when this goes.
class TestDatabase {
public:
    TestDatabase();
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;
    /// postgresql://… of this database.
    const std::string& url() const { return url_; }
    /// Runs `sql` (statements separated by ';') on this database, as the tests' superuser, on a
    /// connection of its own; the first column of the last statement's first row, if any.
    std::string query(const std::string& sql) const;

private:
    std::string name_;
    std::string url_;
};

}  // namespace nexus::testing
