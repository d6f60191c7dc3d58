#!/usr/bin/env bash
# The Debian packages a make target needs, each named by a command it provides:
#
#   .ci/debian-deps.sh --bin .tools/bin --for 'make test' chromium:chromium node:nodejs skopeo:skopeo
#
# A command found on the PATH is used as it is. One an installed package provides outside the PATH
# is linked into --bin. For the rest: as root, their packages are installed with apt-get (and the
# commands linked); not as root, it prints one line naming the packages and the apt-get command,
# and exits 1.
set -euo pipefail

bin= for=make
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=${2:?--bin needs a directory}; shift ;;
    --for) for=${2:?--for needs a name}; shift ;;
    *) break ;;
  esac
  shift
done
[ -n "$bin" ] || { echo "debian-deps: --bin is required" >&2; exit 2; }
mkdir -p "$bin"
export PATH="$bin:$PATH"

missing_cmds=()
for want in "$@"; do
  command -v "${want%%:*}" >/dev/null || missing_cmds+=("$want")
done
[ ${#missing_cmds[@]} -eq 0 ] && exit 0

# installed CMD prints where an installed package put CMD, if one did.
installed() {
  local d
  for d in /usr/local/bin /usr/bin /bin /usr/sbin /sbin; do
    if dpkg -S "$d/$1" >/dev/null 2>&1 && [ -x "$d/$1" ]; then echo "$d/$1"; return; fi
  done
  return 1
}

# Installed, yet not on this PATH (another package may provide it: nodejs from NodeSource has npm):
# link each such command from where its package put it.
link_installed() {
  local want cmd path left=()
  for want in "${missing_cmds[@]}"; do
    cmd=${want%%:*}
    if command -v dpkg >/dev/null && path=$(installed "$cmd"); then
      ln -sfn "$path" "$bin/$cmd"
      echo "$for: $cmd is not on the PATH: linked $bin/$cmd -> $path" >&2
    else
      left+=("$want")
    fi
  done
  missing_cmds=("${left[@]}")
}
link_installed
[ ${#missing_cmds[@]} -eq 0 ] && exit 0
missing_pkgs=()
for want in "${missing_cmds[@]}"; do
  pkg=${want#*:}
  [[ " ${missing_pkgs[*]} " == *" $pkg "* ]] || missing_pkgs+=("$pkg")
done

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "$for needs the Debian package(s) ${missing_pkgs[*]}: run as root 'apt-get install ${missing_pkgs[*]}' (or run $for as root, which installs them)" >&2
  exit 1
fi
echo "$for: apt-get install ${missing_pkgs[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing_pkgs[@]}" >/dev/null
link_installed
if [ ${#missing_cmds[@]} -gt 0 ]; then
  echo "$for: installed ${missing_pkgs[*]}, yet found no ${missing_cmds[*]%%:*}" >&2
  exit 1
fi
