#!/usr/bin/env bash
# Installs every Debian 12 package that Kestrel's build, tests, benchmarks and fuzzers need.
# Idempotent: packages already present are skipped, and apt-get update runs at most once per call
# (and not at all when everything is installed). Needs root (or sudo).
#
# `install-deps.sh --cross aarch64` installs, in addition, what the `aarch64` preset needs
# (docs/porting.md): the cross compiler and qemu-user, the arm64 libraries through Debian
# multiarch, and, for the -dev packages that are not Multi-Arch: same, their arm64 files unpacked
# into an overlay directory (never through dpkg). It simulates every apt-get install first and
# refuses, changing nothing, a plan that would remove any package.
set -euo pipefail

cross=""
if [ "${1:-}" = "--cross" ]; then
  cross=${2:-}
  if [ "$cross" != aarch64 ]; then
    echo "install-deps: --cross supports only aarch64 (got '${cross}')" >&2
    exit 2
  fi
elif [ $# -gt 0 ]; then
  echo "usage: install-deps.sh [--cross aarch64]" >&2
  exit 2
fi

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang lld libclang-rt-14-dev
  clang-format clang-tidy
  # tests and benchmarks (chromium: the headless browser of `kestrel ui`'s test, ui_browser)
  libgtest-dev libgmock-dev libbenchmark-dev chromium
  # libraries (ARCHITECTURE.md, "Dependencies")
  libabsl-dev libsimdjson-dev nlohmann-json3-dev libyaml-cpp-dev libtomlplusplus-dev
  libcli11-dev libspdlog-dev libfmt-dev libcpp-httplib-dev libvectorscan-dev libre2-dev libzstd-dev libxxhash-dev libssl-dev librdkafka-dev
  # eBPF collection (KESTREL_EBPF=ON): libbpf, its ELF/zlib dependencies, bpftool for vmlinux.h
  # and skeletons (clang, above, compiles the BPF programs)
  libbpf-dev libelf-dev zlib1g-dev bpftool
  # predicate runtimes (src/kestrel/runtime): LuaJIT, wabt
  libluajit2-5.1-dev wabt
  # helpers used by scripts
  python3 python3-yaml
  # the package stage (scripts/package-test.sh): a clean Debian 12 root, and the .deb's lint
  mmdebstrap lintian
)

# The aarch64 cross build (--cross aarch64). Host tools:
CROSS_HOST_PACKAGES=(g++-aarch64-linux-gnu qemu-user)
# arm64 libraries that co-install with their amd64 versions (Multi-Arch: same):
CROSS_ARM64_PACKAGES=(
  libabsl-dev libfmt-dev libspdlog-dev libxxhash-dev libvectorscan-dev libre2-dev libzstd-dev
  libssl-dev libgtest-dev libgmock-dev libluajit2-5.1-dev libtomlplusplus-dev libcpp-httplib-dev
  librdkafka-dev
  # glibc for qemu-user (its loader must match the libc it loads), the runtime halves of two below
  libc6
  libsimdjson14 libyaml-cpp0.7
)
# arm64 packages that are NOT Multi-Arch: same: installing them through dpkg would remove the
# amd64 package. Their files are unpacked into KESTREL_CROSS_OVERLAY instead, which the aarch64
# toolchain file searches first (cmake/toolchains/aarch64-linux-gnu.cmake).
CROSS_OVERLAY_PACKAGES=(libsimdjson-dev libsimdjson14 libyaml-cpp-dev libyaml-cpp0.7 wabt)
KESTREL_CROSS_OVERLAY=${KESTREL_CROSS_OVERLAY:-/opt/kestrel-cross/aarch64-linux-gnu}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
updated=0
apt_update() {
  if [ "$updated" = 0 ]; then
    $SUDO apt-get update -qq
    updated=1
  fi
}

# Prints the packages among "$@" (names may carry :arch) that are not installed.
missing_of() {
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      echo "$p"
    fi
  done
}

# Installs "$@" after a simulation; refuses (exit 1, nothing changed) if apt would remove anything.
safe_install() {
  local plan removals
  plan=$(apt-get install -s -qq --no-install-recommends "$@" 2>&1) || {
    echo "install-deps: apt-get cannot install $*:" >&2
    echo "$plan" >&2
    exit 1
  }
  removals=$(echo "$plan" | awk '/^Remv /{print $2}')
  if [ -n "$removals" ]; then
    echo "install-deps: REFUSED: installing $* would remove these packages:" >&2
    echo "$removals" | sed 's/^/  /' >&2
    echo "install-deps: nothing was changed; see docs/porting.md (multiarch)" >&2
    exit 1
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

mapfile -t missing < <(missing_of "${PACKAGES[@]}")
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
  apt_update
  safe_install "${missing[@]}"
  echo "install-deps: done"
fi

[ -n "$cross" ] || exit 0

mapfile -t missing < <(missing_of "${CROSS_HOST_PACKAGES[@]}")
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${#missing[@]} cross tool(s): ${missing[*]}"
  apt_update
  safe_install "${missing[@]}"
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "install-deps: adding the arm64 architecture (dpkg --add-architecture arm64)"
  $SUDO dpkg --add-architecture arm64
  updated=0
fi
mapfile -t missing < <(missing_of "${CROSS_ARM64_PACKAGES[@]/%/:arm64}")
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${#missing[@]} arm64 package(s): ${missing[*]}"
  apt_update
  safe_install "${missing[@]}"
fi

# The overlay: one stamp per unpacked .deb (name_version), so a version change re-unpacks.
stamps="$KESTREL_CROSS_OVERLAY/.stamps"
$SUDO mkdir -p "$stamps"
todo=()
for p in "${CROSS_OVERLAY_PACKAGES[@]}"; do
  version=$(apt-cache policy "$p:arm64" | awk '/Candidate:/{print $2}')
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    apt_update
    version=$(apt-cache policy "$p:arm64" | awk '/Candidate:/{print $2}')
  fi
  [ -f "$stamps/${p}_${version//:/%}" ] || todo+=("$p:arm64=$version")
done
if [ ${#todo[@]} -gt 0 ]; then
  echo "install-deps: unpacking into $KESTREL_CROSS_OVERLAY: ${todo[*]}"
  work=$(mktemp -d)
  chown _apt "$work" 2>/dev/null || true  # apt downloads as _apt
  (cd "$work" && apt-get download -qq "${todo[@]}")
  for deb in "$work"/*.deb; do
    $SUDO dpkg-deb -x "$deb" "$KESTREL_CROSS_OVERLAY"
    name=$(dpkg-deb -f "$deb" Package)
    version=$(dpkg-deb -f "$deb" Version)
    $SUDO touch "$stamps/${name}_${version//:/%}"
  done
  rm -rf "$work"
fi
echo "install-deps: aarch64 cross build ready (overlay $KESTREL_CROSS_OVERLAY)"
