#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Fails (exit 1) if a tracked shell script that sets pipefail ends a pipeline
# with `grep -q` (or -m, -l): grep stops reading at its first match, the
# writer's next write dies of SIGPIPE, and pipefail turns a found match into
# a failure, now and then, on a loaded machine. Stop 27's CI lost
# vm_linux_newest to `readelf -S vmlinux | grep -q ' .BTF '` this way.
# Read the writer's output whole instead: out=$(cmd); [[ $out == *x* ]], or
# `grep x >/dev/null`, which reads to the end.
#
#   scripts/check-scripts.sh            every tracked *.sh and .ci/run
#   scripts/check-scripts.sh FILE...    those files
set -euo pipefail
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
if (($#)); then
  files=("$@")
else
  mapfile -t files < <(git -C "$top" ls-files -- '*.sh' .ci/run | sed "s|^|$top/|")
fi
bad=0
for f in "${files[@]}"; do
  grep -Eq '^[[:space:]]*set -[a-z]*o pipefail|set -o pipefail' "$f" || continue
  # A pipe into grep whose options include q, m or l (comments skipped).
  while IFS= read -r hit; do
    echo "check-scripts: ${f#"$top"/}:$hit: a pipe into an early-exit grep under pipefail" >&2
    bad=$((bad + 1))
  done < <(grep -nE '\|[[:space:]]*grep([[:space:]]+-[a-zA-Z]*[qml][a-zA-Z]*|[[:space:]]+-[a-zA-Z]+)*[[:space:]]+-[a-zA-Z]*[qml]' "$f" |
    grep -vE '^[0-9]+:[[:space:]]*#' || true)
done
if ((bad)); then
  echo "check-scripts: $bad pipes can fail on SIGPIPE; read the writer whole (see this script's header)" >&2
  exit 1
fi
echo "check-scripts: ${#files[@]} scripts, no pipe into an early-exit grep under pipefail"
