#include "store/database_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

namespace nexus::store {

DatabaseLock::DatabaseLock(const std::string& database_path) {
    const auto path = database_path + ".lock";
    // A first start: the data directory may not be there yet (store::open sets its mode).
    std::filesystem::create_directories(std::filesystem::absolute(database_path).parent_path());
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw std::runtime_error("cannot open the lock file " + path);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        // The holder wrote its pid into the file when it took the lock.
        char pid[32] = {};
        const auto n = ::pread(fd_, pid, sizeof(pid) - 1, 0);
        ::close(fd_);
        fd_ = -1;
        std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : std::string();
        while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
        throw std::runtime_error("the database " + database_path + " is in use by nexus-api" +
                                 (holder.empty() ? std::string() : " (pid " + holder + ")") + "; stop it first");
    }
    // The pid is only for the message above: the lock holds whether or not it is written.
    const auto text = std::to_string(::getpid()) + "\n";
    [[maybe_unused]] const bool written =
        ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
}

DatabaseLock::~DatabaseLock() {
    if (fd_ >= 0) ::close(fd_);  // closing drops the lock
}

}  // namespace nexus::store
