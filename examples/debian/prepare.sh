#!/usr/bin/env bash
# Prepares the build context of examples/debian: rootfs.tar, a minbase Debian bookworm made by mmdebstrap.
#
# The tarball is built once per machine into a shared cache (TSBUILD_EXAMPLES_CACHE, default
# /var/cache/tsbuild-examples) and reused afterwards, because mmdebstrap takes ~25 s and the tests, the demo
# and the bench all want the same base. `--refresh` rebuilds it. The tarball is written to a temp file and
# renamed, under a lock, so concurrent callers (parallel test workers) never see half a tarball.
#
# apt inside the rootfs must reach Debian the way the host does: when the host's own apt sources are for this
# suite they are used verbatim (this machine's mirror may be special), otherwise mmdebstrap's defaults
# (deb.debian.org with -updates and -security); and the host's apt.conf.d files that relax Release-file checks
# (a snapshot mirror's Valid-Until lies in the past) are copied into the rootfs.
# The merged-usr hook gives the merged /usr that bookworm expects through the tiny usr-is-merged package;
# without it apt picks `usrmerge`, which drags perl in and makes the base 170 MB instead of ~120 MB.
# /dev is left empty (--skip=output/dev), as in Docker's debian images: the sandbox mounts a fresh /dev anyway.
#
# Prints the path of the cached tarball on stdout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${TSBUILD_EXAMPLES_CACHE:-/var/cache/tsbuild-examples}
suite=bookworm
out="$cache/debian-$suite-minbase.tar"
refresh=0
link=1
for a in "$@"; do
  case "$a" in
    --refresh) refresh=1 ;;
    --cache-only) link=0 ;;
    -h|--help) echo "usage: $0 [--refresh] [--cache-only]"; exit 0 ;;
    *) echo "prepare.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" != 0 ]; then echo "prepare.sh: must run as root (mmdebstrap in root mode)" >&2; exit 1; fi
command -v mmdebstrap >/dev/null || { echo "prepare.sh: mmdebstrap missing; run scripts/setup.sh" >&2; exit 1; }

mkdir -p "$cache"
exec 9>"$cache/.debian-$suite.lock"
flock 9

if [ "$refresh" = 1 ] || [ ! -s "$out" ]; then
  aptopts=()
  for f in /etc/apt/apt.conf.d/*; do
    [ -f "$f" ] || continue
    if grep -qE '^[[:space:]]*Acquire::Check-(Valid-Until|Date)' "$f"; then aptopts+=(--aptopt="$f"); fi
  done
  mirrors=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -s "$f" ] || continue
    if grep -qE "^[^#]*\b$suite\b" "$f" && grep -qE '^[^#]*(deb |Types:)' "$f"; then mirrors+=("$f"); fi
  done
  tmp="$out.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  # SOURCE_DATE_EPOCH (start of today, UTC, unless given) makes two builds from the same mirror state identical.
  export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(date -u -d "$(date -u +%F)" +%s)}
  echo "prepare.sh: mmdebstrap --variant=minbase $suite (about 25 s) -> $out" >&2
  log="$cache/debian-$suite.log"
  if ! mmdebstrap --quiet --variant=minbase --format=tar --skip=output/dev \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    "${aptopts[@]}" "$suite" "$tmp" "${mirrors[@]}" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "prepare.sh: mmdebstrap failed (full log: $log)" >&2
    exit 1
  fi
  sync -f "$tmp" 2>/dev/null || sync
  mv -f "$tmp" "$out"
  trap - EXIT
fi

if [ "$link" = 1 ]; then
  # A hard link costs nothing on the same file system; fall back to a copy (temp + rename) across devices.
  dest="$here/rootfs.tar"
  if ! [ "$dest" -ef "$out" ]; then
    rm -f "$dest.tmp.$$"
    ln "$out" "$dest.tmp.$$" 2>/dev/null || cp "$out" "$dest.tmp.$$"
    mv -f "$dest.tmp.$$" "$dest"
  fi
fi
echo "$out"
