#!/usr/bin/env bash
# Sets a fresh Debian bookworm machine (root, Node 20, nothing else) up for tsbuild: system packages, the
# podman/buildah configuration this kind of host needs, node_modules (with Node 24 as a devDependency) and dist/.
#
# Idempotent and fast when already done: apt runs only for missing packages, files are rewritten only when their
# content differs, `npm ci` runs only when package-lock.json changed since the last successful install, and
# `npm run build` is incremental enough to just run.
#
# Options: --no-npm (system part only), --force-npm (reinstall node_modules even if the lock is unchanged).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

do_npm=1
force_npm=0
for a in "$@"; do
  case "$a" in
    --no-npm) do_npm=0 ;;
    --force-npm) force_npm=1 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

tag=setup
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root (tsbuild's sandboxes, overlay mounts and apt all need it)"

# --- system packages -------------------------------------------------------------------------------------------
# Each name is checked against bookworm with `apt-cache policy`. docker-registry is the CNCF distribution
# registry (Debian's name for it); uidmap gives podman its newuidmap helpers; attr gives setfattr/getfattr.
packages=(
  runc crun busybox-static mmdebstrap skopeo umoci podman buildah docker-registry tmux openssl apache2-utils
  curl xz-utils bzip2 zstd attr ca-certificates uidmap git file
)
apt_install_missing "${packages[@]}"

# --- podman / buildah ------------------------------------------------------------------------------------------
# What this host needs, found by trial (`podman run` of a busybox image imported with `podman import`):
# - runtime runc: crun fails with "cgroups in hybrid mode not supported".
# - cgroup_manager cgroupfs: no systemd as PID 1 here.
# - default_ulimits empty: the default raises RLIMIT_NOFILE above the hard limit (20000) and there is no
#   CAP_SYS_RESOURCE, so runc fails with "error setting rlimit type 7: operation not permitted".
write_if_changed() { # path content
  local path=$1 content=$2
  if [ -f "$path" ] && [ "$(cat "$path")" = "$content" ]; then return 0; fi
  mkdir -p "$(dirname "$path")"
  printf '%s\n' "$content" >"$path.tmp.$$"
  sync -f "$path.tmp.$$" 2>/dev/null || true
  mv -f "$path.tmp.$$" "$path"
  say "wrote $path"
}
write_if_changed /etc/containers/containers.conf.d/50-tsbuild.conf '# Written by tsbuild scripts/setup.sh: what podman and buildah need on this kind of host.
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"'

# --- kernel features the tests rely on ---------------------------------------------------------------------------
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || die "overlayfs is not available (tsbuild snapshots need it)"
command -v runc >/dev/null || die "runc is missing after install"

# --- node_modules and dist -------------------------------------------------------------------------------------
if [ "$do_npm" = 1 ]; then
  stamp=node_modules/.tsbuild-setup-lock.sha256
  want=$( { sha256sum package.json; [ -f package-lock.json ] && sha256sum package-lock.json; } | sha256sum | cut -d' ' -f1)
  node24() { [ -x node_modules/node/bin/node ] && node_modules/node/bin/node --version 2>/dev/null | grep -q '^v24\.'; }
  if [ "$force_npm" = 1 ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! node24; then
    command -v npm >/dev/null || die "npm is missing (Node 20 with npm is expected on this machine)"
    say "installing node_modules"
    # npm 11 only warns about the `node` package's preinstall (it downloads Node 24); a user config with
    # strict-allow-scripts would fail the whole install, so it is switched off for this one command.
    if [ -f package-lock.json ]; then
      npm ci --no-audit --no-fund --strict-allow-scripts=false
    else
      npm install --no-audit --no-fund --strict-allow-scripts=false
    fi
    if ! node24; then
      # A future npm may skip unapproved install scripts silently: run the `node` package's own installer.
      say "node_modules/node has no Node 24 binary; running its installer"
      (cd node_modules/node && node installArchSpecificPackage)
    fi
    node24 || die "node_modules/node/bin/node is not Node 24 (got: $(node_modules/node/bin/node --version 2>&1 || true))"
    printf '%s\n' "$want" >"$stamp"
  else
    say "node_modules up to date (Node $(node_modules/node/bin/node --version))"
  fi
  say "building dist/"
  npm run --silent build
fi
say "done"
