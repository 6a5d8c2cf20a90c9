#pragma once
// The SQLite schema, as the steps that build it: index i holds the step from version i to i + 1.
// A step is never edited once released; a change is a new step.
#include <iterator>

namespace nexus::store::sqlite {

/// The newest schema version this build knows.
inline constexpr int kSchemaVersion = 7;

inline constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE channels (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  key_encrypted TEXT NOT NULL,
  key_preview TEXT NOT NULL,
  base_url TEXT NOT NULL,
  models TEXT NOT NULL DEFAULT '[]',
  model_mapping TEXT NOT NULL DEFAULT '{}',
  priority INTEGER NOT NULL DEFAULT 0,
  weight INTEGER NOT NULL DEFAULT 1,
  status INTEGER NOT NULL DEFAULT 1,
  status_reason TEXT NOT NULL DEFAULT '',
  status_time INTEGER NOT NULL DEFAULT 0,
  created_time INTEGER NOT NULL,
  updated_time INTEGER NOT NULL,
  test_time INTEGER NOT NULL DEFAULT 0,
  response_time_ms INTEGER NOT NULL DEFAULT 0,
  used_tokens INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  key_preview TEXT NOT NULL,
  status INTEGER NOT NULL DEFAULT 1,
  user_id INTEGER NOT NULL DEFAULT 0,
  created_time INTEGER NOT NULL,
  accessed_time INTEGER NOT NULL DEFAULT 0,
  expired_time INTEGER NOT NULL DEFAULT -1,
  remain_quota INTEGER NOT NULL DEFAULT -1,
  used_quota INTEGER NOT NULL DEFAULT 0,
  models TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql",
    R"sql(
CREATE TABLE usage_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_time INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  token_id INTEGER NOT NULL,
  channel_id INTEGER NOT NULL,
  model TEXT NOT NULL,
  stream INTEGER NOT NULL,
  status INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  ttfb_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  total_tokens INTEGER NOT NULL
);
CREATE INDEX usage_logs_time ON usage_logs (created_time);
CREATE INDEX usage_logs_token ON usage_logs (token_id, created_time);
CREATE INDEX usage_logs_channel ON usage_logs (channel_id, created_time);
)sql",
    // v3: usage_logs without AUTOINCREMENT. Every relayed call inserts a row; AUTOINCREMENT's
    // sqlite_sequence upkeep made that insert about 40% dearer (issue 5's profile). Row ids
    // still only grow while the table holds rows.
    R"sql(
CREATE TABLE usage_logs_v3 (
  id INTEGER PRIMARY KEY,
  created_time INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  token_id INTEGER NOT NULL,
  channel_id INTEGER NOT NULL,
  model TEXT NOT NULL,
  stream INTEGER NOT NULL,
  status INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  ttfb_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  total_tokens INTEGER NOT NULL
);
INSERT INTO usage_logs_v3 SELECT * FROM usage_logs;
DROP TABLE usage_logs;
ALTER TABLE usage_logs_v3 RENAME TO usage_logs;
CREATE INDEX usage_logs_time ON usage_logs (created_time);
CREATE INDEX usage_logs_token ON usage_logs (token_id, created_time);
CREATE INDEX usage_logs_channel ON usage_logs (channel_id, created_time);
)sql",
    // v4: quotas, prices and per-token limits. A usage row carries what the call cost and the
    // price it was billed at; with the token's used_quota it is written in one transaction.
    R"sql(
ALTER TABLE tokens ADD COLUMN allow_ips TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tokens ADD COLUMN rpm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN tpm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN max_concurrency INTEGER NOT NULL DEFAULT 0;
CREATE TABLE prices (
  model TEXT PRIMARY KEY,
  input INTEGER NOT NULL,
  output INTEGER NOT NULL,
  cached_input INTEGER NOT NULL,
  per_request INTEGER NOT NULL,
  updated_time INTEGER NOT NULL
);
ALTER TABLE usage_logs ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_logs ADD COLUMN quota INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_logs ADD COLUMN price_input INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_logs ADD COLUMN price_output INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_logs ADD COLUMN price_cached_input INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_logs ADD COLUMN price_per_request INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_logs ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0;
)sql",
    // v5: users (a TOTP secret sealed like a channel key, recovery codes as SHA-256 hashes), their
    // sessions and the audit log. A usage row names the token's owner, who pays
    // for the call too; tokens and rows from before (user_id 0) go to root at its creation.
    R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL,
  status INTEGER NOT NULL DEFAULT 1,
  grp TEXT NOT NULL DEFAULT 'default',
  remain_quota INTEGER NOT NULL DEFAULT -1,
  used_quota INTEGER NOT NULL DEFAULT 0,
  created_time INTEGER NOT NULL,
  last_login_time INTEGER NOT NULL DEFAULT 0,
  password_hash TEXT NOT NULL,
  totp_sealed TEXT NOT NULL DEFAULT '',
  totp_enabled INTEGER NOT NULL DEFAULT 0,
  totp_last_step INTEGER NOT NULL DEFAULT 0,
  recovery_codes TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL,
  csrf_token TEXT NOT NULL,
  created_time INTEGER NOT NULL,
  seen_time INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE audit_logs (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  actor_id INTEGER NOT NULL,
  actor_name TEXT NOT NULL,
  action TEXT NOT NULL,
  object_type TEXT NOT NULL,
  object_id TEXT NOT NULL,
  fields TEXT NOT NULL,
  ip TEXT NOT NULL
);
CREATE INDEX audit_logs_time ON audit_logs (time);
CREATE INDEX tokens_user ON tokens (user_id);
ALTER TABLE usage_logs ADD COLUMN user_id INTEGER NOT NULL DEFAULT 0;
)sql",
    // v6: the ids of the usage batches written, so that a batch tried again after a failure whose
    // outcome was unclear is written once (rows and quota alike). Pruned with the rows.
    R"sql(
CREATE TABLE usage_batches (id TEXT PRIMARY KEY, created_time INTEGER NOT NULL) WITHOUT ROWID;
)sql",
    // v7: a quota epoch per token and per user, moved whenever an admin sets remain_quota: where
    // several nodes keep the quota left in Redis, a new epoch tells them to start from the new value.
    R"sql(
ALTER TABLE tokens ADD COLUMN quota_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN quota_epoch INTEGER NOT NULL DEFAULT 0;
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

}  // namespace nexus::store::sqlite
