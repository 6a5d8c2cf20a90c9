#!/usr/bin/env bash
# Installs what nexus-api needs from Debian's packages, by purpose:
#   scripts/install-deps.sh build   what `make build` and `make run` need (the default)
#   scripts/install-deps.sh test    and what `make test` needs (GoogleTest, clang for the fuzzers,
#                                   Chromium and CJK fonts for the console's browser suite, nginx
#                                   and systemd-analyze for deploy/, PostgreSQL's and Redis's servers)
#   scripts/install-deps.sh bench   and what `make bench` needs (wrk, gnuplot, sqlite3)
# Idempotent: when every package is present it returns at once without touching apt.
set -euo pipefail

purpose=${1:-build}
packages=(
  build-essential cmake pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev openssl libsqlite3-dev libspdlog-dev libfmt-dev libcli11-dev libargon2-dev
  libmimalloc-dev libpq-dev libhiredis-dev
  curl
)
# The web console is built with Node.js and npm (Vite); the machine's own node (20) is used when
# there is one. The OpenAI SDK suite and the browser suite run on it too.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
if [[ $purpose == test || $purpose == bench ]]; then
  packages+=(libgtest-dev clang libclang-rt-14-dev)
  # The console's browser suite: Debian's Chromium (playwright-core drives it, nothing is
  # downloaded), and fonts that have the Chinese glyphs for its 中文 screenshots.
  packages+=(chromium fonts-noto-cjk)
  # deploy/ is checked with the real tools: nginx relays a stream, systemd-analyze verifies the unit.
  packages+=(nginx-light systemd)
  # The PostgreSQL backend is tested against a real server, a private cluster per test run
  # (tests/servers/test_servers.sh); shared limits against real redis-servers the tests start.
  packages+=(postgresql-15 redis-server)
fi
if [[ $purpose == bench ]]; then
  packages+=(wrk gnuplot-nox sqlite3)
fi
if [[ $purpose != build && $purpose != test && $purpose != bench ]]; then
  echo "install-deps: unknown purpose '$purpose' (build, test or bench)" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
((${#missing[@]} == 0)) && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
