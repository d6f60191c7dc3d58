#!/usr/bin/env bash
# Shows that the README's commands set themselves up: clones this repository's HEAD (committed work
# only) into a temporary directory and runs a command there with the tools that come from Debian
# packages hidden from the PATH, timing it.
#
#   .ci/fresh-clone.sh demo     # make demo
#   .ci/fresh-clone.sh setup    # make test-setup: all make test does before its first test
#   .ci/fresh-clone.sh test     # make test (about 40 minutes cold on 2 CPUs)
#   .ci/fresh-clone.sh dist     # make dist in two clones at different paths; their SHA256SUMS must agree
#
#   COLD=1 .ci/fresh-clone.sh demo   # also with empty Go build and module caches and Kubernetes tools cache
#   KEEP=1 ...                        # keep the temporary directory
#   DIST_PLATFORMS='linux/amd64' .ci/fresh-clone.sh dist
#
# Hidden: protoc, chromium, skopeo, node, npm, podman, podman-compose, runc and qemu-aarch64-static.
# The PATH is a directory of links to every other command of the caller's PATH. make test then
# finds none of them: as root it installs the missing packages with apt-get (a package already
# installed is left as it is) and links the commands into the clone's .tools/bin; not as root it
# stops with one line naming them. protoc is never needed (buf generates the code).
set -euo pipefail
mode=${1:?usage: $0 demo|setup|test|dist}
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/stampede-fresh.XXXXXX)
[ "${KEEP:-}" = 1 ] || trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

hidden=(protoc chromium skopeo node npm podman podman-compose runc qemu-aarch64-static)
mkdir "$tmp/path"
declare -A seen=()
for h in "${hidden[@]}"; do seen[$h]=1; done
links=()
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -d "$d" ] || continue
  for f in "$d"/*; do
    name=${f##*/}
    [ -z "${seen[$name]:-}" ] && [ -x "$f" ] && [ ! -d "$f" ] || continue
    seen[$name]=1
    links+=("$f")
  done
done
ln -s "${links[@]}" "$tmp/path/" # one process: each link is named after its target
for h in "${hidden[@]}"; do
  if PATH=$tmp/path command -v "$h" >/dev/null; then echo "fresh-clone: $h is still on the PATH" >&2; exit 1; fi
done
echo "fresh-clone: hidden from the PATH: ${hidden[*]}"

env=(PATH="$tmp/path")
if [ "${COLD:-}" = 1 ]; then
  env+=(GOCACHE="$tmp/cache/go-build" GOMODCACHE="$tmp/cache/go-mod" STAMPEDE_TOOLS_CACHE="$tmp/cache/tools"
    npm_config_cache="$tmp/cache/npm")
  echo "fresh-clone: cold: empty Go build, module, npm and Kubernetes tools caches"
fi

# step NAME DIR COMMAND...: runs a command in DIR with the hidden PATH and prints its time.
step() {
  local name=$1 dir=$2 start end rc=0
  shift 2
  echo "fresh-clone: $name: $*"
  start=$(date +%s)
  (cd "$dir" && env "${env[@]}" "$@") || rc=$?
  end=$(date +%s)
  echo "fresh-clone: $name: exit $rc after $((end - start)) s"
  return $rc
}

clone() {
  git clone -q --no-local "$repo" "$1"
  git -C "$1" log -1 --format='fresh-clone: %h %s' | cut -c1-120
}

case $mode in
  demo)
    clone "$tmp/stampede"
    [ ! -e "$tmp/stampede/tmp" ] || { echo "fresh-clone: the clone has a tmp/" >&2; exit 1; }
    step "make demo" "$tmp/stampede" make demo
    test -s "$tmp/stampede/tmp/demo-summary.json"
    echo "fresh-clone: tmp/demo-summary.json written"
    ;;
  setup) clone "$tmp/stampede"; step "make test-setup" "$tmp/stampede" make test-setup ;;
  test) clone "$tmp/stampede"; step "make test" "$tmp/stampede" make test ;;
  dist)
    clone "$tmp/a"
    clone "$tmp/elsewhere/b"
    for c in "$tmp/a" "$tmp/elsewhere/b"; do
      step "make dist in $c" "$c" make dist ${DIST_PLATFORMS:+DIST_PLATFORMS="$DIST_PLATFORMS"}
    done
    ls -l "$tmp/a/dist/release"
    if diff "$tmp/a/dist/release/SHA256SUMS" "$tmp/elsewhere/b/dist/release/SHA256SUMS"; then
      echo "fresh-clone: both clones' archives are byte for byte the same:"
      cat "$tmp/a/dist/release/SHA256SUMS"
    else
      echo "fresh-clone: the archives differ between clones" >&2
      exit 1
    fi
    ;;
  *) echo "fresh-clone: unknown mode $mode (demo, setup, test or dist)" >&2; exit 2 ;;
esac
