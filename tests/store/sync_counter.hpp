#pragma once
// A SQLite VFS that counts syncs: it wraps the default VFS, forwards everything, and counts each
// xSync on a file whose name ends with `suffix` ("-wal"), and each statement journal it opens
// (a temporary file). Registered as the default VFS for as long as it lives, so a store opened
// meanwhile goes through it.
#include <sqlite3.h>

#include <atomic>
#include <string>

namespace nexus::testing {

class SyncCounter {
public:
    explicit SyncCounter(std::string suffix);
    ~SyncCounter();
    SyncCounter(const SyncCounter&) = delete;
    SyncCounter& operator=(const SyncCounter&) = delete;

    int syncs() const { return syncs_.load(); }
    /// Statement journals that outgrew SQLite's memory and were opened as files.
    int statement_journals() const { return statement_journals_.load(); }
    void count_sync() { ++syncs_; }
    struct File;

private:
    static int open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags);
    sqlite3_vfs vfs_{};
    sqlite3_vfs* real_ = nullptr;
    std::string suffix_;
    std::atomic<int> syncs_{0};
    std::atomic<int> statement_journals_{0};
};

}  // namespace nexus::testing
