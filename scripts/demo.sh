#!/usr/bin/env bash
# The README's demo: build a busybox and a Debian base from nothing, build nginx on the Debian base, run it on the
# host network, fetch its welcome page and stop it. Everything with ./bin/tsbuild; run scripts/setup.sh first.
#
# Images go to the normal store (TSBUILD_ROOT, default /var/lib/tsbuild for root), so they stay for you to play
# with afterwards: ./bin/tsbuild run --rm -it busybox sh
# nginx listens on port 80 of the host (host network); the demo refuses to start if something already does.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (RUN steps use runc and overlay mounts)"
[ -f dist/cli/main.js ] || die "tsbuild is not built: run ./scripts/setup.sh first"
tsbuild=./bin/tsbuild
port=80
url="http://127.0.0.1:$port/"

if curl -s -o /dev/null -m 2 "$url"; then die "something already answers on $url; stop it first (nginx needs port $port)"; fi

say "preparing base contexts (busybox binary; Debian rootfs via mmdebstrap, ~25 s the first time, then cached)"
examples/busybox/prepare.sh >/dev/null
examples/debian/prepare.sh >/dev/null

say "tsbuild -t busybox:latest examples/busybox"
"$tsbuild" -t busybox:latest examples/busybox
say "tsbuild -t debian:bookworm examples/debian"
"$tsbuild" -t debian:bookworm examples/debian
say "tsbuild -t mynginx examples/nginx"
"$tsbuild" -t mynginx examples/nginx

say "tsbuild run --rm --network host mynginx"
log=$(mktemp /tmp/tsbuild-demo-nginx.XXXXXX.log)
# setsid: a process group of its own, so stopping it reaches tsbuild run and whatever it started.
setsid "$tsbuild" run --rm --network host mynginx >"$log" 2>&1 &
pid=$!
stop() {
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "demo: tsbuild run ignored SIGTERM for 10 s; killing it" >&2
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}
trap stop EXIT

page=""
for _ in $(seq 1 60); do
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$log" >&2
    die "tsbuild run exited before nginx answered"
  fi
  if page=$(curl -fsS -m 2 "$url" 2>/dev/null); then break; fi
  sleep 0.5
done
[ -n "$page" ] || { cat "$log" >&2; die "nginx did not answer on $url within 30 s"; }

say "curl $url"
printf '%s\n' "$page"
grep -q 'Welcome to nginx!' <<<"$page" || die "the page is not nginx's welcome page"

say "stopping nginx"
stop
trap - EXIT
rm -f "$log"
say "demo done: busybox:latest, debian:bookworm and mynginx are in the store ($("$tsbuild" --version 2>/dev/null | head -n1))"
