// The SQLite backend's accounts: users, their sessions, and the audit log of /api writes.
#include "store/columns.hpp"
#include "store/sqlite/sqlite_backend.hpp"
#include "store/sqlite/statement.hpp"

namespace nexus::store::sqlite {

namespace {

using Connection = SqliteBackend::Connection;

constexpr const char* kUserColumns = columns::kUser;
constexpr auto user_from = columns::user_from<Statement>;

class Users final : public UserRows {
public:
    explicit Users(Connection& c) : c_(c) {}

    Page<User> list(const UserQuery& q) override {
        std::lock_guard lock(c_.mutex);
        Filters f;
        if (q.status) f.add("status = ?", {std::int64_t{*q.status}});
        if (!q.role.empty()) f.add("role = ?", {q.role});
        if (!q.name_contains.empty()) {
            f.add("(instr(lower(username), lower(?)) > 0 OR instr(display_name, ?) > 0)", {q.name_contains, q.name_contains});
        }
        return select_page<User>(c_.db, kUserColumns, "users", f, "id", q.page, q.page_size, user_from);
    }
    std::optional<User> get(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?");
        s.bind(1, id);
        if (!s.step()) return std::nullopt;
        return user_from(s);
    }
    std::optional<User> find(std::string_view username) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, std::string("SELECT ") + kUserColumns + " FROM users WHERE username = ?");
        s.bind(1, username);
        if (!s.step()) return std::nullopt;
        return user_from(s);
    }
    std::vector<User> all() override {
        std::lock_guard lock(c_.mutex);
        std::vector<User> out;
        Statement s(c_.db, std::string("SELECT ") + kUserColumns + " FROM users ORDER BY id");
        while (s.step()) out.push_back(user_from(s));
        return out;
    }
    std::int64_t count() override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "SELECT count(*) FROM users");
        s.step();
        return s.integer(0);
    }
    std::int64_t insert(const User& u) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db,
                    "INSERT INTO users (username, display_name, role, status, grp, remain_quota, created_time, "
                    "password_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        s.bind(1, u.username).bind(2, u.display_name).bind(3, u.role).bind(4, static_cast<std::int64_t>(u.status));
        s.bind(5, u.group).bind(6, u.remain_quota).bind(7, u.created_time).bind(8, u.password_hash);
        s.step();
        return sqlite3_last_insert_rowid(c_.db);
    }
    bool update(const User& u) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db,
                    "UPDATE users SET display_name = ?, role = ?, status = ?, grp = ?, "
                    "quota_epoch = quota_epoch + (remain_quota <> ?5), remain_quota = ?5 WHERE id = ?");
        s.bind(1, u.display_name).bind(2, u.role).bind(3, static_cast<std::int64_t>(u.status)).bind(4, u.group);
        s.bind(5, u.remain_quota).bind(6, u.id).step();
        return sqlite3_changes(c_.db) > 0;
    }
    bool set_password(std::int64_t id, std::string_view password_hash) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "UPDATE users SET password_hash = ? WHERE id = ?");
        s.bind(1, password_hash).bind(2, id).step();
        return sqlite3_changes(c_.db) > 0;
    }
    void set_login_time(std::int64_t id, std::int64_t time) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "UPDATE users SET last_login_time = ? WHERE id = ?");
        s.bind(1, time).bind(2, id).step();
    }
    std::optional<TotpRow> totp(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "SELECT totp_sealed, totp_enabled, totp_last_step, recovery_codes FROM users WHERE id = ?");
        s.bind(1, id);
        if (!s.step()) return std::nullopt;
        return TotpRow{s.text(0), s.integer(1) != 0, s.integer(2), s.text(3)};
    }
    bool set_totp(std::int64_t id, const TotpRow& t) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db,
                    "UPDATE users SET totp_sealed = ?, totp_enabled = ?, totp_last_step = ?, recovery_codes = ? "
                    "WHERE id = ?");
        s.bind(1, t.secret_sealed).bind(2, static_cast<std::int64_t>(t.enabled)).bind(3, t.last_step);
        s.bind(4, t.recovery_hashes).bind(5, id).step();
        return sqlite3_changes(c_.db) > 0;
    }
    bool remove(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        Transaction tx(c_.db, Transaction::Sync::kFull);  // no token may outlive its owner
        Statement user(c_.db, "DELETE FROM users WHERE id = ?");
        user.bind(1, id).step();
        if (sqlite3_changes(c_.db) == 0) return false;
        Statement tokens(c_.db, "DELETE FROM tokens WHERE user_id = ?");
        tokens.bind(1, id).step();
        Statement sessions(c_.db, "DELETE FROM sessions WHERE user_id = ?");
        sessions.bind(1, id).step();
        tx.commit();
        return true;
    }
    void adopt_orphans(std::int64_t owner) override {
        std::lock_guard lock(c_.mutex);
        Transaction tx(c_.db, Transaction::Sync::kFull);
        Statement tokens(c_.db, "UPDATE tokens SET user_id = ? WHERE user_id = 0");
        tokens.bind(1, owner).step();
        Statement usage(c_.db, "UPDATE usage_logs SET user_id = ? WHERE user_id = 0");
        usage.bind(1, owner).step();
        tx.commit();
    }

private:
    Connection& c_;
};

constexpr const char* kSessionColumns = columns::kSession;

class Sessions final : public SessionRows {
public:
    explicit Sessions(Connection& c) : c_(c) {}

    void insert(const Session& v) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, std::string("INSERT INTO sessions (") + kSessionColumns + ") VALUES (?, ?, ?, ?, ?)");
        s.bind(1, v.id_hash).bind(2, v.user_id).bind(3, v.csrf_token).bind(4, v.created_time).bind(5, v.seen_time);
        s.step();
    }
    std::optional<Session> get(std::string_view id_hash) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE id_hash = ?");
        s.bind(1, id_hash);
        if (!s.step()) return std::nullopt;
        return columns::session_from(s);
    }
    void touch(std::string_view id_hash, std::int64_t time) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "UPDATE sessions SET seen_time = ? WHERE id_hash = ?");
        s.bind(1, time).bind(2, id_hash).step();
    }
    bool remove(std::string_view id_hash) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "DELETE FROM sessions WHERE id_hash = ?");
        s.bind(1, id_hash).step();
        return sqlite3_changes(c_.db) > 0;
    }
    std::int64_t remove_user(std::int64_t user_id, std::string_view keep) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?");
        s.bind(1, user_id).bind(2, keep).step();
        return sqlite3_changes(c_.db);
    }
    std::int64_t prune(std::int64_t created_before, std::int64_t seen_before) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "DELETE FROM sessions WHERE created_time < ? OR seen_time < ?");
        s.bind(1, created_before).bind(2, seen_before).step();
        return sqlite3_changes(c_.db);
    }

private:
    Connection& c_;
};

constexpr const char* kAuditColumns = columns::kAudit;

class Audit final : public AuditRows {
public:
    explicit Audit(Connection& c) : c_(c) {}

    void insert(const AuditRow& row) override {
        std::lock_guard lock(c_.mutex);
        const auto& e = row.entry;
        Statement s(c_.db,
                    "INSERT INTO audit_logs (time, actor_id, actor_name, action, object_type, object_id, fields, ip) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        s.bind(1, e.time).bind(2, e.actor_id).bind(3, e.actor_name).bind(4, e.action).bind(5, e.object_type);
        s.bind(6, e.object_id).bind(7, row.fields).bind(8, e.ip).step();
    }
    Page<AuditRow> list(const AuditQuery& q) override {
        std::lock_guard lock(c_.mutex);
        Filters f;
        if (q.actor_id) f.add("actor_id = ?", {*q.actor_id});
        if (!q.object_type.empty()) f.add("object_type = ?", {q.object_type});
        if (!q.object_id.empty()) f.add("object_id = ?", {q.object_id});
        if (q.start_time) f.add("time >= ?", {*q.start_time});
        if (q.end_time) f.add("time <= ?", {*q.end_time});
        return select_page<AuditRow>(c_.db, kAuditColumns, "audit_logs", f, "id DESC", q.page, q.page_size,
                                     columns::audit_from<Statement>);
    }

private:
    Connection& c_;
};

}  // namespace

std::unique_ptr<UserRows> make_user_rows(Connection& c) { return std::make_unique<Users>(c); }
std::unique_ptr<SessionRows> make_session_rows(Connection& c) { return std::make_unique<Sessions>(c); }
std::unique_ptr<AuditRows> make_audit_rows(Connection& c) { return std::make_unique<Audit>(c); }

}  // namespace nexus::store::sqlite
