// The PostgreSQL backend's accounts: users, their sessions, and the audit log of /api writes.
#include "store/columns.hpp"
#include "store/postgres/postgres_backend.hpp"

namespace nexus::store::postgres {

namespace {

constexpr auto user_from = columns::user_from<Result::Row>;

class Users final : public UserRows {
public:
    explicit Users(Connection& c) : c_(c) {}

    Page<User> list(const UserQuery& q) override {
        std::lock_guard lock(c_.mutex);
        Filters f;
        if (q.status) f.add("status = ?", std::int64_t{*q.status});
        if (!q.role.empty()) f.add("role = ?", q.role);
        if (!q.name_contains.empty()) {
            f.add("(strpos(lower(username), lower(?)) > 0 OR strpos(display_name, ?) > 0)", q.name_contains,
                  q.name_contains);
        }
        return select_page<User>(c_, columns::kUser, "users", f, "id", q.page, q.page_size, user_from);
    }
    std::optional<User> get(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        return one(c_.exec(std::string("SELECT ") + columns::kUser + " FROM users WHERE id = $1", Params().add(id)));
    }
    std::optional<User> find(std::string_view username) override {
        std::lock_guard lock(c_.mutex);
        return one(c_.exec(std::string("SELECT ") + columns::kUser + " FROM users WHERE lower(username) = lower($1)",
                           Params().add(username)));
    }
    std::vector<User> all() override {
        std::lock_guard lock(c_.mutex);
        const auto result = c_.exec(std::string("SELECT ") + columns::kUser + " FROM users ORDER BY id");
        std::vector<User> out;
        for (int r = 0; r < result.rows(); ++r) out.push_back(user_from(result.at(r)));
        return out;
    }
    std::int64_t count() override {
        std::lock_guard lock(c_.mutex);
        return c_.exec("SELECT count(*) FROM users").at(0).integer(0);
    }
    std::int64_t insert(const User& u) override {
        std::lock_guard lock(c_.mutex);
        Params p;
        p.add(u.username).add(u.display_name).add(u.role).add(std::int64_t{u.status}).add(u.group);
        p.add(u.remain_quota).add(u.created_time).add(u.password_hash);
        return c_.exec("INSERT INTO users (username, display_name, role, status, grp, remain_quota, created_time, "
                       "password_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                       p)
            .at(0)
            .integer(0);
    }
    bool update(const User& u) override {
        std::lock_guard lock(c_.mutex);
        Params p;
        p.add(u.display_name).add(u.role).add(std::int64_t{u.status}).add(u.group).add(u.remain_quota).add(u.id);
        return c_.exec("UPDATE users SET display_name = $1, role = $2, status = $3, grp = $4, remain_quota = $5, "
                       "quota_epoch = quota_epoch + CASE WHEN remain_quota <> $5 THEN 1 ELSE 0 END WHERE id = $6",
                       p)
                   .affected() > 0;
    }
    bool set_password(std::int64_t id, std::string_view password_hash) override {
        std::lock_guard lock(c_.mutex);
        return c_.exec("UPDATE users SET password_hash = $1 WHERE id = $2", Params().add(password_hash).add(id))
                   .affected() > 0;
    }
    void set_login_time(std::int64_t id, std::int64_t time) override {
        std::lock_guard lock(c_.mutex);
        c_.exec("UPDATE users SET last_login_time = $1 WHERE id = $2", Params().add(time).add(id));
    }
    std::optional<TotpRow> totp(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        const auto result = c_.exec(
            "SELECT totp_sealed, totp_enabled, totp_last_step, recovery_codes FROM users WHERE id = $1", Params().add(id));
        if (result.rows() == 0) return std::nullopt;
        const auto s = result.at(0);
        return TotpRow{s.text(0), s.integer(1) != 0, s.integer(2), s.text(3)};
    }
    bool set_totp(std::int64_t id, const TotpRow& t) override {
        std::lock_guard lock(c_.mutex);
        Params p;
        p.add(t.secret_sealed).add(std::int64_t{t.enabled}).add(t.last_step).add(t.recovery_hashes).add(id);
        return c_.exec("UPDATE users SET totp_sealed = $1, totp_enabled = $2, totp_last_step = $3, recovery_codes = $4 "
                       "WHERE id = $5",
                       p)
                   .affected() > 0;
    }
    bool remove(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        Transaction tx(c_);  // no token may outlive its owner
        if (c_.exec("DELETE FROM users WHERE id = $1", Params().add(id)).affected() == 0) return false;
        c_.exec("DELETE FROM tokens WHERE user_id = $1", Params().add(id));
        c_.exec("DELETE FROM sessions WHERE user_id = $1", Params().add(id));
        tx.commit();
        return true;
    }
    void adopt_orphans(std::int64_t owner) override {
        std::lock_guard lock(c_.mutex);
        Transaction tx(c_);
        c_.exec("UPDATE tokens SET user_id = $1 WHERE user_id = 0", Params().add(owner));
        c_.exec("UPDATE usage_logs SET user_id = $1 WHERE user_id = 0", Params().add(owner));
        tx.commit();
    }

private:
    static std::optional<User> one(const Result& result) {
        if (result.rows() == 0) return std::nullopt;
        return user_from(result.at(0));
    }

    Connection& c_;
};

class Sessions final : public SessionRows {
public:
    explicit Sessions(Connection& c) : c_(c) {}

    void insert(const Session& v) override {
        std::lock_guard lock(c_.mutex);
        c_.exec(std::string("INSERT INTO sessions (") + columns::kSession + ") VALUES ($1, $2, $3, $4, $5)",
                Params().add(v.id_hash).add(v.user_id).add(v.csrf_token).add(v.created_time).add(v.seen_time));
    }
    std::optional<Session> get(std::string_view id_hash) override {
        std::lock_guard lock(c_.mutex);
        const auto result = c_.exec(std::string("SELECT ") + columns::kSession + " FROM sessions WHERE id_hash = $1",
                                    Params().add(id_hash));
        if (result.rows() == 0) return std::nullopt;
        return columns::session_from(result.at(0));
    }
    void touch(std::string_view id_hash, std::int64_t time) override {
        std::lock_guard lock(c_.mutex);
        c_.exec("UPDATE sessions SET seen_time = $1 WHERE id_hash = $2", Params().add(time).add(id_hash));
    }
    bool remove(std::string_view id_hash) override {
        std::lock_guard lock(c_.mutex);
        return c_.exec("DELETE FROM sessions WHERE id_hash = $1", Params().add(id_hash)).affected() > 0;
    }
    std::int64_t remove_user(std::int64_t user_id, std::string_view keep) override {
        std::lock_guard lock(c_.mutex);
        return c_.exec("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2", Params().add(user_id).add(keep))
            .affected();
    }
    std::int64_t prune(std::int64_t created_before, std::int64_t seen_before) override {
        std::lock_guard lock(c_.mutex);
        return c_.exec("DELETE FROM sessions WHERE created_time < $1 OR seen_time < $2",
                       Params().add(created_before).add(seen_before))
            .affected();
    }

private:
    Connection& c_;
};

class Audit final : public AuditRows {
public:
    explicit Audit(Connection& c) : c_(c) {}

    void insert(const AuditRow& row) override {
        std::lock_guard lock(c_.mutex);
        const auto& e = row.entry;
        Params p;
        p.add(e.time).add(e.actor_id).add(e.actor_name).add(e.action).add(e.object_type).add(e.object_id);
        p.add(row.fields).add(e.ip);
        c_.exec("INSERT INTO audit_logs (time, actor_id, actor_name, action, object_type, object_id, fields, ip) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                p);
    }
    Page<AuditRow> list(const AuditQuery& q) override {
        std::lock_guard lock(c_.mutex);
        Filters f;
        if (q.actor_id) f.add("actor_id = ?", *q.actor_id);
        if (!q.object_type.empty()) f.add("object_type = ?", q.object_type);
        if (!q.object_id.empty()) f.add("object_id = ?", q.object_id);
        if (q.start_time) f.add("time >= ?", *q.start_time);
        if (q.end_time) f.add("time <= ?", *q.end_time);
        return select_page<AuditRow>(c_, columns::kAudit, "audit_logs", f, "id DESC", q.page, q.page_size,
                                     columns::audit_from<Result::Row>);
    }

private:
    Connection& c_;
};

}  // namespace

std::unique_ptr<UserRows> make_user_rows(Connection& c) { return std::make_unique<Users>(c); }
std::unique_ptr<SessionRows> make_session_rows(Connection& c) { return std::make_unique<Sessions>(c); }
std::unique_ptr<AuditRows> make_audit_rows(Connection& c) { return std::make_unique<Audit>(c); }

}  // namespace nexus::store::postgres
