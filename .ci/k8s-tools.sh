#!/usr/bin/env bash
# Build pinned Kubernetes test tools (kube-apiserver, kube-controller-manager, kube-scheduler, etcd,
# kwok + its "fast" stages, helm) from the Go module proxy and cache them OUTSIDE the repo, one
# directory per tool and version:
#
#   ${STAMPEDE_TOOLS_CACHE:-$HOME/.cache/stampede-tools}/<tool>-<version>/
#
# stdout: only KEY=VALUE lines (no quoting; paths never contain newlines), for a caller to parse or
# `eval`/`source`. Progress and errors go to stderr. See .ci/k8s-tools.md.
#
#   .ci/k8s-tools.sh                     # ensure built + verified, print KEY=VALUE lines
#   .ci/k8s-tools.sh --env-file FILE     # ... and also write those lines to FILE
#   .ci/k8s-tools.sh --bin-dir           # ... but print only the directory of symlinks to all tools
#   .ci/k8s-tools.sh --rebuild           # throw away this version set's cached builds first
#
# Idempotent: a warm run only runs each binary's version command. Concurrent runs serialise on a
# lock file in the cache dir. A build is published (renamed into place) only after it verified.
set -euo pipefail

# --- pins (bump here; everything else is derived) ---------------------------------------------
KUBE_VERSION=v1.36.3     # k8s.io/kubernetes; staging modules are v0.<minor>.<patch>
ETCD_VERSION=v3.6.16     # go.etcd.io/etcd/server/v3
KWOK_VERSION=v0.8.0      # sigs.k8s.io/kwok
HELM_VERSION=v3.22.0     # helm.sh/helm/v3
RECIPE=1                 # bump when the build recipe (not a version) changes, to force rebuilds

CACHE=${STAMPEDE_TOOLS_CACHE:-$HOME/.cache/stampede-tools}

mode=env env_file= rebuild=0
while [ $# -gt 0 ]; do
  case $1 in
    --env-file) env_file=${2:?--env-file needs a path}; shift ;;
    --env-file=*) env_file=${1#*=} ;;
    --bin-dir) mode=bindir ;;
    --rebuild) rebuild=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "k8s-tools: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

case $env_file in ''|/*) ;; *) env_file=$PWD/$env_file ;; esac

log() { echo "k8s-tools: $*" >&2; }
die() { echo "k8s-tools: ERROR: $*" >&2; exit 1; }

kube_minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
kube_patch=$(echo "$KUBE_VERSION" | cut -d. -f3)
STAGING_VERSION=v0.$kube_minor.$kube_patch

KUBE_DIR=$CACHE/kubernetes-$KUBE_VERSION
ETCD_DIR=$CACHE/etcd-$ETCD_VERSION
KWOK_DIR=$CACHE/kwok-$KWOK_VERSION
HELM_DIR=$CACHE/helm-$HELM_VERSION
BIN_DIR=$CACHE/bin-kubernetes-$KUBE_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-helm-$HELM_VERSION
STAMP=.stampede-tools-ok

mkdir -p "$CACHE/.logs"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  log "waiting for another k8s-tools run (lock $CACHE/.lock)"
  flock 9
fi

# Build environment: static, reproducible-ish, independent of the caller's module/workspace.
# Run go from inside the cache so no enclosing go.mod (and its toolchain line) is consulted.
export CGO_ENABLED=0 GOFLAGS=-trimpath GOWORK=off GO111MODULE=on
unset GOOS GOARCH GOBIN
cd "$CACHE"

# --- verification (run on every invocation; must be cheap) -----------------------------------
# expect_output NAME WANT CMD... : CMD's combined output must contain WANT.
expect_output() {
  local name=$1 want=$2 out; shift 2
  if ! out=$("$@" 2>&1); then
    echo "$name: '$*' failed: $out"; return 1
  fi
  case $out in
    *"$want"*) printf '%s\n' "$out" | head -n1 ;;
    *) echo "$name: '$*' printed '$out', want it to contain '$want'"; return 1 ;;
  esac
}

verify_kube() { # DIR
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    expect_output "$b" "Kubernetes $KUBE_VERSION" "$1/$b" --version || return 1
  done
}
verify_etcd() { expect_output etcd "etcd Version: ${ETCD_VERSION#v}" "$1/etcd" --version; }
verify_kwok() {
  expect_output kwok "${KWOK_VERSION#v}" "$1/kwok" --version || return 1
  [ -s "$1/stages-fast.yaml" ] && [ -s "$1/stage/node/fast/node-initialize.yaml" ] \
    && [ -s "$1/stage/pod/fast/pod-ready.yaml" ] || { echo "kwok: stage YAMLs missing in $1"; return 1; }
}
verify_helm() {
  expect_output helm "$HELM_VERSION" "$1/helm" version --template '{{.Version}}' || return 1
  # The default Capabilities.KubeVersion (helm template / lint without a cluster) must be the
  # one we linked in, not helm's built-in fallback v1.20.0.
  local want=v$HELM_KUBE_MAJOR.$HELM_KUBE_MINOR.0 chart got
  chart=$(mktemp -d)
  mkdir -p "$chart/c/templates"
  printf 'apiVersion: v2\nname: c\nversion: 0.1.0\n' >"$chart/c/Chart.yaml"
  printf 'kubeVersion: {{ .Capabilities.KubeVersion.Version }}\n' >"$chart/c/templates/kv.yaml"
  got=$(HELM_CACHE_HOME=$chart/h HELM_CONFIG_HOME=$chart/h HELM_DATA_HOME=$chart/h \
    "$1/helm" template "$chart/c" 2>&1) || { rm -rf "$chart"; echo "helm template failed: $got"; return 1; }
  rm -rf "$chart"
  case $got in
    *"kubeVersion: $want"*) echo "helm template default KubeVersion $want" ;;
    *) echo "helm: default KubeVersion is not $want: $got"; return 1 ;;
  esac
}

# Helm's upstream release build sets its default Kubernetes version from the client-go it is
# built against (Makefile: major = 1 + client-go major, minor = client-go minor).
helm_kube_version() {
  local mod cg
  mod=$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  [ -f "$mod" ] || die "cannot download helm.sh/helm/v3@$HELM_VERSION go.mod"
  cg=$(awk '$1=="k8s.io/client-go" {print $2; exit}' "$mod")
  [ -n "$cg" ] || die "no k8s.io/client-go requirement in $mod"
  cg=${cg#v}
  HELM_KUBE_MAJOR=$(( ${cg%%.*} + 1 ))
  HELM_KUBE_MINOR=$(echo "$cg" | cut -d. -f2)
}

# --- builders: each gets an empty OUT dir, fills it, returns non-zero on failure ---------------
build_kube() { # OUT
  local out=$1 work mod repl date
  work=$(mktemp -d)
  mod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  [ -f "$mod" ] || { echo "cannot download k8s.io/kubernetes@$KUBE_VERSION"; return 1; }
  # k8s.io/kubernetes replaces its staging modules with ./staging/...; a consumer must replace them
  # with the published v0.x.y modules itself. Take the list from its own go.mod.
  repl=$(sed -n '/^replace (/,/^)/p' "$mod" | awk '$2=="=>" && $3 ~ /^\.\/staging\// {print $1}' | grep -vx 'k8s.io/sample-cli-plugin')
  [ -n "$repl" ] || { echo "no staging replaces found in $mod"; return 1; }
  {
    printf 'module stampede.local/k8s-tools/kubernetes\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' \
      "$(awk '$1=="go" {print $2; exit}' "$mod")" "$KUBE_VERSION"
    for m in $repl; do printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"; done
    printf ')\n'
  } >"$work/go.mod"
  date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "${mod%.mod}.info")
  local ld="-s -w" pkg kv
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    for kv in "gitVersion=$KUBE_VERSION" "gitMajor=1" "gitMinor=$kube_minor" "gitTreeState=clean" "buildDate=$date"; do
      ld="$ld -X $pkg.$kv"
    done
  done
  (cd "$work" && go build -mod=mod -ldflags "$ld" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler) || { rm -rf "$work"; return 1; }
  rm -rf "$work"
}

build_etcd() { # OUT
  # `go install go.etcd.io/etcd/server/v3@...` refuses (its go.mod has replace directives), so
  # build the module's root package (server/main.go, package main) from a throwaway module.
  local out=$1 work
  work=$(mktemp -d)
  printf 'module stampede.local/k8s-tools/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$work/go.mod"
  (cd "$work" && go build -mod=mod -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3) || { rm -rf "$work"; return 1; }
  rm -rf "$work"
}

build_kwok() { # OUT
  local out=$1 dir s
  GOBIN=$out go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" || return 1
  dir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [ -d "$dir/kustomize/stage" ] || { echo "no kustomize/stage in sigs.k8s.io/kwok@$KWOK_VERSION ($dir)"; return 1; }
  : >"$out/stages-fast.yaml"
  for s in node/fast pod/fast; do
    mkdir -p "$out/stage/$s"
    for f in "$dir/kustomize/stage/$s"/*.yaml; do
      [ "$(basename "$f")" = kustomization.yaml ] && continue
      cp "$f" "$out/stage/$s/"
      chmod u+w "$out/stage/$s/$(basename "$f")"
      { echo "---"; cat "$f"; } >>"$out/stages-fast.yaml"
    done
  done
}

build_helm() { # OUT
  local out=$1 ld="-s -w"
  ld="$ld -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ld="$ld -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  ld="$ld -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$HELM_KUBE_MAJOR"
  ld="$ld -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_KUBE_MINOR"
  ld="$ld -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$HELM_KUBE_MAJOR"
  ld="$ld -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_KUBE_MINOR"
  GOBIN=$out go install -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

# --- driver -------------------------------------------------------------------------------------
tools=(kube etcd kwok helm)
declare -A DIR=([kube]=$KUBE_DIR [etcd]=$ETCD_DIR [kwok]=$KWOK_DIR [helm]=$HELM_DIR)

# Helm's verification needs the expected default Kubernetes version. Cache it next to the build so
# a warm run does not need `go`.
helm_kv_file=$HELM_DIR/kube-version
if [ "$rebuild" = 0 ] && [ -s "$helm_kv_file" ]; then
  read -r HELM_KUBE_MAJOR HELM_KUBE_MINOR <"$helm_kv_file"
else
  command -v go >/dev/null || die "go not found in PATH"
  helm_kube_version
fi

recipe_of() { echo "recipe=$RECIPE tool=$1 dir=$(basename "${DIR[$1]}")"; }

need=()
for t in "${tools[@]}"; do
  d=${DIR[$t]}
  if [ "$rebuild" = 1 ]; then rm -rf "$d"; fi
  if [ -f "$d/$STAMP" ] && [ "$(cat "$d/$STAMP")" = "$(recipe_of "$t")" ]; then
    if msg=$("verify_$t" "$d" 2>&1); then
      log "cached: $(basename "$d") ($(echo "$msg" | head -n1))"
      continue
    fi
    log "cached $(basename "$d") failed verification, rebuilding: $msg"
  fi
  need+=("$t")
done

if [ ${#need[@]} -gt 0 ]; then
  command -v go >/dev/null || die "go not found in PATH"
  log "building ${need[*]} with $(go version) into $CACHE (logs: $CACHE/.logs/)"
  declare -A PID=()
  for t in "${need[@]}"; do
    d=${DIR[$t]}
    logf=$CACHE/.logs/$(basename "$d").log
    (
      set -e
      start=$(date +%s)
      tmp=$d.tmp.$$
      rm -rf "$tmp" "$d"
      mkdir -p "$tmp"
      "build_$t" "$tmp"
      "verify_$t" "$tmp"
      [ "$t" = helm ] && echo "$HELM_KUBE_MAJOR $HELM_KUBE_MINOR" >"$tmp/kube-version"
      recipe_of "$t" >"$tmp/$STAMP"
      mv "$tmp" "$d"
      echo "built in $(( $(date +%s) - start ))s"
    ) >"$logf" 2>&1 &
    PID[$t]=$!
  done
  failed=()
  for t in "${need[@]}"; do
    logf=$CACHE/.logs/$(basename "${DIR[$t]}").log
    if wait "${PID[$t]}"; then
      log "built: $(basename "${DIR[$t]}"): $(grep -v '^go: downloading' "$logf" | tail -n 4 | paste -sd ';' -)"
    else
      failed+=("$t")
      log "FAILED: $(basename "${DIR[$t]}"); last lines of $logf:"
      tail -n 30 "$logf" | sed 's/^/    /' >&2
      rm -rf "${DIR[$t]}.tmp".*
    fi
  done
  [ ${#failed[@]} -eq 0 ] || die "build failed for: ${failed[*]}"
fi

# One directory with symlinks to everything (usable as PATH entry or KUBEBUILDER_ASSETS).
mkdir -p "$BIN_DIR"
for l in "$KUBE_DIR/kube-apiserver" "$KUBE_DIR/kube-controller-manager" "$KUBE_DIR/kube-scheduler" \
         "$ETCD_DIR/etcd" "$KWOK_DIR/kwok" "$HELM_DIR/helm"; do
  [ "$(readlink "$BIN_DIR/$(basename "$l")" 2>/dev/null)" = "$l" ] || ln -sfn "$l" "$BIN_DIR/$(basename "$l")"
done

lines="STAMPEDE_TOOLS_CACHE=$CACHE
STAMPEDE_TOOLS_BIN=$BIN_DIR
KUBE_VERSION=$KUBE_VERSION
KUBE_APISERVER=$KUBE_DIR/kube-apiserver
KUBE_CONTROLLER_MANAGER=$KUBE_DIR/kube-controller-manager
KUBE_SCHEDULER=$KUBE_DIR/kube-scheduler
ETCD_VERSION=$ETCD_VERSION
ETCD=$ETCD_DIR/etcd
KWOK_VERSION=$KWOK_VERSION
KWOK=$KWOK_DIR/kwok
KWOK_STAGES=$KWOK_DIR/stages-fast.yaml
KWOK_STAGES_DIR=$KWOK_DIR/stage
HELM_VERSION=$HELM_VERSION
HELM=$HELM_DIR/helm"

if [ -n "$env_file" ]; then
  printf '%s\n' "$lines" >"$env_file.tmp.$$" && mv "$env_file.tmp.$$" "$env_file"
fi
if [ "$mode" = bindir ]; then
  echo "$BIN_DIR"
else
  printf '%s\n' "$lines"
fi
