#!/usr/bin/env bash
# The real servers the tests use, private to one test run: a PostgreSQL 15 cluster made with
# initdb in a new temporary folder, listening on a free loopback port.
#
#   tests/servers/test_servers.sh start STATE_DIR   start them; write STATE_DIR/env
#   tests/servers/test_servers.sh stop STATE_DIR    stop them and remove their folders
#
# ctest runs `start` as a fixture before any test that needs them and `stop` after the last one,
# also when tests failed. STATE_DIR/env holds NEXUS_TEST_DATABASE_URL (a maintenance database the
# tests create their own databases from). PostgreSQL refuses to run as root, so as root (CI) the
# cluster belongs to the unprivileged user `postgres` and is run through runuser.
set -euo pipefail

action=${1:?start or stop}
state=${2:?state directory}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

free_port() {  # a loopback port nobody uses, below the kernel's range for outgoing connections
  local port low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
  for _ in $(seq 100); do
    port=$((10000 + RANDOM % (low - 10000)))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
  done
  return 1
}

as_owner() {  # run a command as the cluster's owner
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  [[ -f $state/dirs ]] || return 0
  local pg_dir
  pg_dir=$(sed -n 1p "$state/dirs")
  if [[ -n $pg_dir && -d $pg_dir/data ]]; then
    as_owner "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
  rm -f "$state/dirs" "$state/env"
}

start() {
  [[ -x $pg_bin/initdb ]] || { echo "test_servers: PostgreSQL is not installed (make test-deps)" >&2; exit 1; }
  mkdir -p "$state"
  stop  # a run killed before its cleanup left its servers: stop them first
  local pg_dir port password
  pg_dir=$(mktemp -d /tmp/nexus-test-pg.XXXXXX)
  echo "$pg_dir" >"$state/dirs"
  password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  echo "$password" >"$pg_dir/pwfile"
  [[ $(id -u) -eq 0 ]] && chown -R postgres: "$pg_dir"
  as_owner "$pg_bin/initdb" -D "$pg_dir/data" -U nexus --pwfile="$pg_dir/pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$pg_dir/initdb.log" 2>&1 ||
    { cat "$pg_dir/initdb.log" >&2; exit 1; }
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    # The tests' data is thrown away: no fsync, so a store test costs what its queries cost.
    if as_owner "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/postgres.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$pg_dir -c fsync=off \
          -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null; then
      break
    fi
    [[ $attempt == 5 ]] && { cat "$pg_dir/postgres.log" >&2; exit 1; }
  done
  echo "NEXUS_TEST_DATABASE_URL=postgresql://nexus:$password@127.0.0.1:$port/postgres" >"$state/env"
  echo "test_servers: PostgreSQL on 127.0.0.1:$port ($pg_dir)"
}

case $action in
  start) start ;;
  stop) stop ;;
  *) echo "test_servers: unknown action '$action' (start or stop)" >&2; exit 2 ;;
esac
