#!/usr/bin/env bash
# Installs the Debian packages lowbit builds with (idempotent: installs only what is missing).
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config python3 clang-format
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev
  libopenblas-dev liblapacke-dev libpcre2-dev
  clang libclang-rt-14-dev)  # clang + libFuzzer for the fuzz targets (tools/fuzz.sh)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
