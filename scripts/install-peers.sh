#!/usr/bin/env bash
# Installs and starts the benchmark peers (never needed by the tests): Docker's engine (docker.io, with BuildKit
# built in: DOCKER_BUILDKIT=1) and buildah (installed by setup.sh). Then builds the example bases busybox:latest
# and debian:bookworm in each peer from the same Dockerfiles tsbuild uses, so peers build bench Dockerfiles
# FROM the same images without any registry.
#
# dockerd runs with --iptables=false --bridge=none (this host has no iptables/bridge for it): peers build with
# --network=host. Its log is /var/log/tsbuild-dockerd.log. Idempotent: a running dockerd is reused and bases
# already present are not rebuilt (--rebuild-bases forces it).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rebuild=0
for a in "$@"; do
  case "$a" in
    --rebuild-bases) rebuild=1 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-peers.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
tag=peers
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
[ "$(id -u)" = 0 ] || die "run as root"

apt_install_missing docker.io buildah

# This machine has a standalone Docker 28 CLI in /usr/local/bin, which needs the buildx plugin for BuildKit (not
# packaged in bookworm); the docker.io package's own 20.10 client has BuildKit built in (DOCKER_BUILDKIT=1).
docker=${TSBUILD_BENCH_DOCKER:-}
if [ -z "$docker" ]; then
  if [ -x /usr/bin/docker ]; then docker=/usr/bin/docker; else docker=docker; fi
fi
docker() { command "$docker" "$@"; }

# --- dockerd ---------------------------------------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: /var/log/tsbuild-dockerd.log)"
  # setsid: dockerd must outlive this script and not get its terminal's signals.
  setsid dockerd --iptables=false --ip6tables=false --bridge=none --exec-opt native.cgroupdriver=cgroupfs \
    >>/var/log/tsbuild-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { tail -n 20 /var/log/tsbuild-dockerd.log >&2; die "dockerd did not come up"; }
fi
say "dockerd $(docker version --format '{{.Server.Version}}')"

# --- bases -----------------------------------------------------------------------------------------------------
examples/busybox/prepare.sh >/dev/null
examples/debian/prepare.sh >/dev/null

docker_has() { docker image inspect "$1" >/dev/null 2>&1; }
buildah_has() { buildah inspect --type image "$1" >/dev/null 2>&1; }
for pair in busybox:latest=examples/busybox debian:bookworm=examples/debian; do
  image=${pair%%=*}
  dir=${pair#*=}
  if [ "$rebuild" = 1 ] || ! docker_has "$image"; then
    say "docker: building $image from $dir"
    DOCKER_BUILDKIT=1 docker build -q -t "$image" "$dir" >/dev/null
  fi
  if [ "$rebuild" = 1 ] || ! buildah_has "docker.io/library/$image"; then
    say "buildah: building docker.io/library/$image from $dir"
    buildah bud --quiet --isolation oci -t "docker.io/library/$image" "$dir" >/dev/null
  fi
done
say "peers ready: docker (BuildKit) and buildah, with busybox:latest and debian:bookworm"
