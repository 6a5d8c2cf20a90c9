#!/usr/bin/env bash
# A quick side-by-side: wrk through nginx proxy_pass and through nexus-api, each pinned to CPU 0,
# in front of the same fixed-answer nginx upstream; wrk and the upstream on CPU 1.
# Usage: bench/quick.sh path/to/nexus-api [seconds] [rounds]
set -euo pipefail
nexus=${1:-build/nexus-api}
seconds=${2:-10}
rounds=${3:-3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

answer='{"id":"0123456789abcdef0123456789abcdef","object":"chat.completion","created":1700000000,"model":"Qwen/Qwen2.5-7B-Instruct","system_fingerprint":"","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}'

mkdir -p "$work/up" "$work/proxy"
cat > "$work/up/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $work/up/nginx.pid; error_log $work/up/error.log;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $work/up;
  server { listen 127.0.0.1:18081 reuseport; keepalive_requests 1000000;
    location / { default_type application/json; return 200 '$answer'; } } }
CONF
cat > "$work/proxy/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $work/proxy/nginx.pid; error_log $work/proxy/error.log;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $work/proxy; proxy_temp_path $work/proxy;
  upstream up { server 127.0.0.1:18081; keepalive 64; }
  server { listen 127.0.0.1:18082; keepalive_requests 1000000;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_set_header Authorization "Bearer sk-bench"; } } }
CONF
taskset -c 1 nginx -p "$work/up" -c "$work/up/nginx.conf" &
taskset -c 0 nginx -p "$work/proxy" -c "$work/proxy/nginx.conf" &
# nexus-api: the normal path (token check, channel choice, relay); the channel is seeded from
# SILICONFLOW_API_KEY, the token made through the admin API.
admin_key=bench-admin-key-0123456789
SILICONFLOW_API_KEY=sk-bench SILICONFLOW_BASE_URL=http://127.0.0.1:18081 NEXUS_PORT=18083 \
  NEXUS_HOST=127.0.0.1 NEXUS_THREADS=1 NEXUS_ACCESS_LOG=${NEXUS_ACCESS_LOG:-false} NEXUS_DATA_DIR="$work/data" \
  NEXUS_ADMIN_KEY=$admin_key taskset -c 0 "$nexus" 2>"$work/nexus.log" &
sleep 1
curl -sf -XPOST http://127.0.0.1:18083/api/token -H "Authorization: Bearer $admin_key" \
  -d '{"name":"bench","key":"sk-nexus-bench-token"}' >/dev/null

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"Qwen/Qwen2.5-7B-Instruct","messages":[{"role":"user","content":"Hello"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-nexus-bench-token"
LUA

run() {  # name port connections → requests/s
  taskset -c 1 wrk -t1 -c"$2" -d"${seconds}s" -s "$work/post.lua" --latency "http://127.0.0.1:$3/v1/chat/completions" \
    > "$work/$1.txt"
  awk '/Requests\/sec/ {print $2}' "$work/$1.txt"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A rps
for target in direct:18081 nginx:18082 nexus:18083; do rps[${target%%:*}]=""; done
for ((r = 1; r <= rounds; r++)); do
  for target in direct:18081 nginx:18082 nexus:18083; do
    name=${target%%:*}
    rps[$name]+="$(run "$name-$r" 64 "${target##*:}") "
  done
done
echo "| target | requests/s at 64 connections (median of $rounds × ${seconds}s) |"
echo "|---|---|"
for name in direct nginx nexus; do
  echo "| $name | $(tr ' ' '\n' <<<"${rps[$name]}" | grep . | median) |"
done
echo
echo "1-connection latency (wrk, ${seconds}s):"
for target in direct:18081 nginx:18082 nexus:18083; do
  taskset -c 1 wrk -t1 -c1 -d"${seconds}s" -s "$work/post.lua" --latency "http://127.0.0.1:${target##*:}/v1/chat/completions" \
    | awk -v n="${target%%:*}" '/^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {printf "  %-7s p50 %s  p99 %s\n", n, p50, p99}'
done
