#pragma once
#include <string>

namespace nexus::store {

/// Who may change a database file: the one process that holds its lock, a `flock` on
/// `<database>.lock` beside it. The server holds it while it runs; so do the commands that must
/// not run beside it (restore, rotate-secret, admin-key --reset). The kernel drops the lock when
/// its holder dies, `kill -9` included, so a crash never leaves a stale lock behind.
class DatabaseLock {
public:
    /// Takes the lock of the database at `database_path`, or throws std::runtime_error naming
    /// the process that holds it ("… is in use by nexus-api (pid N) …"), without waiting.
    explicit DatabaseLock(const std::string& database_path);
    ~DatabaseLock();
    DatabaseLock(const DatabaseLock&) = delete;
    DatabaseLock& operator=(const DatabaseLock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace nexus::store
