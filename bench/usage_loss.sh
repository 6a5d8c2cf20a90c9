#!/usr/bin/env bash
# What a kill -9 under load loses of the usage records: nexus-api serves chat calls from wrk
# (16 connections) against the mock upstream, is killed with SIGKILL a few seconds in, and is
# started again on the same data; the records it kept are counted against the 200s wrk got.
#
#   bench/usage_loss.sh [build-dir] [runs]        (needs wrk: make bench-deps)
#
# Prints, per run, the calls answered, the records kept, the records lost, and the loss as
# seconds of traffic (lost / calls per second).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[[ $build == /* ]] || build="$(dirname "$here")/$build"
runs=${2:-3}
. "$here/common.sh"
make_workdir

"$build/nexus-mock-upstream" --port 18099 --key sk-loss-key >"$work/mock.out" &
sleep 0.3
admin=loss-admin-key-0123456789
write_chat_lua "$work/chat.lua" sk-loss-token-0123

start_nexus() {  # data dir → pid on stdout
  NEXUS_DATA_DIR="$1" NEXUS_PORT=18098 NEXUS_HOST=127.0.0.1 NEXUS_ADMIN_KEY=$admin NEXUS_ACCESS_LOG=false \
    SILICONFLOW_API_KEY=sk-loss-key SILICONFLOW_BASE_URL=http://127.0.0.1:18099 \
    "$build/nexus-api" >/dev/null 2>>"$work/nexus.err" &
  echo $!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:18098/healthz >/dev/null && return; sleep 0.05; done
}

printf '%-4s %10s %10s %8s %10s\n' run answered kept lost "lost (s)"
for run in $(seq "$runs"); do
  data="$work/data-$run"
  pid=$(start_nexus "$data")
  curl -sf -XPOST http://127.0.0.1:18098/api/token -H "Authorization: Bearer $admin" \
    -d '{"name":"loss","key":"sk-loss-token-0123"}' >/dev/null
  wrk -t2 -c16 -d6s -s "$work/chat.lua" http://127.0.0.1:18098/v1/chat/completions >"$work/wrk-$run.out" 2>&1 &
  wrk_pid=$!
  sleep 4
  kill -9 "$pid"
  killed_at=4
  wait "$wrk_pid" || true
  total=$(awk '/requests in/ {print $1}' "$work/wrk-$run.out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk-$run.out")
  answered=$((total - ${non2xx:-0}))
  pid=$(start_nexus "$data")
  kept=$(curl -sf "http://127.0.0.1:18098/api/log?page_size=1" -H "Authorization: Bearer $admin" |
    sed -E 's/.*"total":([0-9]+).*/\1/')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  lost=$((answered - kept))
  printf '%-4s %10s %10s %8s %10s\n' "$run" "$answered" "$kept" "$lost" \
    "$(awk -v l="$lost" -v a="$answered" -v t="$killed_at" 'BEGIN {printf "%.2f", l / (a / t)}')"
done
