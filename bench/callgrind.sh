#!/usr/bin/env bash
# Instructions per relayed call, counted by callgrind: the figure each speed change is judged by
# first, since it does not move with the machine's noise the way requests/s does.
#
#   bench/callgrind.sh [nexus-api binary] [calls]      (default: build/nexus-api, 2000)
#
# nexus-api runs under callgrind in front of a fixed-answer nginx (the bench's upstream). After a
# warm-up, the counters are zeroed, CALLS chat calls go over one keep-alive connection, the usage
# writer is given time to commit them, and the whole process's instructions (every thread: I/O,
# database, timers) are divided by CALLS. BENCH_TOKEN=limited calls with a token that has a quota,
# rpm and tpm on a priced model, as the bench's nexus-limited row does. The profile stays in
# bench/out/callgrind.out for callgrind_annotate.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
nexus=${1:-$root/build/nexus-api}
calls=${2:-2000}
. "$here/common.sh"
make_workdir
mkdir -p "$root/bench/out"
start_fixed_upstream 18181

admin_key=bench-admin-key-0123456789
NEXUS_PORT=18183 NEXUS_HOST=127.0.0.1 NEXUS_THREADS=1 NEXUS_ACCESS_LOG=false NEXUS_DATA_DIR="$work/data" \
  NEXUS_ADMIN_KEY=$admin_key valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
 "$nexus" 2>"$work/nexus.log" &
vg=$!

wait_port() { for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
wait_port 18181 && wait_port 18183 || { echo "callgrind: a port never opened" >&2; cat "$work/nexus.log" >&2; exit 1; }
admin() { curl -sf -X"$1" "http://127.0.0.1:18183$2" -H "Authorization: Bearer $admin_key" -d "$3" >/dev/null; }
admin POST /api/channel '{"type":"SiliconFlow","name":"fixed","key":"sk-bench","base_url":"http://127.0.0.1:18181","models":["Qwen/Qwen2.5-7B-Instruct"]}'
admin POST /api/token '{"name":"bench","key":"sk-nexus-bench-token"}'
admin POST /api/user '{"username":"bench","password":"bench-password","remain_quota":1000000000000000}'
admin POST /api/token '{"name":"bench-limited","key":"sk-nexus-bench-limited","user_id":2,"remain_quota":1000000000000000,"rpm":1000000000,"tpm":1000000000}'
admin PUT /api/price/Qwen/Qwen2.5-7B-Instruct '{"input":2000000,"output":8000000}'
token=sk-nexus-bench-token
[[ ${BENCH_TOKEN:-} == limited ]] && token=sk-nexus-bench-limited

run_calls() {  # n → n calls on one keep-alive connection; fails unless every one is answered
  local url=http://127.0.0.1:18183/v1/chat/completions
  { for ((i = 0; i < $1; i++)); do echo "url = \"$url\""; done; } >"$work/urls"
  curl -s -K "$work/urls" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"model":"Qwen/Qwen2.5-7B-Instruct","messages":[{"role":"user","content":"Hello"}]}' >"$work/answers"
  local got; got=$(grep -o 'How can I help you today' "$work/answers" | wc -l)
  ((got == $1)) || { echo "callgrind: $got of $1 calls answered" >&2; exit 1; }
}
run_calls 200  # warm-up: pools, caches, the first usage batches
sleep 2
callgrind_control --zero "$vg" >/dev/null
run_calls "$calls"
sleep 2.5  # the usage writer commits once a second
callgrind_control --dump "$vg" >/dev/null
sleep 1
dump=$(ls -t "$work"/callgrind.out.* | head -1)
cp "$dump" "$root/bench/out/callgrind.out"
total=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
awk -v t="$total" -v n="$calls" 'BEGIN {printf "%d instructions per call (%d calls, %d in all)\n", t / n, n, t}'
