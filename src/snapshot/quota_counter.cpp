#include "snapshot/quota_counter.hpp"

#include <algorithm>

namespace nexus::snapshot {

bool QuotaCounter::reserve(std::int64_t want) {
    std::lock_guard lock(mutex_);
    if (stored_ >= 0 && want > std::max<std::int64_t>(stored_ - unwritten_ - reserved_, 0)) return false;
    reserved_ += want;
    return true;
}

void QuotaCounter::release(std::int64_t want) {
    std::lock_guard lock(mutex_);
    reserved_ -= want;
}

std::int64_t QuotaCounter::settle(std::int64_t want, std::int64_t quota) {
    std::lock_guard lock(mutex_);
    reserved_ -= want;
    auto taken = std::max<std::int64_t>(quota, 0);
    // (A user made limited while the call ran pays from what is left too.)
    if (stored_ >= 0) taken = std::min(taken, std::max<std::int64_t>(stored_ - unwritten_ - reserved_, 0));
    unwritten_ += taken;
    return taken;
}

void QuotaCounter::refund(std::int64_t quota) {
    std::lock_guard lock(mutex_);
    unwritten_ -= quota;
}

void QuotaCounter::set_stored(std::int64_t remain_quota) {
    std::lock_guard lock(mutex_);
    stored_ = remain_quota;
}

void QuotaCounter::written(std::int64_t quota) {
    std::lock_guard lock(mutex_);
    unwritten_ -= quota;
    if (stored_ >= 0) stored_ -= quota;
}

void QuotaCounter::dropped(std::int64_t quota) {
    std::lock_guard lock(mutex_);
    unwritten_ -= quota;
}

std::int64_t QuotaCounter::unwritten() const {
    std::lock_guard lock(mutex_);
    return unwritten_;
}

std::int64_t QuotaCounter::settled_left() const {
    std::lock_guard lock(mutex_);
    return stored_ < 0 ? -1 : std::max<std::int64_t>(0, stored_ - unwritten_);
}

}  // namespace nexus::snapshot
