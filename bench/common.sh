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
