#!/usr/bin/env bash
# Configures and builds xdpkv in ${XDPKV_BUILD_DIR:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${XDPKV_BUILD_DIR:-build}
export PATH="$PATH:/usr/sbin:/sbin"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
