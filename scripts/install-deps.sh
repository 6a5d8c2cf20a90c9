#!/usr/bin/env bash
# Installs exactly what building and testing nexus-api need, from Debian's packages.
# Idempotent: when every package is present it returns at once without touching apt.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev openssl libsqlite3-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev
  clang libclang-rt-14-dev
  curl
)
# The OpenAI SDK suite runs on Node.js; the machine's own node (20) is used when there is one.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
if [[ "${NEXUS_INSTALL_BENCH:-0}" == 1 ]]; then
  packages+=(nginx-light wrk gnuplot-nox)
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
