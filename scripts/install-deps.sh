#!/usr/bin/env bash
# Installs every Debian 12 package that Kestrel's build, tests, benchmarks and fuzzers need.
# Idempotent: packages already present are skipped, and apt-get update runs at most once per call
# (and not at all when everything is installed). Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang lld libclang-rt-14-dev
  clang-format clang-tidy
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
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
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
