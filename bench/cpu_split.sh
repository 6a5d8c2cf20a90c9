#!/usr/bin/env bash
# Where a relay's time goes, in the bench's shape: the relay pinned to CPU 0, wrk and a
# fixed-answer nginx upstream on CPU 1.
#
#   bench/cpu_split.sh nexus|nginx [nexus-api binary]     (default: build/nexus-api)
#
# At 64 connections: requests/s, and CPU 0's time per request split into user, nice (nexus-api's
# database thread runs at nice 10), system and soft-interrupt time (/proc/stat over the
# run but its first and last second), with each nexus-api thread's user and system time per request (/proc/PID/task). At one
# connection: the latency wrk sees (p50, p99). BUSY_POLL=N starts nexus-api with
# NEXUS_BUSY_POLL_MICROSECONDS=N; SECONDS_EACH sets the wrk runs' length (default 8).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target=${1:?usage: bench/cpu_split.sh nexus|nginx [nexus-api binary]}
nexus=${2:-$root/build/nexus-api}
seconds=${SECONDS_EACH:-8}
. "$here/common.sh"
make_workdir
mkdir -p "$work/proxy"
start_fixed_upstream 18281 1

case $target in
  nginx)
    cat >"$work/proxy/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $work/proxy/nginx.pid; error_log $work/proxy/error.log;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $work/proxy; proxy_temp_path $work/proxy;
  upstream up { server 127.0.0.1:18281; keepalive 64; }
  server { listen 127.0.0.1:18283 backlog=4096; keepalive_requests 1000000;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_set_header Authorization "Bearer sk-bench"; } } }
CONF
    taskset -c 0 nginx -p "$work/proxy" -c "$work/proxy/nginx.conf" &
    sleep 0.5
    pid=$(pgrep -P "$(cat "$work/proxy/nginx.pid")" | head -1)  # the worker
    ;;
  nexus)
    NEXUS_BUSY_POLL_MICROSECONDS=${BUSY_POLL:-0} NEXUS_PORT=18283 NEXUS_HOST=127.0.0.1 NEXUS_THREADS=1 \
      NEXUS_ACCESS_LOG=false NEXUS_DATA_DIR="$work/data" NEXUS_ADMIN_KEY=bench-admin-key-0123456789 \
      taskset -c 0 "$nexus" 2>"$work/nexus.log" &
    pid=$!
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/18283) 2>/dev/null && break; sleep 0.1; done
    admin() { curl -sf -XPOST "http://127.0.0.1:18283$1" -H "Authorization: Bearer bench-admin-key-0123456789" -d "$2" >/dev/null; }
    admin /api/channel '{"type":"SiliconFlow","name":"fixed","key":"sk-bench","base_url":"http://127.0.0.1:18281","models":["Qwen/Qwen2.5-7B-Instruct"]}'
    admin /api/token '{"name":"bench","key":"sk-nexus-bench-token"}'
    ;;
  *) echo "bench/cpu_split.sh: nexus or nginx, not $target" >&2; exit 2 ;;
esac
write_chat_lua "$work/chat.lua" sk-nexus-bench-token
url=http://127.0.0.1:18283/v1/chat/completions
threads() { for t in /proc/$pid/task/*; do echo "${t##*/} $(cat "$t/comm") $(awk '{print $14, $15}' "$t/stat")"; done | sort; }

# 64 connections: throughput and the split of CPU 0.
threads >"$work/threads1"
window=$((seconds > 3 ? seconds - 2 : 1))  # seconds of CPU 0 sampled, from 1 s into the run
(sleep 1; sed -n 2p /proc/stat >"$work/stat1"; sleep $window; sed -n 2p /proc/stat >"$work/stat2") &
sampler=$!
taskset -c 1 wrk -t1 -c64 -d"${seconds}s" -s "$work/chat.lua" "$url" >"$work/wrk64"
threads >"$work/threads2"
rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk64")
requests=$(awk '/requests in/ {print $1}' "$work/wrk64")
hz=$(getconf CLK_TCK)
echo "$target: $rps requests/s at 64 connections"
# /proc/stat's cpu0 line: user nice system idle iowait irq softirq (in ticks), over the window.
wait $sampler
paste "$work/stat1" "$work/stat2" | awk -v rps="$rps" -v hz="$hz" -v w="$window" '{
  n = split($0, f, /[ \t]+/); h = n / 2
  user = f[h + 2] - f[2]; nice = f[h + 3] - f[3]; sys = f[h + 4] - f[4]; idle = f[h + 5] - f[5]
  irq = f[h + 7] - f[7] + f[h + 8] - f[8]; total = user + nice + sys + idle + irq + f[h + 6] - f[6]
  printf "  CPU 0 per request: user %.1f us, nice %.1f us, system %.1f us, soft-interrupts %.1f us, idle %.0f %%\n",
    user / hz / w * 1e6 / rps, nice / hz / w * 1e6 / rps, sys / hz / w * 1e6 / rps, irq / hz / w * 1e6 / rps, 100 * idle / total }'
join -j1 <(cut -d' ' -f1,3,4 "$work/threads1") <(cut -d' ' -f1,3,4 "$work/threads2") | while read -r tid u1 s1 u2 s2; do
  name=$(awk -v t="$tid" '$1 == t {print $2}' "$work/threads2")
  awk -v t="$tid" -v name="$name" -v u=$((u2 - u1)) -v s=$((s2 - s1)) -v n="$requests" -v hz="$hz" \
    'BEGIN { if (u + s > 0) printf "  thread %s (%s): user %.2f us, system %.2f us per request\n", t, name, u / hz * 1e6 / n, s / hz * 1e6 / n }'
done

# One connection: the latency a caller sees.
taskset -c 1 wrk -t1 -c1 -d"${seconds}s" -s "$work/chat.lua" --latency "$url" >"$work/wrk1"
echo "$target at 1 connection: p50 $(awk '/^ +50%/ {print $2}' "$work/wrk1"), p99 $(awk '/^ +99%/ {print $2}' "$work/wrk1"), $(awk '/Requests\/sec/ {print $2}' "$work/wrk1") requests/s"
