#include "store/master_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/crypto.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace nexus::store {

std::string load_master_key(const std::string& configured, const std::string& data_dir, const std::string& db_path) {
    if (!configured.empty()) return configured;
    const auto path = (std::filesystem::path(data_dir) / "secret.key").string();
    if (std::filesystem::exists(path)) {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string text = ss.str();
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
        const auto key = core::from_hex(text);
        if (!key || key->size() != core::SecretBox::kKeySize) {
            throw std::runtime_error(path + " does not hold a 32-byte key as 64 hex characters");
        }
        return *key;
    }
    if (sqlite::SqliteStore::holds_secrets(db_path)) {
        throw std::runtime_error("the database " + db_path + " holds encrypted keys but " + path +
                                 " is missing: restore it or set NEXUS_SECRET; nothing was changed");
    }
    const std::string key = core::random_bytes(core::SecretBox::kKeySize);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + path);
    const std::string hex = core::to_hex(key) + "\n";
    const bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write " + path);
    return key;
}

}  // namespace nexus::store
