#include "store/sync_counter.hpp"

#include <cstring>

namespace nexus::testing {

namespace {
SyncCounter* g_counter = nullptr;  // the one registered (SQLite's callbacks carry no context of ours)
}

// Our file: the real VFS's file follows it in the same allocation.
struct SyncCounter::File {
    sqlite3_file base;
    bool counted;
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
    static File* of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
};

namespace {

using File = SyncCounter::File;

int x_close(sqlite3_file* f) {
    const int rc = File::of(f)->real()->pMethods->xClose(File::of(f)->real());
    return rc;
}
int x_read(sqlite3_file* f, void* p, int n, sqlite3_int64 o) { return File::of(f)->real()->pMethods->xRead(File::of(f)->real(), p, n, o); }
int x_write(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
    return File::of(f)->real()->pMethods->xWrite(File::of(f)->real(), p, n, o);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 n) { return File::of(f)->real()->pMethods->xTruncate(File::of(f)->real(), n); }
int x_file_size(sqlite3_file* f, sqlite3_int64* n) { return File::of(f)->real()->pMethods->xFileSize(File::of(f)->real(), n); }
int x_lock(sqlite3_file* f, int l) { return File::of(f)->real()->pMethods->xLock(File::of(f)->real(), l); }
int x_unlock(sqlite3_file* f, int l) { return File::of(f)->real()->pMethods->xUnlock(File::of(f)->real(), l); }
int x_check(sqlite3_file* f, int* r) { return File::of(f)->real()->pMethods->xCheckReservedLock(File::of(f)->real(), r); }
int x_control(sqlite3_file* f, int op, void* a) { return File::of(f)->real()->pMethods->xFileControl(File::of(f)->real(), op, a); }
int x_sector(sqlite3_file* f) { return File::of(f)->real()->pMethods->xSectorSize(File::of(f)->real()); }
int x_device(sqlite3_file* f) { return File::of(f)->real()->pMethods->xDeviceCharacteristics(File::of(f)->real()); }
int x_shm_map(sqlite3_file* f, int i, int sz, int ext, void volatile** pp) {
    return File::of(f)->real()->pMethods->xShmMap(File::of(f)->real(), i, sz, ext, pp);
}
int x_shm_lock(sqlite3_file* f, int o, int n, int fl) { return File::of(f)->real()->pMethods->xShmLock(File::of(f)->real(), o, n, fl); }
void x_shm_barrier(sqlite3_file* f) { File::of(f)->real()->pMethods->xShmBarrier(File::of(f)->real()); }
int x_shm_unmap(sqlite3_file* f, int d) { return File::of(f)->real()->pMethods->xShmUnmap(File::of(f)->real(), d); }
int x_fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** pp) { return File::of(f)->real()->pMethods->xFetch(File::of(f)->real(), o, n, pp); }
int x_unfetch(sqlite3_file* f, sqlite3_int64 o, void* p) { return File::of(f)->real()->pMethods->xUnfetch(File::of(f)->real(), o, p); }

int x_sync(sqlite3_file* f, int flags);

const sqlite3_io_methods kMethods = {3,        x_close,     x_read,        x_write,     x_truncate, x_sync,
                                     x_file_size, x_lock,   x_unlock,      x_check,     x_control,  x_sector,
                                     x_device, x_shm_map,   x_shm_lock,    x_shm_barrier, x_shm_unmap, x_fetch,
                                     x_unfetch};

}  // namespace

int SyncCounter::open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
    auto* self = static_cast<SyncCounter*>(vfs->pAppData);
    auto* ours = File::of(file);
    const int rc = self->real_->xOpen(self->real_, name, ours->real(), flags, out_flags);
    if (rc != SQLITE_OK) {
        file->pMethods = nullptr;
        return rc;
    }
    if ((flags & SQLITE_OPEN_SUBJOURNAL) != 0) ++self->statement_journals_;
    const std::string n = name ? name : "";
    ours->counted = n.size() >= self->suffix_.size() && n.compare(n.size() - self->suffix_.size(), self->suffix_.size(), self->suffix_) == 0;
    file->pMethods = &kMethods;
    return SQLITE_OK;
}

namespace {
int x_sync(sqlite3_file* f, int flags) {
    if (File::of(f)->counted && g_counter != nullptr) g_counter->count_sync();
    return File::of(f)->real()->pMethods->xSync(File::of(f)->real(), flags);
}
}  // namespace

SyncCounter::SyncCounter(std::string suffix) : suffix_(std::move(suffix)) {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.zName = "nexus-sync-counter";
    vfs_.pAppData = this;
    vfs_.xOpen = &SyncCounter::open;
    g_counter = this;
    sqlite3_vfs_register(&vfs_, 1);
}

SyncCounter::~SyncCounter() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(real_, 1);
    g_counter = nullptr;
}

}  // namespace nexus::testing
