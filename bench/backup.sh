#!/usr/bin/env bash
# What `nexus-api backup` costs while nexus-api serves: a database with ROWS usage records (one
# million unless told), chat calls from wrk (16 connections) against the mock upstream for 10 s
# without a backup, then 10 s with a backup taken 3 s in.
#
#   bench/backup.sh [build-dir] [rows]        (needs wrk and sqlite3: make bench-deps)
#
# Prints the records in the backup (the ROWS and the calls served before it), its time and size, and the calls/s and latency
# percentiles of both runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[[ $build == /* ]] || build="$(dirname "$here")/$build"
rows=${2:-1000000}
. "$here/common.sh"
make_workdir

"$build/nexus-mock-upstream" --port 18199 --key sk-backup-key >"$work/mock.out" &
sleep 0.3
admin=backup-admin-key-0123456789
data="$work/data"
write_chat_lua "$work/chat.lua" sk-backup-token-0123

start_nexus() {
  NEXUS_DATA_DIR="$data" NEXUS_PORT=18198 NEXUS_HOST=127.0.0.1 NEXUS_ADMIN_KEY=$admin NEXUS_ACCESS_LOG=false \
    SILICONFLOW_API_KEY=sk-backup-key SILICONFLOW_BASE_URL=http://127.0.0.1:18199 \
    "$build/nexus-api" >/dev/null 2>>"$work/nexus.err" &
  nexus_pid=$!
  for _ in $(seq 200); do curl -sf http://127.0.0.1:18198/healthz >/dev/null && return; sleep 0.05; done
}

# 1. A database with its token, then ROWS usage records of the last 20 days written straight in.
start_nexus
curl -sf -XPOST http://127.0.0.1:18198/api/token -H "Authorization: Bearer $admin" \
  -d '{"name":"backup","key":"sk-backup-token-0123"}' >/dev/null
kill "$nexus_pid"; wait "$nexus_pid" || true
sqlite3 "$data/nexus.db" <<SQL >/dev/null
PRAGMA journal_mode=WAL;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO usage_logs (created_time, request_id, token_id, channel_id, model, stream, status, latency_ms, ttfb_ms,
                        attempts, prompt_tokens, completion_tokens, total_tokens, quota, user_id)
SELECT strftime('%s', 'now') - (i * 1.7) % 1728000, lower(hex(randomblob(16))), 1, 1, 'Qwen/Qwen2.5-7B-Instruct',
       i % 2, 200, 800 + i % 900, 200 + i % 300, 1, 20 + i % 500, 100 + i % 2000, 120 + i % 2500, i % 5000, 1
FROM n;
SQL
start_nexus
db_mib=$(du -m "$data/nexus.db" | cut -f1)

# 2. Ten seconds of calls without a backup, then ten with one started 3 s in.
run_wrk() { wrk -t1 -c16 -d10s --latency -s "$work/chat.lua" http://127.0.0.1:18198/v1/chat/completions; }
run_wrk >"$work/plain.out"
run_wrk >"$work/backup.out" &
wrk_pid=$!
sleep 3
started=$(date +%s%N)
"$build/nexus-api" backup --data-dir "$data" --to "$work/backup.db" >"$work/backup.txt"
ended=$(date +%s%N)
wait "$wrk_pid"
kill "$nexus_pid"; wait "$nexus_pid" || true

summary() {  # wrk output → "calls/s p50 p99"
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {printf "%10.0f %9s %9s", rps, p50, p99}' "$1"
}
echo "usage records: $rows written before, $(sqlite3 "$work/backup.db" 'SELECT count(*) FROM usage_logs') in the backup; database at start: $db_mib MiB"
echo "backup: $(( (ended - started) / 1000000 )) ms, $(du -m "$work/backup.db" | cut -f1) MiB ($(cat "$work/backup.txt"))"
printf '%-16s %10s %9s %9s\n' "10 s of calls" "calls/s" p50 p99
printf '%-16s %s\n' "without backup" "$(summary "$work/plain.out")"
printf '%-16s %s\n' "with a backup" "$(summary "$work/backup.out")"
