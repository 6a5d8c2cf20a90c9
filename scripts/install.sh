#!/usr/bin/env bash
# Installs a built nexus-api as a service (`make install` runs it after `make build`):
#   scripts/install.sh BINARY
# Puts in place, under DESTDIR (a staging root; empty: this machine) and PREFIX (/usr/local):
#   $PREFIX/bin/nexus-api                         the binary
#   /etc/systemd/system/nexus-api.service         the unit (deploy/), ExecStart at $PREFIX/bin
#   /etc/nexus-api/env                            settings, mode 0600; kept when it exists
#   $PREFIX/share/doc/nexus-api/                  the operations guide and the nginx config
# and, on this machine only (no DESTDIR), the nexus-api system user and /var/lib/nexus-api.
set -euo pipefail

binary=${1:?usage: scripts/install.sh BINARY}
root=${DESTDIR:-}
prefix=${PREFIX:-/usr/local}
here=$(cd "$(dirname "$0")/.." && pwd)

install -D -m 0755 "$binary" "$root$prefix/bin/nexus-api"
install -d -m 0755 "$root/etc/systemd/system"
sed "s#/usr/local/#$prefix/#g" "$here/deploy/nexus-api.service" >"$root/etc/systemd/system/nexus-api.service"
chmod 0644 "$root/etc/systemd/system/nexus-api.service"
install -d -m 0755 "$root$prefix/share/doc/nexus-api"
install -m 0644 "$here/docs/operations.md" "$here/docs/operations.zh-CN.md" "$here/deploy/nginx.conf" \
  "$root$prefix/share/doc/nexus-api/"
install -d -m 0755 "$root/etc/nexus-api"
if [[ ! -e $root/etc/nexus-api/env ]]; then
  install -m 0600 /dev/null "$root/etc/nexus-api/env"
  cat >"$root/etc/nexus-api/env" <<'SETTINGS'
# nexus-api's settings (README.md, "Configuration"): NAME=value, one a line.
# The first start prints the admin key and root's password once: `journalctl -u nexus-api`.
#SILICONFLOW_API_KEY=sk-...
#NEXUS_HOST=127.0.0.1
#NEXUS_TRUSTED_PROXIES=127.0.0.1
#NEXUS_PUBLIC_URL=https://gateway.example.com
SETTINGS
  echo "install: wrote $root/etc/nexus-api/env (settings; mode 0600)"
else
  echo "install: kept $root/etc/nexus-api/env"
fi

if [[ -z $root ]]; then
  if ! id -u nexus-api >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/nexus-api --no-create-home --shell /usr/sbin/nologin nexus-api
  fi
  install -d -m 0700 -o nexus-api -g nexus-api /var/lib/nexus-api
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then systemctl daemon-reload; fi
  echo "install: done; start it with: systemctl enable --now nexus-api"
fi
