#!/usr/bin/env bash
# The main job: installs dependencies, builds, runs `xdpkv demo`. Needs root.
# Where this kernel refuses to grow XDP metadata (every path of the demo
# creates stores), it says so first and runs the same demo in a guest kernel
# that allows it (scripts/guest.sh: Debian's 6.12 under QEMU/TCG).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --demo
scripts/build.sh
cli=${XDPKV_BUILD_DIR:-build}/userspace/cli/xdpkv
rc=0
missing=$("$cli" features --need grow_meta) || rc=$?
((rc == 0)) && exec "$cli" demo "$@"
((rc == 1)) || { echo "demo: cannot ask this kernel what it allows (xdpkv features)" >&2; exit 1; }
echo "demo: $missing"
echo "demo: so the demo runs in a guest kernel (Debian's 6.12 under QEMU/TCG, scripts/guest.sh): the same binary, several times slower"
scripts/deps.sh --guest
# One stream, so that the demo's lines stay in their order.
exec scripts/guest.sh -q --kernel 6.12 -- sh -c 'exec "$@" 2>&1' sh "$cli" demo "$@"
