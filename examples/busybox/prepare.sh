#!/usr/bin/env bash
# Prepares the build context of examples/busybox: rootfs/, a minimal busybox root file system
# (bin/busybox from the busybox-static package, one symlink per applet in /bin as the official image has them,
# /etc/passwd and /etc/group with root and nobody, /tmp 1777, /root).
#
# Idempotent and fast: skipped when .rootfs.stamp records the same busybox binary. The tree is built beside
# the target and renamed into place under a lock, so parallel callers never see a half-built rootfs.
# Every mtime is the busybox binary's own mtime, so the context (and therefore COPY's result) is reproducible.
#
# Prints the path of the rootfs directory on stdout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=${TSBUILD_BUSYBOX:-/bin/busybox}
dest="$here/rootfs"

if ! "$src" --list >/dev/null 2>&1; then
  echo "prepare.sh: $src is not a working busybox (install busybox-static: scripts/setup.sh)" >&2
  exit 1
fi
if file "$src" 2>/dev/null | grep -q 'dynamically linked'; then
  echo "prepare.sh: $src is dynamically linked; FROM scratch needs a static busybox (busybox-static)" >&2
  exit 1
fi

stamp="$(cksum <"$src" | cut -d' ' -f1-2) v1"
exec 9>"$here/.prepare.lock"
flock 9
stampfile="$here/.rootfs.stamp"
if [ -d "$dest" ] && [ -f "$stampfile" ] && [ "$(cat "$stampfile")" = "$stamp" ]; then
  echo "$dest"
  exit 0
fi

tmp="$here/.rootfs.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/etc" "$tmp/root" "$tmp/tmp" "$tmp/home" "$tmp/var/tmp"
chmod 0755 "$tmp" "$tmp/bin" "$tmp/etc" "$tmp/home" "$tmp/var"
chmod 0700 "$tmp/root"
chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
cp "$src" "$tmp/bin/busybox"
chmod 0755 "$tmp/bin/busybox"
for applet in $("$src" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$tmp/bin/$applet"
done
cat >"$tmp/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
PW
cat >"$tmp/etc/group" <<'GR'
root:x:0:
nobody:x:65534:
GR
chmod 0644 "$tmp/etc/passwd" "$tmp/etc/group"
find "$tmp" -exec touch -h -r "$src" {} +

rm -f "$stampfile"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "$stamp" >"$stampfile.tmp"
mv -f "$stampfile.tmp" "$stampfile"
echo "$dest"
