#!/usr/bin/env bash
# Builds the console (type check + Vite) into <out>/dist and writes <out>/console_assets.cpp,
# which CMake compiles into nexus-api. Installs the npm packages from the lock file when they
# are missing or older than it. Run from CMake; by hand: web/scripts/build.sh build/console
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")/.."
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node_modules/.bin/tsc --noEmit -p .
node_modules/.bin/vite build --outDir "$out/dist" --emptyOutDir --logLevel warn
node scripts/embed.mjs "$out/dist" "$out/console_assets.cpp"
