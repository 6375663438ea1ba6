#!/usr/bin/env bash
# The test command: installs dependencies, builds, runs every ctest label
# (unit, bpf, and later netns/vm). Needs root for the BPF tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
cd "${XDPKV_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 "$@"
