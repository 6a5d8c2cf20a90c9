#!/usr/bin/env bash
# The bench: what a relay adds to every call, side by side with the references.
#
#   bench/run.sh [build-dir] [--smoke]      (make bench / make bench-smoke)
#
# Targets, each in front of the same upstream, each pinned to CPU 0 (the load generator and the
# upstreams run on CPU 1):
#   direct   the upstream itself (the floor)
#   nginx    nginx proxy_pass with upstream keep-alive, one worker
#   nexus    nexus-api, one I/O thread: token check, channel choice, relay, usage record
#   nexus-limited  the same process, called with a token that has a quota, rpm and tpm, owned by a
#            user with a quota of his own (all set too high ever to refuse), on a priced model:
#            what admission and billing at both levels add
#   nexus-busy-poll  another nexus-api process, the same as nexus but with
#            NEXUS_BUSY_POLL_MICROSECONDS=100: its thread polls before it sleeps
#   pg-redis-limited  nexus-api on PostgreSQL (a private cluster) with its limits in Redis (a
#            private redis-server), both pinned to CPU 1 like the upstreams; one I/O thread, called
#            with a limited token as nexus-limited is: each call is one Redis round trip
#   portkey  Portkey's gateway from npm (bench/portkey, pinned), --headless, provider openai
# Non-stream upstream: an nginx answering a fixed SiliconFlow-shaped completion (one worker).
# Stream upstream: tests/support's mock (nexus-mock-upstream) with paced, numbered frames.
#
# Figures (median over rounds; the targets alternate within each round):
#   requests/s at 64 connections (wrk), CPU time per request (the target's utime+stime over the
#   run / requests), added p50 and p99 latency at 1 connection (target minus direct), memory idle
#   (after start) and after the load; for streams: added time to first frame, and a ramp of
#   concurrent streams (512 → 10,000) held with no lost or reordered frame, with memory per
#   open stream (peak RSS over idle RSS, divided by the streams open at once).
# Then the same non-stream throughput on two cores: nginx with two workers and nexus-api with two
# I/O threads, unpinned (the load generator and the upstream share the cores with them), and two
# nexus-api nodes on one PostgreSQL behind an nginx load balancer (one worker, keep-alive).
# A full run writes bench/RESULTS.md and bench/results.png; --smoke runs seconds of each step
# and writes only to bench/out/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-build}
[[ $build == /* ]] || build="$root/$build"
smoke=0
fd_note=""
[[ ${2:-} == --smoke ]] && smoke=1

if ((smoke)); then
  seconds=1 rounds=1 steps="64" frames=4 interval=50 ramp_ms=200
else
  seconds=${BENCH_SECONDS:-10} rounds=${BENCH_ROUNDS:-3} steps=${BENCH_STREAM_STEPS:-"512 1024 2048 4096 8192 10000"}
  frames=20 interval=250 ramp_ms=3000
fi
targets=${BENCH_TARGETS:-"direct nginx nexus nexus-limited nexus-busy-poll pg-redis-limited portkey"}
# A relay holds two descriptors per stream (client and upstream). The ramp's last step is the
# most streams the descriptor limit lets every target hold: 10,000 where the limit allows it.
nofile=$(ulimit -Hn)
nofile_conf=$([[ $nofile == unlimited ]] && echo 100000 || echo "$nofile")
if [[ $nofile != unlimited ]] && ((nofile < 20256)); then
  cap=$(( (nofile - 256) / 2 ))  # room for listeners, pools and files besides the streams
  steps=$(for n in $steps; do echo $(( n < cap ? n : cap )); done | uniq | tr '\n' ' ')
  fd_note="Descriptor limit $nofile (hard): the last step is $cap streams, the most a relay can hold with two descriptors each."
fi
relay_cpu=0 load_cpu=1

out="$root/bench/out"
rm -rf "$out" && mkdir -p "$out"
. "$root/bench/common.sh"
make_workdir
ulimit -n "$(ulimit -Hn)"
log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

nexus="$build/nexus-api"
mock="$build/nexus-mock-upstream"
load="$build/nexus-stream-load"
portkey="$here/portkey/node_modules/@portkey-ai/gateway/build/start-server.js"
for f in "$nexus" "$mock" "$load" "$portkey"; do
  [[ -e $f ]] || { echo "bench: $f is missing (make bench builds and installs it)" >&2; exit 1; }
done

# --- upstreams (CPU 1) ----------------------------------------------------------------------------
answer=$fixed_answer  # bench/common.sh
mkdir -p "$work/up" "$work/proxy"
cat >"$work/up/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $work/up/nginx.pid; error_log $work/up/error.log;
worker_rlimit_nofile $nofile_conf;
events { worker_connections $nofile_conf; }
http { access_log off; client_body_temp_path $work/up;
  server { listen 127.0.0.1:18081 reuseport backlog=4096; keepalive_requests 1000000;
    location / { default_type application/json; return 200 '$answer'; } } }
CONF
taskset -c $load_cpu nginx -p "$work/up" -c "$work/up/nginx.conf" &
taskset -c $load_cpu "$mock" --port 18084 --key sk-bench >"$work/mock.out" &

# --- targets (CPU 0) ------------------------------------------------------------------------------
# nginx: one worker, keep-alive to the upstream; streams unbuffered, as an SSE relay must be.
cat >"$work/proxy/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $work/proxy/nginx.pid; error_log $work/proxy/error.log;
worker_rlimit_nofile $nofile_conf;
events { worker_connections $nofile_conf; }
http { access_log off; client_body_temp_path $work/proxy; proxy_temp_path $work/proxy;
  upstream up { server 127.0.0.1:18081; keepalive 64; }
  upstream mock { server 127.0.0.1:18084; keepalive 64; }
  server { listen 127.0.0.1:18082 backlog=4096; keepalive_requests 1000000;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_set_header Authorization "Bearer sk-bench"; } }
  server { listen 127.0.0.1:18086 backlog=4096; keepalive_requests 1000000;
    location / { proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; proxy_set_header Authorization "Bearer sk-bench"; } } }
CONF
taskset -c $relay_cpu nginx -p "$work/proxy" -c "$work/proxy/nginx.conf" &

admin_key=bench-admin-key-0123456789
NEXUS_PORT=18083 NEXUS_HOST=127.0.0.1 NEXUS_THREADS=1 NEXUS_ACCESS_LOG=false NEXUS_DATA_DIR="$work/data" \
  NEXUS_ADMIN_KEY=$admin_key taskset -c $relay_cpu "$nexus" 2>"$work/nexus.log" &
nexus_pid=$!
NEXUS_BUSY_POLL_MICROSECONDS=100 NEXUS_PORT=18089 NEXUS_HOST=127.0.0.1 NEXUS_THREADS=1 NEXUS_ACCESS_LOG=false \
  NEXUS_DATA_DIR="$work/data-busy" NEXUS_ADMIN_KEY=$admin_key taskset -c $relay_cpu "$nexus" 2>"$work/nexus-busy.log" &
nexus_busy_pid=$!

taskset -c $relay_cpu node "$portkey" --headless --port=18085 >"$work/portkey.log" 2>&1 &
portkey_pid=$!

# The two-core row: the same relays with two workers / two I/O threads, not pinned.
mkdir -p "$work/proxy2"
sed -e 's/^worker_processes 1;/worker_processes 2;/' -e "s#$work/proxy/#$work/proxy2/#g" -e "s#$work/proxy;#$work/proxy2;#g" \
    -e 's/18082/18092/' -e 's/18086/18096/' "$work/proxy/nginx.conf" >"$work/proxy2/nginx.conf"
nginx -p "$work/proxy2" -c "$work/proxy2/nginx.conf" &
NEXUS_PORT=18093 NEXUS_HOST=127.0.0.1 NEXUS_THREADS=2 NEXUS_ACCESS_LOG=false NEXUS_DATA_DIR="$work/data2" \
  NEXUS_ADMIN_KEY=$admin_key "$nexus" 2>"$work/nexus2.log" &
nexus2_pid=$!

# PostgreSQL for pg-redis-limited and the two nodes: a private cluster (the tests' own script), on
# CPU 1 with the upstreams, stopped with everything else when the script ends.
servers="$root/tests/servers/test_servers.sh"
taskset -c $load_cpu "$servers" start "$work/pg" >/dev/null
trap '"$servers" stop "$work/pg"; kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
pg_admin=$(sed -n 's/^NEXUS_TEST_DATABASE_URL=//p' "$work/pg/env")
psql -q "$pg_admin" -c "CREATE DATABASE bench_one" -c "CREATE DATABASE bench_nodes"
secret=$(openssl rand -hex 32)
taskset -c $load_cpu redis-server --bind 127.0.0.1 --port 18088 --save "" --appendonly no --daemonize no \
  --dir "$work" >"$work/redis.log" 2>&1 &
NEXUS_REDIS_URL=redis://127.0.0.1:18088/0 NEXUS_PORT=18087 NEXUS_HOST=127.0.0.1 NEXUS_THREADS=1 NEXUS_ACCESS_LOG=false NEXUS_DATA_DIR="$work/data-pg" \
  NEXUS_DATABASE_URL="${pg_admin%/*}/bench_one" NEXUS_SECRET=$secret NEXUS_ADMIN_KEY=$admin_key \
  taskset -c $relay_cpu "$nexus" 2>"$work/nexus-pg.log" &
nexus_pg_pid=$!
nodes_pids=""
for n in 1 2; do
  NEXUS_REDIS_URL=redis://127.0.0.1:18088/1 NEXUS_PORT=$((18093 + n)) NEXUS_HOST=127.0.0.1 NEXUS_THREADS=1 NEXUS_ACCESS_LOG=false NEXUS_DATA_DIR="$work/data-node$n" \
    NEXUS_DATABASE_URL="${pg_admin%/*}/bench_nodes" NEXUS_SECRET=$secret NEXUS_ADMIN_KEY=$admin_key \
    "$nexus" 2>"$work/node$n.log" &
  nodes_pids+="$! "
  sleep 1  # the first node creates the schema; the second finds it (both would also wait on its lock)
done
mkdir -p "$work/lb"
cat >"$work/lb/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $work/lb/nginx.pid; error_log $work/lb/error.log;
worker_rlimit_nofile $nofile_conf;
events { worker_connections $nofile_conf; }
http { access_log off; client_body_temp_path $work/lb; proxy_temp_path $work/lb;
  upstream nodes { server 127.0.0.1:18094; server 127.0.0.1:18095; keepalive 64; }
  server { listen 127.0.0.1:18097 backlog=4096; keepalive_requests 1000000;
    location / { proxy_pass http://nodes; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; } } }
CONF
nginx -p "$work/lb" -c "$work/lb/nginx.conf" &

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
for p in 18081 18082 18083 18084 18085 18086 18087 18088 18089 18092 18093 18094 18095 18097; do
  wait_port $p || { echo "bench: port $p never opened" >&2; exit 1; }
done

admin() { curl -sf -XPOST "http://127.0.0.1:${admin_port:-18083}$1" -H "Authorization: Bearer $admin_key" -d "$2" >/dev/null; }
admin_port=18093 admin /api/channel '{"type":"SiliconFlow","name":"fixed","key":"sk-bench","base_url":"http://127.0.0.1:18081","models":["Qwen/Qwen2.5-7B-Instruct"]}'
admin_port=18093 admin /api/token '{"name":"bench","key":"sk-nexus-bench-token"}'
admin /api/channel '{"type":"SiliconFlow","name":"fixed","key":"sk-bench","base_url":"http://127.0.0.1:18081","models":["Qwen/Qwen2.5-7B-Instruct"]}'
admin /api/channel '{"type":"SiliconFlow","name":"mock","key":"sk-bench","base_url":"http://127.0.0.1:18084","models":["bench-stream"]}'
admin /api/token '{"name":"bench","key":"sk-nexus-bench-token"}'
admin /api/user '{"username":"bench","password":"bench-password","remain_quota":1000000000000000}'
admin /api/token '{"name":"bench-limited","key":"sk-nexus-bench-limited","user_id":2,"remain_quota":1000000000000000,"rpm":1000000000,"tpm":1000000000}'
curl -sf -XPUT "http://127.0.0.1:18083/api/price/Qwen/Qwen2.5-7B-Instruct" -H "Authorization: Bearer $admin_key" \
  -d '{"input":2000000,"output":8000000}' >/dev/null
admin_port=18089 admin /api/channel '{"type":"SiliconFlow","name":"fixed","key":"sk-bench","base_url":"http://127.0.0.1:18081","models":["Qwen/Qwen2.5-7B-Instruct"]}'
admin_port=18089 admin /api/token '{"name":"bench","key":"sk-nexus-bench-token"}'
admin_port=18087 admin /api/channel '{"type":"SiliconFlow","name":"fixed","key":"sk-bench","base_url":"http://127.0.0.1:18081","models":["Qwen/Qwen2.5-7B-Instruct"]}'
admin_port=18087 admin /api/user '{"username":"bench","password":"bench-password","remain_quota":1000000000000000}'
admin_port=18087 admin /api/token '{"name":"bench-limited","key":"sk-nexus-bench-limited","user_id":2,"remain_quota":1000000000000000,"rpm":1000000000,"tpm":1000000000}'
curl -sf -XPUT "http://127.0.0.1:18087/api/price/Qwen/Qwen2.5-7B-Instruct" -H "Authorization: Bearer $admin_key" \
  -d '{"input":2000000,"output":8000000}' >/dev/null
# The two nodes: written on one, in force on both (LISTEN/NOTIFY).
admin_port=18094 admin /api/channel '{"type":"SiliconFlow","name":"fixed","key":"sk-bench","base_url":"http://127.0.0.1:18081","models":["Qwen/Qwen2.5-7B-Instruct"]}'
admin_port=18094 admin /api/token '{"name":"bench","key":"sk-nexus-bench-token"}'

# Per target: port, pids whose CPU and memory count, extra request headers.
declare -A port=([direct]=18081 [nginx]=18082 [nexus]=18083 [nexus-limited]=18083 [nexus-busy-poll]=18089 [pg-redis-limited]=18087
  [portkey]=18085 [nginx-2]=18092 [nexus-2]=18093 [nodes-2]=18097)
declare -A stream_port=([direct]=18084 [nginx]=18086 [nexus]=18083 [nexus-limited]=18083 [portkey]=18085)
pids_of() {
  case $1 in
    direct) echo "$(cat "$work/up/nginx.pid") $(pgrep -P "$(cat "$work/up/nginx.pid")" | tr '\n' ' ')" ;;
    nginx) echo "$(cat "$work/proxy/nginx.pid") $(pgrep -P "$(cat "$work/proxy/nginx.pid")" | tr '\n' ' ')" ;;
    nginx-2) echo "$(cat "$work/proxy2/nginx.pid") $(pgrep -P "$(cat "$work/proxy2/nginx.pid")" | tr '\n' ' ')" ;;
    nexus|nexus-limited) echo "$nexus_pid" ;;
    nexus-2) echo "$nexus2_pid" ;;
    nexus-busy-poll) echo "$nexus_busy_pid" ;;
    pg-redis-limited) echo "$nexus_pg_pid" ;;
    nodes-2) echo "$nodes_pids $(cat "$work/lb/nginx.pid") $(pgrep -P "$(cat "$work/lb/nginx.pid")" | tr '\n' ' ')" ;;
    portkey) echo "$portkey_pid" ;;
  esac
}
headers_of() {  # target [upstream port] → its request headers, one per line
  case $1 in
    portkey) printf '%s\n' "x-portkey-provider: openai" "x-portkey-custom-host: http://127.0.0.1:${2:-18081}/v1" \
                            "Authorization: Bearer sk-bench" ;;
    nexus|nexus-busy-poll|nexus-2|nodes-2) printf '%s\n' "Authorization: Bearer sk-nexus-bench-token" ;;
    nexus-limited|pg-redis-limited) printf '%s\n' "Authorization: Bearer sk-nexus-bench-limited" ;;
    *) printf '%s\n' "Authorization: Bearer sk-bench" ;;  # the upstreams' own key
  esac
}
rss_kb() { local t=0; for p in $(pids_of "$1"); do t=$((t + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status"))); done; echo $t; }
cpu_ticks() { local t=0; for p in $(pids_of "$1"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
hz=$(getconf CLK_TCK)

wrk_script() {  # target → a wrk Lua script posting the chat body with the target's headers
  {
    echo 'wrk.method = "POST"'
    echo "wrk.body = '{\"model\":\"Qwen/Qwen2.5-7B-Instruct\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'"
    echo 'wrk.headers["Content-Type"] = "application/json"'
    headers_of "$1" | while IFS=': ' read -r k v; do echo "wrk.headers[\"$k\"] = \"$v\""; done
  } >"$work/$1.lua"
}
to_us() {  # wrk's "181.00us" / "1.20ms" / "1.00s" → microseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else print n * 1000000 }'
}
median() { tr ' ' '\n' | { grep . || true; } | sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "")}'; }

declare -A rps cpu p50 p99 idle_kb loaded_kb ttff
for t in $targets; do
  wrk_script "$t"
  idle_kb[$t]=$(rss_kb "$t")
  # A check that the target answers what the upstream answered before it is measured.
  args=(); while read -r h; do args+=(-H "$h"); done < <(headers_of "$t")
  body=$(curl -s "http://127.0.0.1:${port[$t]}/v1/chat/completions" "${args[@]}" -H 'Content-Type: application/json' \
         -d '{"model":"Qwen/Qwen2.5-7B-Instruct","messages":[{"role":"user","content":"Hello"}]}')
  grep -q 'Hello! How can I help you today?' <<<"$body" || { echo "bench: $t answered: $body" >&2; exit 1; }
done

# --- non-stream: throughput, CPU per request, latency ---------------------------------------------
for ((r = 1; r <= rounds; r++)); do
  for t in $targets; do
    log "round $r/$rounds: $t, 64 connections, ${seconds}s"
    before=$(cpu_ticks "$t")
    taskset -c $load_cpu wrk -t1 -c64 -d"${seconds}s" -s "$work/$t.lua" "http://127.0.0.1:${port[$t]}/v1/chat/completions" \
      >"$out/$t-64-$r.txt"
    after=$(cpu_ticks "$t")
    requests=$(awk '/requests in/ {print $1}' "$out/$t-64-$r.txt")
    errors=$(awk '/Non-2xx|Socket errors/' "$out/$t-64-$r.txt")
    [[ -z $errors ]] || log "  $t: $errors"
    rps[$t]+="$(awk '/Requests\/sec/ {print $2}' "$out/$t-64-$r.txt") "
    cpu[$t]+="$(awk -v d=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.2f", d / hz * 1e6 / n}') "
    log "round $r/$rounds: $t, 1 connection, ${seconds}s"
    taskset -c $load_cpu wrk -t1 -c1 -d"${seconds}s" -s "$work/$t.lua" --latency \
      "http://127.0.0.1:${port[$t]}/v1/chat/completions" >"$out/$t-1-$r.txt"
    p50[$t]+="$(to_us "$(awk '/^ +50%/ {print $2}' "$out/$t-1-$r.txt")") "
    p99[$t]+="$(to_us "$(awk '/^ +99%/ {print $2}' "$out/$t-1-$r.txt")") "
  done
done
for t in $targets; do loaded_kb[$t]=$(rss_kb "$t"); done

# --- non-stream on two cores, unpinned ------------------------------------------------------------
declare -A rps2 cpu2
for ((r = 1; r <= rounds; r++)); do
  for t in nginx-2 nexus-2 nodes-2; do
    [[ $r == 1 ]] && wrk_script "$t"
    log "round $r/$rounds: $t (two cores, unpinned), 64 connections, ${seconds}s"
    before=$(cpu_ticks "$t")
    wrk -t2 -c64 -d"${seconds}s" -s "$work/$t.lua" "http://127.0.0.1:${port[$t]}/v1/chat/completions" >"$out/$t-64-$r.txt"
    after=$(cpu_ticks "$t")
    requests=$(awk '/requests in/ {print $1}' "$out/$t-64-$r.txt")
    rps2[$t]+="$(awk '/Requests\/sec/ {print $2}' "$out/$t-64-$r.txt") "
    cpu2[$t]+="$(awk -v d=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.2f", d / hz * 1e6 / n}') "
  done
done

# --- streams: time to first frame, then the concurrency ramp ----------------------------------------
stream_run() {  # target streams frames interval ramp-ms → the load client's key=value line
  local t=$1 args=()
  while read -r h; do args+=(--header "$h"); done < <(headers_of "$t" 18084)
  taskset -c $load_cpu "$load" --port "${stream_port[$t]}" --streams "$2" --frames "$3" --interval-ms "$4" \
    --ramp-ms "$5" "${args[@]}" || true
}
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

declare -A held held_kb ramp_note
for t in $targets; do
  held[$t]=0 held_kb[$t]="" ramp_note[$t]=""
  # The same process as nexus, or the same code with another setting: its streams are nexus's row.
  if [[ $t == nexus-limited || $t == nexus-busy-poll || $t == pg-redis-limited ]]; then held[$t]="—" ttff[$t]=""; continue; fi
  log "streams: $t, time to first frame"
  line=$(stream_run "$t" 200 3 10 2000)
  echo "$line" >"$out/$t-ttff.txt"
  ttff[$t]=$(field ttff_p50_us "$line")
  held[$t]=0 held_kb[$t]="" ramp_note[$t]=""
  if [[ $(field ok "$line") == 0 ]]; then
    # Record what the target answered, for the table.
    args=(); while read -r h; do args+=(-H "$h"); done < <(headers_of "$t" 18084)
    answer=$(curl -sN -m 5 "http://127.0.0.1:${stream_port[$t]}/v1/chat/completions" "${args[@]}" \
             -H 'Content-Type: application/json' -d '{"model":"bench-stream","stream":true,"messages":[{"role":"user","content":"Hello"}]}' | head -c 120)
    ramp_note[$t]="every stream failed; it answered: ${answer//|/\\|}"
    ttff[$t]=""
    log "  $t: ${ramp_note[$t]}"
    continue
  fi
  for n in $steps; do
    log "streams: $t, $n at once"
    # Memory per stream counts from the idle process: conservative (what earlier load left in
    # the allocator counts against the streams), never flattered by reuse of that memory.
    base=${idle_kb[$t]}
    stream_run "$t" "$n" "$frames" "$interval" "$ramp_ms" >"$out/$t-streams-$n.txt" &
    loader=$!
    peak=$base
    while kill -0 $loader 2>/dev/null; do
      now=$(rss_kb "$t"); ((now > peak)) && peak=$now
      sleep 0.1
    done
    wait $loader || true
    line=$(cat "$out/$t-streams-$n.txt")
    ok=$(field ok "$line"); open=$(field peak_open "$line")
    if [[ $ok != "$n" ]]; then
      ramp_note[$t]="at $n: $(field ok "$line") whole, $(field failed "$line") failed, $(field lost "$line") frames lost, $(field reordered "$line") reordered"
      log "  $t: ${ramp_note[$t]}"
      break
    fi
    held[$t]=$n
    # direct: the upstream itself holds the streams, and its memory is not a relay's.
    [[ $t == direct ]] || held_kb[$t]=$(awk -v d=$((peak - base)) -v n="$open" 'BEGIN {printf "%.1f", (n > 0 ? d / n : 0)}')
  done
done

# --- report ---------------------------------------------------------------------------------------
direct_p50=$(median <<<"${p50[direct]:-}") direct_p99=$(median <<<"${p99[direct]:-}")
direct_ttff=${ttff[direct]:-0}
nginx_rps=$(median <<<"${rps[nginx]:-}")
{
  echo "| target | requests/s @64 | vs nginx | CPU µs/request | added p50 µs @1 | added p99 µs @1 | RSS idle MiB | RSS after load MiB | added first frame µs | streams held (no frame lost) | KiB per open stream |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for t in $targets; do
    m_rps=$(median <<<"${rps[$t]}")
    ratio=$(awk -v a="$m_rps" -v b="$nginx_rps" 'BEGIN {printf (b > 0 ? "%.2f" : "-"), a / b}')
    if [[ $t == direct ]]; then ap50="—" ap99="—" attff="—"; else
      ap50=$(awk -v a="$(median <<<"${p50[$t]}")" -v b="$direct_p50" 'BEGIN {printf "%.0f", a - b}')
      ap99=$(awk -v a="$(median <<<"${p99[$t]}")" -v b="$direct_p99" 'BEGIN {printf "%.0f", a - b}')
      attff=$([[ -n ${ttff[$t]} ]] && awk -v a="${ttff[$t]}" -v b="$direct_ttff" 'BEGIN {printf "%.0f", a - b}' || echo "—")
    fi
    held_text=${held[$t]}
    [[ -n ${ramp_note[$t]} ]] && held_text="${held[$t]} (${ramp_note[$t]})"
    printf '| %s | %.0f | %s | %s | %s | %s | %.1f | %.1f | %s | %s | %s |\n' "$t" "$m_rps" "$ratio" \
      "$(median <<<"${cpu[$t]}")" "$ap50" "$ap99" "$(awk -v k="${idle_kb[$t]}" 'BEGIN {print k / 1024}')" \
      "$(awk -v k="${loaded_kb[$t]}" 'BEGIN {print k / 1024}')" "$attff" "$held_text" "${held_kb[$t]:-—}"
  done
} >"$out/table.md"
nginx2_rps=$(median <<<"${rps2[nginx-2]}")
{
  echo "| two cores, unpinned | requests/s @64 | vs nginx (2 workers) | CPU µs/request |"
  echo "|---|---|---|---|"
  for t in nginx-2 nexus-2 nodes-2; do
    m_rps=$(median <<<"${rps2[$t]}")
    printf '| %s | %.0f | %s | %s |\n' "$t" "$m_rps" "$(awk -v a="$m_rps" -v b="$nginx2_rps" 'BEGIN {printf "%.2f", a / b}')" \
      "$(median <<<"${cpu2[$t]}")"
  done
} >"$out/table2.md"
{
  echo "direct p50 µs @1: $direct_p50, p99: $direct_p99; direct first frame p50 µs: $direct_ttff"
  for t in $targets; do echo "$t rps: ${rps[$t]}| cpu: ${cpu[$t]}| p50: ${p50[$t]}| p99: ${p99[$t]}"; done
  for t in nginx-2 nexus-2 nodes-2; do echo "$t rps: ${rps2[$t]}| cpu: ${cpu2[$t]}"; done
} >"$out/raw.txt"

# The chart: throughput, and added latency, per target.
{
  for t in $targets; do
    [[ $t == direct ]] && continue
    printf '%s %s %s %s\n' "$t" "$(median <<<"${rps[$t]}")" \
      "$(awk -v a="$(median <<<"${p50[$t]}")" -v b="$direct_p50" 'BEGIN {print a - b}')" \
      "$(awk -v a="$(median <<<"${p99[$t]}")" -v b="$direct_p99" 'BEGIN {print a - b}')"
  done
} >"$out/chart.dat"
gnuplot <<PLOT
set terminal png size 1100,420 font ",10"
set output "$out/results.png"
set multiplot layout 1,2 title "Relays on one core in front of the same upstream (median of $rounds x ${seconds}s)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set grid ytics
set yrange [0:*]
set title "requests/s at 64 connections"
plot "$out/chart.dat" using 2:xtic(1) notitle lc rgb "#3b7dd8"
set style histogram clustered gap 1
set title "added latency at 1 connection (us)"
set logscale y
set yrange [1:*]
plot "$out/chart.dat" using 3:xtic(1) title "p50" lc rgb "#3b7dd8", "" using 4 title "p99" lc rgb "#d8703b"
unset multiplot
PLOT

cat "$out/table.md" && echo && cat "$out/table2.md"
if ((!smoke)); then
  {
    echo "# Bench results"
    echo
    echo "Run on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD)."
    echo "Machine: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)."
    echo "Command: \`make bench\` (bench/run.sh): each target pinned to CPU $relay_cpu, wrk/the load client and the upstreams to CPU $load_cpu;"
    echo "$rounds rounds of ${seconds}s per figure, targets alternating, median reported. Streams: $frames frames $interval ms apart per stream,"
    echo "opened over ${ramp_ms} ms; the ramp stops at the first step where a stream lost or reordered a frame. ${fd_note:-}"
    echo
    cat "$out/table.md"
    echo
    echo "![throughput and added latency per target](results.png)"
    echo
    echo "On two cores, unpinned: nginx with two workers (nginx-2) and nexus-api with two I/O threads (nexus-2), each in"
    echo "front of the same one-worker upstream; wrk (two threads) and the upstream share the two cores with them."
    echo "nodes-2 is two nexus-api nodes (one I/O thread each) on one PostgreSQL and one Redis behind an nginx load balancer"
    echo "(one worker, keep-alive to the nodes), called with a token without limits: its CPU counts both nodes and the balancer."
    echo
    cat "$out/table2.md"
    echo
    echo "Added latency = the target's percentile minus the direct call's (direct: p50 ${direct_p50} µs, p99 ${direct_p99} µs at 1 connection)."
    echo "CPU µs/request = the target's user+system CPU time over the 64-connection run, per request."
    echo "Memory is RSS (nginx: master and worker together; its worker_connections follow the descriptor limit). KiB per open stream = (peak RSS during the step − the target's idle RSS) / streams open at once."
    echo "nexus-limited is the nexus process called with a token that has remain_quota, rpm and tpm, owned by a user with a remain_quota (none ever reached), on a priced model: what admission and billing at both levels cost; its memory is nexus's."
    echo "nexus-busy-poll is another nexus-api process, the same as nexus but with NEXUS_BUSY_POLL_MICROSECONDS=100 (off by default): its I/O thread, out of work, polls its sockets for 100 µs before it sleeps, except while its database thread has usage records to write; streams were not measured for it."
    echo "pg-redis-limited is another nexus-api process, the same but on PostgreSQL with its limits and quotas in Redis (both private, on CPU $load_cpu with the upstreams): each call makes one Redis round trip; its CPU is the relay's alone, PostgreSQL's and Redis's are not counted."
    echo
    echo "Which targets are met, and what the profile says about the others: [PROFILE.md](PROFILE.md)."
  } >"$root/bench/RESULTS.md.new"
  cp "$out/results.png" "$root/bench/results.png"
  mv "$root/bench/RESULTS.md.new" "$root/bench/RESULTS.md"
  log "wrote bench/RESULTS.md and bench/results.png"
fi
