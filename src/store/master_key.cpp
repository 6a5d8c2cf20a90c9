#include "store/master_key.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/crypto.hpp"
#include "store/sqlite/sqlite_file.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace nexus::store {

namespace {

std::string read_key_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
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

}  // namespace

void sync_directory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

std::string key_file(const std::string& data_dir) { return (std::filesystem::path(data_dir) / "secret.key").string(); }
std::string next_key_file(const std::string& data_dir) { return key_file(data_dir) + ".new"; }
std::string old_key_file(const std::string& data_dir, std::string_view fingerprint) {
    return key_file(data_dir) + ".old-" + std::string(fingerprint);
}

std::string key_fingerprint(std::string_view key) {
    std::string input = "nexus-api master key fingerprint:";
    input += key;
    return core::sha256_hex(input).substr(0, 16);
}

bool key_opens_database(std::string_view key, const std::string& db_path) {
    const auto sealed = sqlite::DatabaseFile(db_path).setting(kMasterKeyCheckSetting);
    if (!sealed) return true;
    const auto opened = core::SecretBox(key).open(*sealed);
    return opened && *opened == kMasterKeyCheckText;
}

void write_key_file(const std::string& path, std::string_view key) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + path + " (does it exist already?)");
    const std::string hex = core::to_hex(key) + "\n";
    const bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
        ::unlink(path.c_str());
        throw std::runtime_error("cannot write " + path);
    }
    sync_directory(std::filesystem::path(path).parent_path().string());
}

std::string settle_rotation(const std::string& data_dir, const std::string& db_path) {
    const auto next_path = next_key_file(data_dir);
    if (!std::filesystem::exists(next_path)) return {};
    const auto current_path = key_file(data_dir);
    const auto next = read_key_file(next_path);
    const bool current_opens = std::filesystem::exists(current_path) && std::filesystem::exists(db_path) &&
                               key_opens_database(read_key_file(current_path), db_path);
    if (current_opens) {
        // Cut short before its commit: the database is as it was, the old key stays.
        std::filesystem::remove(next_path);
        sync_directory(data_dir);
        return "an unfinished master-key rotation was rolled back: " + current_path + " is still the key";
    }
    if (!std::filesystem::exists(db_path) || !key_opens_database(next, db_path)) {
        throw std::runtime_error("neither " + current_path + " nor " + next_path + " opens the database " + db_path +
                                 "; nothing was changed");
    }
    // Cut short after its commit: the database is sealed with the new key; finish the move.
    if (std::filesystem::exists(current_path)) {
        std::filesystem::rename(current_path, old_key_file(data_dir, key_fingerprint(read_key_file(current_path))));
    }
    std::filesystem::rename(next_path, current_path);
    sync_directory(data_dir);
    return "an unfinished master-key rotation was completed: " + current_path + " now holds the new key";
}

std::optional<std::string> find_master_key(const std::string& configured, const std::string& data_dir) {
    if (!configured.empty()) return configured;
    const auto path = key_file(data_dir);
    if (!std::filesystem::exists(path)) return std::nullopt;
    return read_key_file(path);
}

std::string load_master_key(const std::string& configured, const std::string& data_dir, const std::string& db_path) {
    if (configured.empty()) {
        if (const auto settled = settle_rotation(data_dir, db_path); !settled.empty()) spdlog::warn("{}", settled);
    }
    if (auto key = find_master_key(configured, data_dir)) return *key;
    const auto path = key_file(data_dir);
    if (sqlite::SqliteStore::holds_secrets(db_path)) {
        throw std::runtime_error("the database " + db_path + " holds encrypted keys but " + path +
                                 " is missing: restore it or set NEXUS_SECRET; nothing was changed");
    }
    const std::string key = core::random_bytes(core::SecretBox::kKeySize);
    write_key_file(path, key);
    return key;
}

}  // namespace nexus::store
