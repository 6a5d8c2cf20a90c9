# What the bench scripts share (sourced): a work directory that goes, with every background job,
# when the script ends, and wrk's chat-call script.

# Sets `work` to a new temporary directory; on exit, stops the script's jobs and removes it.
make_workdir() {
  work=$(mktemp -d)
  trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
}

# Writes to FILE a wrk script that POSTs one small chat call with the nexus token TOKEN.
write_chat_lua() {
  cat >"$1" <<LUA
wrk.method = "POST"
wrk.body = '{"model":"Qwen/Qwen2.5-7B-Instruct","messages":[{"role":"user","content":"Hello"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $2"
LUA
}

# The answer every non-stream bench upstream gives: a small SiliconFlow-shaped chat completion.
fixed_answer='{"id":"0123456789abcdef0123456789abcdef","object":"chat.completion","created":1700000000,"model":"Qwen/Qwen2.5-7B-Instruct","system_fingerprint":"","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}'

# Starts, in the background, an nginx (one worker) that answers fixed_answer to every request on
# 127.0.0.1:PORT, in $work/up; with CPU, pinned to that CPU.
start_fixed_upstream() {
  mkdir -p "$work/up"
  cat >"$work/up/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $work/up/nginx.pid; error_log $work/up/error.log;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $work/up;
  server { listen 127.0.0.1:$1 backlog=4096; keepalive_requests 1000000;
    location / { default_type application/json; return 200 '$fixed_answer'; } } }
CONF
  if [[ -n ${2:-} ]]; then taskset -c "$2" nginx -p "$work/up" -c "$work/up/nginx.conf" &
  else nginx -p "$work/up" -c "$work/up/nginx.conf" &
  fi
}
