#!/usr/bin/env bash
# Lays out the build context of deploy/Dockerfile in DEST:
#   DEST/rootfs/  what the image holds, owned by root: the static binary, the configs, CA
#                 certificates, a passwd/group entry for the image's user, /tmp
#   DEST/state/   the state folder (healing audit file, agent queue), owned by the image's user
# Usage: deploy/image/stage.sh DEST [BINARY]   (BINARY defaults to _build/otelcol-vigil)
set -euo pipefail
dest=${1:?usage: stage.sh DEST [BINARY]}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${2:-$root/_build/otelcol-vigil}
[ -x "$bin" ] || { echo "stage.sh: $bin not found: run make build" >&2; exit 1; }

rm -rf "$dest"
mkdir -p "$dest/rootfs/etc/otelcol-vigil" "$dest/rootfs/etc/ssl/certs" "$dest/rootfs/tmp" \
  "$dest/rootfs/var/lib" "$dest/state/agent"
chmod 1777 "$dest/rootfs/tmp"
install -m 0755 "$bin" "$dest/rootfs/otelcol-vigil"
install -m 0644 "$root/otelcol-config.yaml" "$dest/rootfs/etc/otelcol-vigil/config.yaml"
install -m 0644 "$root/deploy/agent.yaml" "$dest/rootfs/etc/otelcol-vigil/agent.yaml"
install -m 0644 "$root/deploy/gateway.yaml" "$dest/rootfs/etc/otelcol-vigil/gateway.yaml"
printf 'root:x:0:0:root:/:/sbin/nologin\nvigil:x:10001:10001:Vigil:/var/lib/otelcol-vigil:/sbin/nologin\n' \
  > "$dest/rootfs/etc/passwd"
printf 'root:x:0:\nvigil:x:10001:\n' > "$dest/rootfs/etc/group"
# TLS to a gateway or a backend with a public certificate needs the usual CA bundle.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  install -m 0644 /etc/ssl/certs/ca-certificates.crt "$dest/rootfs/etc/ssl/certs/ca-certificates.crt"
else
  echo "stage.sh: warning: /etc/ssl/certs/ca-certificates.crt not found; the image trusts no public CA" >&2
fi
chmod 0700 "$dest/state" "$dest/state/agent"
