#!/usr/bin/env bash
# The main job: installs dependencies, builds, runs `xdpkv demo`. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --demo
scripts/build.sh
exec "${XDPKV_BUILD_DIR:-build}/userspace/cli/xdpkv" demo "$@"
