#include "store/store.hpp"

namespace nexus::store {

std::string mask_key(std::string_view key) {
    static constexpr std::string_view kMask = "********";
    std::string_view prefix;
    if (key.substr(0, 3) == "sk-") {
        prefix = key.substr(0, 3);
        key.remove_prefix(3);
    }
    if (key.size() < 12) return std::string(prefix) + std::string(kMask);
    return std::string(prefix) + std::string(key.substr(0, 4)) + "..." + std::string(key.substr(key.size() - 4));
}

void Store::on_change(std::function<void()> listener) {
    std::lock_guard lock(listeners_mutex_);
    listeners_.push_back(std::move(listener));
}

void Store::notify_change() {
    std::vector<std::function<void()>> copy;
    {
        std::lock_guard lock(listeners_mutex_);
        copy = listeners_;
    }
    for (const auto& l : copy) l();
}

}  // namespace nexus::store
