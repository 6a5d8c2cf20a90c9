#include "store/store.hpp"

#include <boost/json.hpp>

#include "core/clock.hpp"

namespace nexus::store {

namespace json = boost::json;

namespace {

std::string models_json(const std::vector<std::string>& models) {
    json::array a;
    for (const auto& m : models) a.emplace_back(m);
    return json::serialize(a);
}

std::vector<std::string> models_from(const std::string& text) {
    std::vector<std::string> out;
    json::error_code ec;
    const auto v = json::parse(text, ec);
    if (!ec && v.is_array()) {
        for (const auto& m : v.as_array()) {
            if (m.is_string()) out.emplace_back(m.as_string());
        }
    }
    return out;
}

std::string mapping_json(const std::vector<std::pair<std::string, std::string>>& mapping) {
    json::object o;
    for (const auto& [from, to] : mapping) o[from] = to;
    return json::serialize(o);
}

std::vector<std::pair<std::string, std::string>> mapping_from(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    json::error_code ec;
    const auto v = json::parse(text, ec);
    if (!ec && v.is_object()) {
        for (const auto& [k, val] : v.as_object()) {
            if (val.is_string()) out.emplace_back(std::string(k), std::string(val.as_string()));
        }
    }
    return out;
}

Token token_of(const TokenRow& row) {
    Token t = row.token;
    t.models = models_from(row.models);
    t.allow_ips = models_from(row.allow_ips);
    return t;
}

TokenRow token_row_of(const Token& t) { return TokenRow{t, models_json(t.models), models_json(t.allow_ips)}; }

template <class Row, class Convert>
auto page_of(Page<Row> rows, Convert convert) {
    Page<decltype(convert(rows.items.front()))> out;
    out.total = rows.total;
    out.items.reserve(rows.items.size());
    for (const auto& r : rows.items) out.items.push_back(convert(r));
    return out;
}

}  // namespace

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

Store::Store(std::unique_ptr<Backend> backend, core::SecretBox secrets)
    : backend_(std::move(backend)), secrets_(std::move(secrets)) {
    check_master_key();
}

// The database remembers a value sealed with the master key it was first used with: another
// key does not open it, and start-up stops before anything is written.
void Store::check_master_key() {
    auto& settings = backend_->settings();
    // A new database takes this key's check, unless another node sharing it wrote one first.
    if (!settings.get(kMasterKeyCheckSetting)) settings.put_new(kMasterKeyCheckSetting, secrets_.seal(kMasterKeyCheckText));
    if (const auto sealed = settings.get(kMasterKeyCheckSetting)) {
        const auto opened = secrets_.open(*sealed);
        if (!opened || *opened != kMasterKeyCheckText) {
            throw std::runtime_error(
                "the master key does not open this database's secrets (wrong NEXUS_SECRET or secret.key); "
                "nothing was changed");
        }
        return;
    }
    throw std::runtime_error("the database lost its master-key check as it was written");
}

std::int64_t Store::rotate_master_key(core::SecretBox next) {
    const auto count = backend_->reseal([&](const std::string& sealed) {
        const auto plain = secrets_.open(sealed);
        if (!plain) throw std::runtime_error("a sealed value does not open with the current master key; nothing was changed");
        return next.seal(*plain);
    });
    secrets_ = std::move(next);
    return count;
}

Channel Store::channel_of(const ChannelRow& row) const {
    Channel c = row.channel;
    c.models = models_from(row.models);
    c.model_mapping = mapping_from(row.model_mapping);
    return c;
}

Channel Store::channel_with_key(const ChannelRow& row) const {
    auto c = channel_of(row);
    const auto key = secrets_.open(row.key_sealed);
    if (!key) throw std::runtime_error("channel " + std::to_string(c.id) + ": its key cannot be decrypted");
    c.key = *key;
    return c;
}

ChannelRow Store::row_of(const Channel& c) const {
    ChannelRow row{c, {}, models_json(c.models), mapping_json(c.model_mapping)};
    row.channel.key.clear();
    row.channel.models.clear();
    row.channel.model_mapping.clear();
    if (!c.key.empty()) {
        row.key_sealed = secrets_.seal(c.key);
        row.channel.key_preview = mask_key(c.key);
    }
    return row;
}

Page<Channel> Store::list_channels(const ListQuery& query) {
    return page_of(backend_->channels().list(query), [this](const ChannelRow& r) { return channel_of(r); });
}

std::optional<Channel> Store::get_channel(std::int64_t id) {
    const auto row = backend_->channels().get(id);
    return row ? std::optional<Channel>(channel_of(*row)) : std::nullopt;
}

Channel Store::insert_channel(const Channel& channel) {
    auto row = row_of(channel);
    row.channel.created_time = row.channel.updated_time = core::unix_seconds();
    const auto id = backend_->channels().insert(row);
    notify_change();
    return *get_channel(id);
}

std::optional<Channel> Store::update_channel(const Channel& c) {
    auto row = row_of(c);
    row.channel.updated_time = core::unix_seconds();
    if (!backend_->channels().update(row, !c.key.empty())) return std::nullopt;
    notify_change();
    return get_channel(c.id);
}

bool Store::delete_channel(std::int64_t id) {
    if (!backend_->channels().remove(id)) return false;
    notify_change();
    return true;
}

std::vector<Channel> Store::channels_with_keys() {
    std::vector<Channel> out;
    for (const auto& row : backend_->channels().all()) out.push_back(channel_with_key(row));
    return out;
}

std::optional<Channel> Store::get_channel_with_key(std::int64_t id) {
    const auto row = backend_->channels().get(id);
    return row ? std::optional<Channel>(channel_with_key(*row)) : std::nullopt;
}

Page<Token> Store::list_tokens(const ListQuery& query) { return page_of(backend_->tokens().list(query), token_of); }

std::optional<Token> Store::get_token(std::int64_t id) {
    const auto row = backend_->tokens().get(id);
    return row ? std::optional<Token>(token_of(*row)) : std::nullopt;
}

Token Store::insert_token(const Token& token) {
    auto row = token_row_of(token);
    row.token.created_time = core::unix_seconds();
    const auto id = backend_->tokens().insert(row);
    notify_change();
    return *get_token(id);
}

std::optional<Token> Store::update_token(const Token& token) {
    if (!backend_->tokens().update(token_row_of(token))) return std::nullopt;
    notify_change();
    return get_token(token.id);
}

bool Store::delete_token(std::int64_t id) {
    if (!backend_->tokens().remove(id)) return false;
    notify_change();
    return true;
}

std::vector<Token> Store::all_tokens() {
    std::vector<Token> out;
    for (const auto& row : backend_->tokens().all()) out.push_back(token_of(row));
    return out;
}

bool Store::set_channel_status(std::int64_t id, int status, std::string_view reason) {
    if (!backend_->channels().set_status(id, status, reason, core::unix_seconds())) return false;
    notify_change();
    return true;
}

bool Store::record_channel_test(std::int64_t id, std::int64_t response_time_ms) {
    return backend_->channels().record_test(id, response_time_ms, core::unix_seconds());
}

void Store::insert_usage(const std::vector<UsageRecord>& records, std::string_view batch_id) {
    if (!records.empty()) backend_->usage().insert(records, batch_id);
}

Page<UsageRecord> Store::list_usage(const UsageQuery& query) { return backend_->usage().list(query); }

std::int64_t Store::prune_usage(std::int64_t before) { return backend_->usage().prune(before); }

std::vector<UsageSummary> Store::summarize_usage(UsageGroup group, std::int64_t start, std::int64_t end,
                                                std::optional<std::int64_t> user_id) {
    return backend_->usage().summarize(group, start, end, user_id);
}

std::vector<ModelPrice> Store::all_prices() { return backend_->prices().all(); }

std::optional<ModelPrice> Store::get_price(std::string_view model) { return backend_->prices().get(model); }

ModelPrice Store::put_price(const ModelPrice& price) {
    ModelPrice stored = price;
    stored.updated_time = core::unix_seconds();
    backend_->prices().put(stored);
    notify_change();
    return stored;
}

bool Store::delete_price(std::string_view model) {
    if (!backend_->prices().remove(model)) return false;
    notify_change();
    return true;
}

void Store::touch_tokens(const std::vector<std::pair<std::int64_t, std::int64_t>>& accessed) {
    if (!accessed.empty()) backend_->tokens().touch(accessed);
}

std::optional<std::string> Store::get_setting(std::string_view name) { return backend_->settings().get(name); }

void Store::put_setting(std::string_view name, std::string_view value) { backend_->settings().put(name, value); }

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

Page<User> Store::list_users(const UserQuery& query) { return backend_->users().list(query); }
std::optional<User> Store::get_user(std::int64_t id) { return backend_->users().get(id); }
std::optional<User> Store::find_user(std::string_view username) { return backend_->users().find(username); }
std::vector<User> Store::all_users() { return backend_->users().all(); }
std::int64_t Store::count_users() { return backend_->users().count(); }

User Store::insert_user(const User& user) {
    User row = user;
    row.created_time = core::unix_seconds();
    const auto id = backend_->users().insert(row);
    notify_change();
    return *get_user(id);
}

std::optional<User> Store::update_user(const User& user) {
    if (!backend_->users().update(user)) return std::nullopt;
    notify_change();
    return get_user(user.id);
}

bool Store::set_user_password(std::int64_t id, std::string_view password_hash) {
    return backend_->users().set_password(id, password_hash);
}

void Store::record_login(std::int64_t id) { backend_->users().set_login_time(id, core::unix_seconds()); }

std::optional<Totp> Store::get_totp(std::int64_t id) {
    const auto row = backend_->users().totp(id);
    if (!row) return std::nullopt;
    Totp t;
    if (!row->secret_sealed.empty()) {
        auto secret = secrets_.open(row->secret_sealed);
        if (!secret) throw std::runtime_error("database: a TOTP secret does not open with the master key");
        t.secret = std::move(*secret);
    }
    t.enabled = row->enabled;
    t.last_step = row->last_step;
    t.recovery_hashes = models_from(row->recovery_hashes);
    return t;
}

bool Store::put_totp(std::int64_t id, const Totp& t) {
    const TotpRow row{t.secret.empty() ? std::string() : secrets_.seal(t.secret), t.enabled, t.last_step,
                      models_json(t.recovery_hashes)};
    return backend_->users().set_totp(id, row);
}

bool Store::delete_user(std::int64_t id) {
    if (!backend_->users().remove(id)) return false;
    // A database that keeps the sessions ended them with the user; sessions kept elsewhere (Redis)
    // end here.
    backend_->sessions().remove_user(id, {});
    notify_change();
    return true;
}

void Store::adopt_orphans(std::int64_t owner) {
    backend_->users().adopt_orphans(owner);
    notify_change();
}

void Store::insert_session(const Session& session) { backend_->sessions().insert(session); }
std::optional<Session> Store::get_session(std::string_view id_hash) { return backend_->sessions().get(id_hash); }
void Store::touch_session(std::string_view id_hash, std::int64_t time) { backend_->sessions().touch(id_hash, time); }
bool Store::delete_session(std::string_view id_hash) { return backend_->sessions().remove(id_hash); }
std::int64_t Store::end_sessions(std::int64_t user_id, std::string_view keep) {
    return backend_->sessions().remove_user(user_id, keep);
}
std::int64_t Store::prune_sessions(std::int64_t created_before, std::int64_t seen_before) {
    return backend_->sessions().prune(created_before, seen_before);
}

void Store::audit(const AuditEntry& entry) { backend_->audit().insert(AuditRow{entry, models_json(entry.fields)}); }

Page<AuditEntry> Store::list_audit(const AuditQuery& query) {
    return page_of(backend_->audit().list(query), [](const AuditRow& row) {
        AuditEntry e = row.entry;
        e.fields = models_from(row.fields);
        return e;
    });
}

}  // namespace nexus::store
