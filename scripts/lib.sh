# Shared by the scripts in this folder (sourced after setting `tag`, the message prefix): messages and apt
# installs of missing packages.
# shellcheck shell=bash

say() { printf '\033[1m%s:\033[0m %s\n' "${tag:?}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${tag:?}" "$*" >&2; exit 1; }

# apt_install_missing PACKAGE...: installs the packages dpkg does not list as installed; runs `apt-get update`
# only when something must be installed.
apt_install_missing() {
  local missing=() p
  for p in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    say "system packages present"
    return 0
  fi
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
