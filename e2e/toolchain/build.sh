#!/usr/bin/env bash
# Builds the pinned Kubernetes test binaries and Crossplane from the wrapper Go modules beside this script and caches
# them by version under $TOOLS_DIR (default .tools). The version of each component is read from its go.mod, so the
# go.mod/go.sum pair is the single pin. Binaries found in $KUBEBUILDER_ASSETS are used instead of building.
#
#   build.sh            build everything missing
#   build.sh kubernetes build one component (kubernetes | etcd | helm | crossplane | prometheus-operator | kustomize |
#                       argocd | flux-source | flux-kustomize | flux-helm)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tools=${TOOLS_DIR:-$root/.tools}
bin="$tools/bin"
mkdir -p "$bin"

# The machines ship Go in /usr/local/go without always putting it on PATH.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || { echo "build.sh: a Go toolchain (>= 1.24) is needed to build the test clusters, or set KUBEBUILDER_ASSETS" >&2; exit 1; }

# module_version DIR MODULE: the version DIR/go.mod requires of MODULE.
module_version() {
  (cd "$here/$1" && go list -m -f '{{.Version}}' "$2")
}

# from_assets NAME: link NAME from KUBEBUILDER_ASSETS when the user provides it.
from_assets() {
  local name=$1
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$name" ]; then
    ln -sfn "$KUBEBUILDER_ASSETS/$name" "$bin/$name"
    echo "using $name from KUBEBUILDER_ASSETS ($KUBEBUILDER_ASSETS)"
    return 0
  fi
  return 1
}

# link TARGET LINK: LINK in $bin pointing at TARGET in the cache relative to it, so a cache that is moved or reached
# through another path (a CI checkout linking .tools) still resolves.
link() {
  ln -sfn "../${1#"$tools/"}" "$2"
}

# binary_name PACKAGE: the binary the package is cached as. `go build` names a binary after the last path element that
# is not a major version (sigs.k8s.io/kustomize/kustomize/v5: kustomize); go.etcd.io/etcd/server/v3 is kept as etcd.
binary_name() {
  local pkg=$1
  [ "$pkg" = go.etcd.io/etcd/server/v3 ] && { echo etcd; return; }
  # Only a last element that is a major version is skipped (helm.sh/helm/v4/cmd/helm is helm, not cmd).
  [[ ${pkg##*/} =~ ^v[0-9]+$ ]] && pkg=${pkg%/*}
  echo "${pkg##*/}"
}

# go_build COMPONENT VERSION LDFLAGS PACKAGE...: build PACKAGEs of the wrapper module COMPONENT into the
# version-keyed cache and link them into $bin. Skips the build when every binary is already cached.
go_build() {
  local component=$1 version=$2 ldflags=$3
  shift 3
  local out="$tools/$component/$version" missing=()
  for pkg in "$@"; do
    local name
    name=$(binary_name "$pkg")
    if from_assets "$name"; then continue; fi
    if [ ! -x "$out/$name" ]; then missing+=("$pkg"); fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    local names=() m
    for m in "${missing[@]}"; do names+=("$(binary_name "$m")"); done
    echo "building $component $version: ${names[*]}"
    local start=$SECONDS tmp="$out.tmp"
    rm -rf "$tmp" && mkdir -p "$tmp"
    # One `go build` for all packages: they share most of their dependencies and the compile runs in parallel.
    (cd "$here/$component" && CGO_ENABLED=0 go build -trimpath \
      -tags=selinux,notest,grpcnotrace -ldflags "-s -w $ldflags" -o "$tmp/" "${missing[@]}")
    [ -x "$tmp/server" ] && mv "$tmp/server" "$tmp/etcd"   # go.etcd.io/etcd/server/v3 builds the etcd binary
    mkdir -p "$out" && mv "$tmp"/* "$out/" && rmdir "$tmp"
    echo "built $component $version in $((SECONDS - start))s"
  fi
  for pkg in "$@"; do
    local name
    name=$(binary_name "$pkg")
    from_assets "$name" >/dev/null && continue
    # A binary the build did not leave where it is looked for fails here, not in a test that needs it.
    [ -x "$out/$name" ] || { echo "build.sh: $component $version built no $name in $out" >&2; exit 1; }
    link "$out/$name" "$bin/$name"
  done
}

build_kubernetes() {
  local v minor
  v=$(module_version kubernetes k8s.io/kubernetes)
  minor=${v#v1.}; minor=${minor%%.*}
  local stamp="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    # No commit is known for a module build; leave it empty rather than the unexpanded "$Format:%H$".
    stamp+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.gitCommit="
  done
  go_build kubernetes "$v" "$stamp" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
}

build_etcd() {
  local v
  v=$(module_version etcd go.etcd.io/etcd/server/v3)
  go_build etcd "$v" "" go.etcd.io/etcd/server/v3
}

build_helm() {
  local v
  v=$(module_version helm helm.sh/helm/v4)
  go_build helm "$v" "-X helm.sh/helm/v4/internal/version.version=$v" helm.sh/helm/v4/cmd/helm
}

# Crossplane: from the module proxy through the wrapper module (its go.mod is the pin), or, where the proxy refuses
# Crossplane's modules, from the unmodified sources of the same version in ../shared/third_party beside the
# repository (read-only: the go.mod is edited in a temporary copy; CROSSPLANE_SOURCES names another directory).
# Beside the binary the cache keeps that version's core CRDs, which `crossplane core init` installs
# (e2e/harness/crossplane.ts).
build_crossplane() {
  local v out tmp start
  v=$(module_version crossplane github.com/crossplane/crossplane/v2)
  out="$tools/crossplane/$v"
  if [ ! -x "$out/crossplane" ] || [ ! -d "$out/crds" ]; then
    tmp="$out.tmp" start=$SECONDS
    rm -rf "$tmp" && mkdir -p "$tmp"
    local ldflags="-s -w -X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=$v"
    if (cd "$here/crossplane" && go mod download github.com/crossplane/crossplane/v2 \
      github.com/crossplane/crossplane/apis/v2 github.com/crossplane/crossplane-runtime/v2); then
      echo "building crossplane $v from the module proxy"
      (cd "$here/crossplane" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
        github.com/crossplane/crossplane/v2/cmd/crossplane)
      cp -r "$(cd "$here/crossplane" && go list -m -f '{{.Dir}}' github.com/crossplane/crossplane/v2)/cluster/crds" "$tmp/crds"
    else
      local src=${CROSSPLANE_SOURCES:-$root/../shared/third_party}
      echo "the module proxy did not serve crossplane $v: building it from $src"
      [ -f "$src/crossplane/cmd/crossplane/main.go" ] && [ -d "$src/crossplane-runtime" ] ||
        { echo "build.sh: no Crossplane sources in $src (set CROSSPLANE_SOURCES)" >&2; exit 1; }
      # The sources carry no version; their README's table names the tag.
      grep -Eq "^\| \`crossplane/\` \|.*\| $v \|" "$src/README.md" ||
        { echo "build.sh: $src/README.md does not list crossplane $v" >&2; exit 1; }
      local mod
      mod=$(mktemp -d)
      cp "$src/crossplane/go.mod" "$src/crossplane/go.sum" "$mod/"
      go mod edit -replace github.com/crossplane/crossplane-runtime/v2="$(cd "$src/crossplane-runtime" && pwd)" \
        "$mod/go.mod"
      (cd "$src/crossplane" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -modfile="$mod/go.mod" -trimpath \
        -ldflags "$ldflags" -o "$tmp/" ./cmd/crossplane)
      rm -rf "$mod"
      cp -r "$src/crossplane/cluster/crds" "$tmp/crds"
    fi
    chmod -R u+w "$tmp"
    rm -rf "$out" && mv "$tmp" "$out"
    echo "built crossplane $v in $((SECONDS - start))s"
  fi
  link "$out/crossplane" "$bin/crossplane"
}

# Not built: the module only carries the monitoring CRDs the observability tests install. Downloading it into the Go
# module cache (verified against go.sum) lets the tests find it offline (e2e/harness/monitoring.ts).
# The kustomize CLI, which the Argo CD repo server runs from its PATH for kustomize directories.
build_kustomize() {
  local v
  v=$(module_version kustomize sigs.k8s.io/kustomize/kustomize/v5)
  go_build kustomize "$v" "-X sigs.k8s.io/kustomize/api/provenance.version=$v" sigs.k8s.io/kustomize/kustomize/v5
}

build_prometheus-operator() {
  (cd "$here/prometheus-operator" && go mod download github.com/prometheus-operator/prometheus-operator)
}

# Argo CD: one binary, `argocd`, that runs as the component it is named after; the cache links it as
# argocd-application-controller and argocd-repo-server. Its go.mod replaces the gitops-engine module with ./gitops-engine,
# which the module zip leaves out, and `replace` only applies in the main module: so it is built inside a writable copy
# of the module (downloaded through the wrapper module, verified against its go.sum) with the gitops-engine module of the
# same version placed there, and the copy's own go.sum verifies the rest. It needs Go 1.27: GOTOOLCHAIN=go1.27.3 (the
# go command fetches that toolchain through the module proxy) for this build only. ARGOCD_PREFETCH=1 only downloads
# (network, no compile). The cache keeps the Application and AppProject CRDs and git-verify-wrapper.sh, which the repo
# server runs from its PATH.
build_argocd() (
  export GOTOOLCHAIN=go1.27.3
  local v out tmp start src engine
  v=$(module_version argocd github.com/argoproj/argo-cd/v3)
  out="$tools/argocd/$v"
  if [ ! -x "$out/argocd" ] || [ ! -d "$out/crds" ] || [ -n "${ARGOCD_PREFETCH:-}" ]; then
    start=$SECONDS tmp="$out.tmp"
    (cd "$here/argocd" && go mod download github.com/argoproj/argo-cd/v3 github.com/argoproj/argo-cd/gitops-engine/v3)
    src=$(cd "$here/argocd" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)
    engine=$(cd "$here/argocd" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/gitops-engine/v3)
    rm -rf "$tmp" && mkdir -p "$tmp/src" "$tmp/crds"
    cp -r "$src/." "$tmp/src/" && chmod -R u+w "$tmp/src"
    rm -rf "$tmp/src/gitops-engine" && cp -r "$engine" "$tmp/src/gitops-engine" && chmod -R u+w "$tmp/src/gitops-engine"
    (cd "$tmp/src" && go mod download)
    if [ -n "${ARGOCD_PREFETCH:-}" ]; then
      rm -rf "$tmp"
      echo "downloaded argocd $v and its module graph in $((SECONDS - start))s"
      return 0
    fi
    echo "building argocd $v"
    local p=github.com/argoproj/argo-cd/v3/common
    (cd "$tmp/src" && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X $p.version=${v#v} -X $p.gitTag=$v -X $p.gitTreeState=clean" -o "$tmp/argocd" ./cmd)
    cp "$tmp/src/manifests/crds/application-crd.yaml" "$tmp/src/manifests/crds/appproject-crd.yaml" "$tmp/crds/"
    install -m 0755 "$tmp/src/hack/git-verify-wrapper.sh" "$tmp/git-verify-wrapper.sh"
    rm -rf "$tmp/src" "$out" && mv "$tmp" "$out"
    echo "built argocd $v in $((SECONDS - start))s"
  fi
  link "$out/argocd" "$bin/argocd-application-controller"
  link "$out/argocd" "$bin/argocd-repo-server"
)

# Flux controllers (source-controller, kustomize-controller, helm-controller of one Flux release). Their go.mod replaces
# the nested ./api module, which the module zip leaves out, and `replace` only applies in the main module: so each is
# built inside a writable copy of its module (downloaded through the wrapper module, verified against its go.sum) with
# the api module of the same version placed at ./api, and the copy's own go.sum verifies the rest. FLUX_PREFETCH=1
# only downloads (network, no compile). The cache keeps the controller's CRDs (config/crd/bases) beside the binary.
build_flux_controller() {
  local name=$1 component=flux-${1%-controller} v out tmp start mod src api
  mod=github.com/fluxcd/$name
  v=$(module_version "$component" "$mod")
  out="$tools/$component/$v"
  if [ -x "$out/$name" ] && [ -d "$out/crds" ] && [ -z "${FLUX_PREFETCH:-}" ]; then
    link "$out/$name" "$bin/$name"
    return 0
  fi
  start=$SECONDS tmp="$out.tmp"
  (cd "$here/$component" && go mod download "$mod" "$mod/api")
  src=$(cd "$here/$component" && go list -m -f '{{.Dir}}' "$mod")
  api=$(cd "$here/$component" && go list -m -f '{{.Dir}}' "$mod/api")
  rm -rf "$tmp" && mkdir -p "$tmp/src"
  cp -r "$src/." "$tmp/src/" && chmod -R u+w "$tmp/src"
  rm -rf "$tmp/src/api" && cp -r "$api" "$tmp/src/api" && chmod -R u+w "$tmp/src/api"
  # The modules the binary's packages need (`go mod download` would also fetch test-only ones the proxy refuses).
  (cd "$tmp/src" && go list -deps . >/dev/null)
  if [ -n "${FLUX_PREFETCH:-}" ]; then
    rm -rf "$tmp"
    echo "downloaded $name $v and its module graph in $((SECONDS - start))s"
    return 0
  fi
  echo "building $name $v"
  (cd "$tmp/src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/$name" .)
  cp -r "$tmp/src/config/crd/bases" "$tmp/crds"
  rm -rf "$tmp/src" "$out" && mv "$tmp" "$out"
  echo "built $name $v in $((SECONDS - start))s"
  link "$out/$name" "$bin/$name"
}

build_flux-source() { build_flux_controller source-controller; }
build_flux-kustomize() { build_flux_controller kustomize-controller; }
build_flux-helm() { build_flux_controller helm-controller; }

components=("$@")
[ ${#components[@]} -gt 0 ] ||
  components=(etcd kubernetes helm crossplane prometheus-operator kustomize argocd flux-source flux-kustomize flux-helm)
for c in "${components[@]}"; do
  case $c in
    kubernetes|etcd|helm|crossplane|prometheus-operator|kustomize|argocd|flux-source|flux-kustomize|flux-helm) "build_$c" ;;
    *) echo "build.sh: unknown component $c (kubernetes | etcd | helm | crossplane | prometheus-operator | kustomize |" \
      "argocd | flux-source | flux-kustomize | flux-helm)" >&2; exit 2 ;;
  esac
done
