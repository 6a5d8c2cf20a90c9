#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "store/rows.hpp"

struct pg_conn;

namespace nexus::store::postgres {

/// The channel every change to channels, tokens, users or prices is announced on, with the new
/// change version as its payload (triggers in the schema: migrations.hpp). The announcement is
/// part of the writing transaction, so it is heard only once the change is committed.
inline constexpr const char* kChangeChannel = "nexus_changes";

/// What another node changed, heard at once: a connection of its own that LISTENs on
/// kChangeChannel, on a thread of its own, calling `changed` for each announcement. Behind it, the
/// change version is read every `poll_every`, and a version that moved without an announcement
/// heard (a message lost with a connection) calls `changed` too; so does every connection, the
/// first included, since what happened before it listened is unknown. Nothing it does ever blocks its stop: every
/// wait also watches a stop descriptor, and the destructor returns at once.
class ChangeFeed final : public ChangeWatch {
public:
    ChangeFeed(std::string url, std::function<void()> changed, std::chrono::milliseconds poll_every);
    ~ChangeFeed() override;
    ChangeFeed(const ChangeFeed&) = delete;
    ChangeFeed& operator=(const ChangeFeed&) = delete;

private:
    enum class Wait { kReady, kTimeout, kStop };
    Wait wait_for(int fd, bool write, std::chrono::milliseconds timeout) const;
    bool connect(pg_conn*& conn, std::string& error) const;
    std::optional<std::string> query(pg_conn* conn, const char* sql) const;
    std::optional<std::int64_t> read_version(pg_conn* conn) const;
    /// Takes every announcement waiting on `conn`; whether there was one.
    bool take_announcements(pg_conn* conn, std::optional<std::int64_t>& seen) const;
    void run();

    std::string url_;
    std::function<void()> changed_;
    std::chrono::milliseconds poll_every_;
    int stop_fd_ = -1;
    std::thread thread_;
};

}  // namespace nexus::store::postgres
