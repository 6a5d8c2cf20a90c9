#pragma once
#include <memory>

#include "redis/client.hpp"
#include "store/rows.hpp"

namespace nexus::store {

/// Sessions kept in Redis (NEXUS_REDIS_URL) rather than in the database, with the same contract as
/// the database's: every node sees a sign-in, a sign-out and a revocation at once, and the
/// database is not asked on every signed-in request. Each session is a hash
/// (nexus:session:<id hash>), listed by owner (a set) and by creation and last use (two sorted
/// sets, which prune() reads); each change is one Lua script, atomic in Redis. Used from the
/// database thread, which may wait: a blocking connection of its own, every call within 2 s.
/// Redis that cannot be reached throws Unavailable.
std::unique_ptr<SessionRows> make_redis_sessions(const redis::Url& url);

/// `backend` with its sessions in `sessions`: everything else is `backend`'s.
std::unique_ptr<Backend> with_sessions(std::unique_ptr<Backend> backend, std::unique_ptr<SessionRows> sessions);

}  // namespace nexus::store
