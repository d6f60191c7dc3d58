#!/usr/bin/env bash
# Build pinned Kubernetes test tools (kube-apiserver, kube-controller-manager, kube-scheduler, etcd,
# kwok + its "fast" stages, helm) from the Go module proxy and cache them OUTSIDE the repo, one
# directory per tool and version:
#
#   ${STAMPEDE_TOOLS_CACHE:-$HOME/.cache/stampede-tools}/<tool>-<version>/
#
# With --node it also builds the node set, what a real node needs (internal/nodetest): kubelet,
# kube-proxy and the pause binary (from the same Kubernetes module), containerd + its runc shim +
# ctr, the CNI plugins, CoreDNS and metrics-server. runc is Debian's (make test-node installs it).
#
# stdout: only KEY=VALUE lines (no quoting; paths never contain newlines), for a caller to parse or
# `eval`/`source`. Progress and errors go to stderr. See .ci/k8s-tools.md.
#
#   .ci/k8s-tools.sh                     # ensure built + verified, print KEY=VALUE lines
#   .ci/k8s-tools.sh --env-file FILE     # ... and also write those lines to FILE
#   .ci/k8s-tools.sh --bin-dir           # ... but print only the directory of symlinks to all tools
#   .ci/k8s-tools.sh --rebuild           # throw away this version set's cached builds first
#   .ci/k8s-tools.sh --node              # the control-plane tools and the node set
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

# The node set (--node). kubelet, kube-proxy and pause come from KUBE_VERSION; pause's version is
# the TAG of build/pause/Makefile in that module.
CONTAINERD_VERSION=v2.3.7      # github.com/containerd/containerd/v2 (Kubernetes 1.36 wants 2.2+)
CNI_PLUGINS_VERSION=v1.10.0    # github.com/containernetworking/plugins
COREDNS_VERSION=v1.14.7        # github.com/coredns/coredns
COREDNS_PLUGINS="bind errors health ready kubernetes cache"  # what internal/nodetest's Corefile uses
METRICS_SERVER_VERSION=v0.8.0  # sigs.k8s.io/metrics-server
NODE_RECIPE=3                  # RECIPE for the node set alone

CACHE=${STAMPEDE_TOOLS_CACHE:-$HOME/.cache/stampede-tools}

mode=env env_file= rebuild=0 node=0
while [ $# -gt 0 ]; do
  case $1 in
    --env-file) env_file=${2:?--env-file needs a path}; shift ;;
    --env-file=*) env_file=${1#*=} ;;
    --bin-dir) mode=bindir ;;
    --rebuild) rebuild=1 ;;
    --node) node=1 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
KUBENODE_DIR=$CACHE/kubernetes-node-$KUBE_VERSION
CONTAINERD_DIR=$CACHE/containerd-$CONTAINERD_VERSION
CNI_DIR=$CACHE/cni-plugins-$CNI_PLUGINS_VERSION
COREDNS_DIR=$CACHE/coredns-$COREDNS_VERSION
METRICS_SERVER_DIR=$CACHE/metrics-server-$METRICS_SERVER_VERSION
NODE_BIN_DIR=$CACHE/bin-node-kubernetes-$KUBE_VERSION-containerd-$CONTAINERD_VERSION-cni-$CNI_PLUGINS_VERSION-coredns-$COREDNS_VERSION-metrics-server-$METRICS_SERVER_VERSION
CNI_PLUGINS="bridge host-local loopback portmap"
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

verify_kubenode() {
  local b
  for b in kubelet kube-proxy; do
    expect_output "$b" "Kubernetes $KUBE_VERSION" "$1/$b" --version || return 1
  done
  [ -s "$1/pause-version" ] || { echo "pause: $1/pause-version missing"; return 1; }
  expect_output pause "pause.c v$(cat "$1/pause-version")-" "$1/pause" -v || return 1
  # The sandbox image holds nothing but this binary: it must not need a C library.
  if command -v ldd >/dev/null && ldd "$1/pause" >/dev/null 2>&1; then
    echo "pause: $1/pause is dynamically linked"; return 1
  fi
}
verify_containerd() {
  expect_output containerd "containerd github.com/containerd/containerd/v2 $CONTAINERD_VERSION" "$1/containerd" --version || return 1
  expect_output ctr "ctr github.com/containerd/containerd/v2 $CONTAINERD_VERSION" "$1/ctr" --version || return 1
  expect_output containerd-shim-runc-v2 "Version:  $CONTAINERD_VERSION" "$1/containerd-shim-runc-v2" -v
}
verify_cni() {
  local p
  for p in $CNI_PLUGINS; do
    # A plugin run without CNI_COMMAND prints its "about" line.
    expect_output "$p" "plugin $CNI_PLUGINS_VERSION" env -u CNI_COMMAND "$1/$p" || return 1
  done
}
verify_coredns() {
  local out n
  expect_output coredns "CoreDNS-${COREDNS_VERSION#v}" "$1/coredns" -version || return 1
  # The minimal build: the node's plugins, and none of the default set's cloud ones.
  out=$("$1/coredns" -plugins 2>&1) || { echo "coredns: '$1/coredns -plugins' failed: $out"; return 1; }
  for n in $COREDNS_PLUGINS; do
    grep -qx "$n" <<<"$out" || { echo "coredns: -plugins does not list $n: $out"; return 1; }
  done
  if grep -qx route53 <<<"$out"; then echo "coredns: $1/coredns has route53, it is not the minimal build"; return 1; fi
}
verify_metrics_server() { expect_output metrics-server "$METRICS_SERVER_VERSION" "$1/metrics-server" --version; }

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
# kube_build OUT PACKAGE... builds commands of k8s.io/kubernetes@KUBE_VERSION into OUT.
kube_build() {
  local out=$1 work mod repl date; shift
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
  (cd "$work" && go build -mod=mod -ldflags "$ld" -o "$out/" "$@") || { rm -rf "$work"; return 1; }
  rm -rf "$work"
}

build_kube() { # OUT
  kube_build "$1" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler
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

# --- node set builders --------------------------------------------------------------------------
build_kubenode() { # OUT
  local out=$1 dir tag
  kube_build "$out" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy || return 1
  # The sandbox ("pause") container, as build/pause/Makefile builds it, with the C compiler.
  dir=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  tag=$(sed -n 's/^TAG ?= *//p' "$dir/build/pause/Makefile")
  [ -n "$tag" ] || { echo "no TAG in $dir/build/pause/Makefile"; return 1; }
  command -v gcc >/dev/null || { echo "pause needs gcc and a static C library: apt-get install gcc libc6-dev"; return 1; }
  gcc -Os -Wall -Werror -static -DVERSION="v$tag-$KUBE_VERSION" -o "$out/pause" "$dir/build/pause/linux/pause.c" \
    || { echo "pause: gcc -static failed (Debian: apt-get install gcc libc6-dev)"; return 1; }
  strip "$out/pause" 2>/dev/null || true
  echo "$tag" >"$out/pause-version"
}

build_containerd() { # OUT
  local out=$1 ld p=github.com/containerd/containerd/v2
  ld="-s -w -X $p/version.Version=$CONTAINERD_VERSION -X $p/version.Package=$p"
  GOBIN=$out go install -ldflags "$ld" "$p/cmd/containerd@$CONTAINERD_VERSION" \
    "$p/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" "$p/cmd/ctr@$CONTAINERD_VERSION"
}

build_cni() { # OUT
  local out=$1 p=github.com/containernetworking/plugins pkgs=() n
  for n in $CNI_PLUGINS; do
    case $n in host-local) pkgs+=("$p/plugins/ipam/$n@$CNI_PLUGINS_VERSION") ;;
      portmap) pkgs+=("$p/plugins/meta/$n@$CNI_PLUGINS_VERSION") ;;
      *) pkgs+=("$p/plugins/main/$n@$CNI_PLUGINS_VERSION") ;; esac
  done
  GOBIN=$out go install -ldflags "-s -w -X $p/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" "${pkgs[@]}"
}

build_coredns() { # OUT
  # Not `go install github.com/coredns/coredns@...`: that links CoreDNS's whole default plugin set,
  # cloud SDKs included (route53, azure, clouddns), 20 minutes of compiling on a cold cache. Our own
  # main links COREDNS_PLUGINS only; coremain still reports CoreDNS's version.
  local out=$1 work dir name pkg sep=
  work=$(mktemp -d)
  dir=$(go mod download -json "github.com/coredns/coredns@$COREDNS_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [ -f "$dir/plugin.cfg" ] || { echo "no plugin.cfg in github.com/coredns/coredns@$COREDNS_VERSION ($dir)"; rm -rf "$work"; return 1; }
  # plugin.cfg, which core/dnsserver/zdirectives.go is generated from, lists NAME:PACKAGE in the
  # order the plugins see a query; dnsserver.Directives must keep that order.
  awk -F: -v want=" $COREDNS_PLUGINS " '/^[^#]/ && index(want, " " $1 " ") {
      print $1, ($2 ~ /\//) ? $2 : "github.com/coredns/coredns/plugin/" $2 }' "$dir/plugin.cfg" >"$work/plugins"
  if [ "$(wc -l <"$work/plugins")" -ne "$(wc -w <<<"$COREDNS_PLUGINS")" ]; then
    echo "CoreDNS $COREDNS_VERSION's plugin.cfg has only $(cut -d' ' -f1 "$work/plugins" | paste -sd' ') of $COREDNS_PLUGINS"
    rm -rf "$work"; return 1
  fi
  {
    printf '// Command coredns is CoreDNS %s with the plugins %s only.\npackage main\n\nimport (\n' \
      "$COREDNS_VERSION" "$(cut -d' ' -f1 "$work/plugins" | paste -sd' ')"
    printf '\t"github.com/coredns/coredns/core/dnsserver"\n\t"github.com/coredns/coredns/coremain"\n\n'
    cut -d' ' -f2 "$work/plugins" | LC_ALL=C sort | while read -r pkg; do printf '\t_ "%s"\n' "$pkg"; done
    printf ')\n\nfunc main() {\n\tdnsserver.Directives = []string{'
    while read -r name pkg; do printf '%s"%s"' "$sep" "$name"; sep=', '; done <"$work/plugins"
    printf '}\n\tcoremain.Run()\n}\n'
  } >"$work/main.go"
  printf 'module stampede.local/k8s-tools/coredns\n\ngo %s\n\nrequire github.com/coredns/coredns %s\n' \
    "$(awk '$1=="go" {print $2; exit}' "$dir/go.mod")" "$COREDNS_VERSION" >"$work/go.mod"
  (cd "$work" && go build -mod=mod -ldflags "-s -w" -o "$out/coredns" .) || { rm -rf "$work"; return 1; }
  rm -rf "$work"
}

build_metrics_server() { # OUT
  # The version metrics-server reports is client-go's, as its Makefile sets it.
  local out=$1 ld="-s -w" kv
  for kv in "gitVersion=$METRICS_SERVER_VERSION" "gitTreeState=clean"; do ld="$ld -X k8s.io/client-go/pkg/version.$kv"; done
  GOBIN=$out go install -ldflags "$ld" "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
}

# --- driver -------------------------------------------------------------------------------------
tools=(kube etcd kwok helm)
declare -A DIR=([kube]=$KUBE_DIR [etcd]=$ETCD_DIR [kwok]=$KWOK_DIR [helm]=$HELM_DIR
  [kubenode]=$KUBENODE_DIR [containerd]=$CONTAINERD_DIR [cni]=$CNI_DIR [coredns]=$COREDNS_DIR
  [metrics_server]=$METRICS_SERVER_DIR)
node_tools=(kubenode containerd cni coredns metrics_server)
[ "$node" = 1 ] && tools+=("${node_tools[@]}")

# Helm's verification needs the expected default Kubernetes version. Cache it next to the build so
# a warm run does not need `go`.
helm_kv_file=$HELM_DIR/kube-version
if [ "$rebuild" = 0 ] && [ -s "$helm_kv_file" ]; then
  read -r HELM_KUBE_MAJOR HELM_KUBE_MINOR <"$helm_kv_file"
else
  command -v go >/dev/null || die "go not found in PATH"
  helm_kube_version
fi

recipe_of() {
  case " ${node_tools[*]} " in
    *" $1 "*) echo "recipe=$NODE_RECIPE tool=$1 dir=$(basename "${DIR[$1]}")" ;;
    *) echo "recipe=$RECIPE tool=$1 dir=$(basename "${DIR[$1]}")" ;;
  esac
}

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

# kubelet and kube-proxy compile mostly the control plane's packages (the same module set). When the
# control plane is built too, they start after it and find those in the Go build cache: two go
# commands running at once would each compile them.
after_kube=" kubenode "

start_build() { # TOOL
  local t=$1 d logf
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
}

if [ ${#need[@]} -gt 0 ]; then
  command -v go >/dev/null || die "go not found in PATH"
  declare -A PID=()
  now=() later=()
  for t in "${need[@]}"; do
    if [ "${need[0]}" = kube ] && [[ $after_kube == *" $t "* ]]; then later+=("$t"); else now+=("$t"); fi
  done
  log "building ${now[*]}${later[*]:+, then ${later[*]}} with $(go version) into $CACHE (logs: $CACHE/.logs/)"
  for t in "${now[@]}"; do start_build "$t"; done
  failed=()
  for t in "${need[@]}"; do # kube, when needed, comes first
    logf=$CACHE/.logs/$(basename "${DIR[$t]}").log
    if [ -z "${PID[$t]:-}" ]; then
      failed+=("$t")
      log "FAILED: $(basename "${DIR[$t]}"): not started, the control plane's build failed"
    elif wait "${PID[$t]}"; then
      log "built: $(basename "${DIR[$t]}"): $(grep -v '^go: downloading' "$logf" | tail -n 4 | paste -sd ';' -)"
    else
      failed+=("$t")
      log "FAILED: $(basename "${DIR[$t]}"); last lines of $logf:"
      tail -n 30 "$logf" | sed 's/^/    /' >&2
      rm -rf "${DIR[$t]}.tmp".*
    fi
    if [ "$t" = kube ] && [ ${#failed[@]} -eq 0 ]; then
      for l in "${later[@]}"; do start_build "$l"; done
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

if [ "$node" = 1 ]; then
  command -v runc >/dev/null || die "the node set uses Debian's runc: apt-get install runc (make test-node installs it)"
  mkdir -p "$NODE_BIN_DIR"
  for l in "$KUBENODE_DIR/kubelet" "$KUBENODE_DIR/kube-proxy" "$CONTAINERD_DIR/containerd" \
           "$CONTAINERD_DIR/containerd-shim-runc-v2" "$CONTAINERD_DIR/ctr" "$COREDNS_DIR/coredns" \
           "$METRICS_SERVER_DIR/metrics-server"; do
    [ "$(readlink "$NODE_BIN_DIR/$(basename "$l")" 2>/dev/null)" = "$l" ] || ln -sfn "$l" "$NODE_BIN_DIR/$(basename "$l")"
  done
  lines="$lines
STAMPEDE_NODE_TOOLS_BIN=$NODE_BIN_DIR
KUBELET=$KUBENODE_DIR/kubelet
KUBE_PROXY=$KUBENODE_DIR/kube-proxy
PAUSE=$KUBENODE_DIR/pause
PAUSE_VERSION=$(cat "$KUBENODE_DIR/pause-version")
CONTAINERD_VERSION=$CONTAINERD_VERSION
CONTAINERD=$CONTAINERD_DIR/containerd
CONTAINERD_SHIM=$CONTAINERD_DIR/containerd-shim-runc-v2
CTR=$CONTAINERD_DIR/ctr
RUNC=$(command -v runc)
CNI_PLUGINS_VERSION=$CNI_PLUGINS_VERSION
CNI_BIN_DIR=$CNI_DIR
COREDNS_VERSION=$COREDNS_VERSION
COREDNS=$COREDNS_DIR/coredns
METRICS_SERVER_VERSION=$METRICS_SERVER_VERSION
METRICS_SERVER=$METRICS_SERVER_DIR/metrics-server"
fi

if [ -n "$env_file" ]; then
  printf '%s\n' "$lines" >"$env_file.tmp.$$" && mv "$env_file.tmp.$$" "$env_file"
fi
if [ "$mode" = bindir ]; then
  echo "$BIN_DIR"
else
  printf '%s\n' "$lines"
fi
