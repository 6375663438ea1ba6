#!/usr/bin/env bash
# The performance report (issue 13), one command: builds the benchmarks, runs
# every one of them and writes bench/report/REPORT.md, bench/report/report.json
# and the PNG plots (gnuplot) next to them.
#   scripts/bench.sh            the report: >= 5 runs per figure (~6 min of runs on 2 cores)
#   scripts/bench.sh --quick    smoke run: every part, few short runs; the report says QUICK MODE
# Where this kernel refuses to grow XDP metadata or live-frames test runs
# (xdpkv features), the reads are measured here and the writes and the end-to-end
# runs in a Debian 6.12 guest (scripts/guest.sh), marked emulated in the report.
# Needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN: netns, veth, XDP) and Debian
# bookworm's packages (scripts/deps.sh); installs gnuplot-nox with apt if it is
# missing. XDPKV_BUILD_DIR (default build) is the build tree; keep the machine
# idle while it runs (the report states the load average at start and end).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export PATH="$PATH:/usr/sbin:/sbin"
mode=full
case "${1:-}" in
--quick) mode=quick ;;
"") ;;
-h | --help)
	sed -n '2,13p' "$0"
	exit 0
	;;
*)
	echo "bench.sh: unknown option $1 (only --quick)" >&2
	exit 2
	;;
esac
if [ "$(id -u)" != 0 ]; then
	echo "bench.sh: run as root (BPF_PROG_TEST_RUN, netns, XDP attach)" >&2
	exit 1
fi
for tool in gnuplot python3; do
	if ! command -v "$tool" >/dev/null; then
		pkg=$tool
		[ "$tool" = gnuplot ] && pkg=gnuplot-nox
		echo "bench.sh: installing $pkg (apt)"
		apt-get install -y --no-install-recommends "$pkg" >/dev/null ||
			{ apt-get update >/dev/null && apt-get install -y --no-install-recommends "$pkg" >/dev/null; }
	fi
done

build="${XDPKV_BUILD_DIR:-build}"
out=bench/report
raw="$build/bench-raw" # every tool's raw output, kept for a look after the run
rm -rf "$raw"
mkdir -p "$raw"
t0=$(date +%s)
start=$(date -u +%Y-%m-%dT%H:%M:%SZ)

echo "bench.sh: building ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target xdpkv_bench xdpkv_e2e xdpkv-trafficgen \
	xdpkv_user_bench xdpkv_bench_progs_kfunc_skel_gen xdpkv_bench_progs_skel_gen
tb=$(date +%s)
load_start=$(cut -d' ' -f1 /proc/loadavg)

if [ "$mode" = quick ]; then
	perop=(--repeat 100000 --rounds 3)
	e2e=(--frames 100000 --rounds 2 --gro-seconds 0.3 --trace-seconds 0.3 --trace-rates 10000,100000)
	user=(--benchmark_repetitions=2 --benchmark_min_time=0.02)
	user_reps=2
else
	perop=(--repeat 1000000 --rounds 7)
	e2e=(--frames 1000000 --rounds 5 --gro-seconds 2 --trace-seconds 1)
	user=(--benchmark_repetitions=5 --benchmark_min_time=0.2)
	user_reps=5
fi
mkdir -p "$out"

# What this host's kernel refuses is measured in a guest kernel (scripts/guest.sh,
# Debian 6.12 under QEMU/TCG), marked emulated in the report: ratios within
# the guest's run and instruction counts only.
cli="$build/userspace/cli/xdpkv"
refusal=""
guest_kver=""
if ! refusal=$("$cli" features --need grow_meta,live_frames); then
	echo "bench.sh: $refusal"
	scripts/deps.sh --guest
	guest=(scripts/guest.sh --kernel 6.12 --rw "$raw" --)
	guest_kver=$(scripts/guest.sh -q --kernel 6.12 -- uname -r)
fi

echo "bench.sh: per operation (xdpkv_bench ${perop[*]})"
"$build/bench/xdpkv_bench" "${perop[@]}" --keys 1,2,8,32,60 --json "$raw/perop.json" |
	tee "$raw/bench.txt"
if [ -n "$guest_kver" ] && ! "$cli" features --need grow_meta >/dev/null; then
	echo "bench.sh: the write paths in guest Linux $guest_kver (emulated)"
	"${guest[@]}" "$build/bench/xdpkv_bench" "${perop[@]}" --keys 1,2,8,32,60 \
		--json "$raw/perop-guest.json" | tee "$raw/bench-guest.txt"
fi

e2e_where=host
if [ -n "$guest_kver" ]; then
	e2e_where=guest
	echo "bench.sh: end to end, tracer, GRO in guest Linux $guest_kver (emulated; xdpkv_e2e ${e2e[*]})"
	"${guest[@]}" "$build/bench/xdpkv_e2e" "${e2e[@]}" --json "$raw/e2e.json" | tee "$raw/e2e.txt"
else
	echo "bench.sh: end to end, tracer, GRO (xdpkv_e2e ${e2e[*]})"
	"$build/bench/xdpkv_e2e" "${e2e[@]}" --json "$raw/e2e.json" | tee "$raw/e2e.txt"
fi

echo "bench.sh: user space (xdpkv_user_bench ${user[*]})"
"$build/bench/xdpkv_user_bench" "${user[@]}" --benchmark_out="$raw/user.json" \
	--benchmark_out_format=json | tee "$raw/user.txt"

# Kernel module backend: instruction counts of the two builds of the same programs.
for b in inline:xdpkv_bench_progs kfunc:xdpkv_bench_progs_kfunc; do
	echo "== ${b%%:*}"
	llvm-readelf -s "$build/bpf/${b#*:}.bpf.o"
done >"$raw/objs.txt"

# ... and what the verifier and the JIT make of them, per backend: only a guest
# has the module (tests/vm: "xdpkv-vm: bench insns: ..." lines), Debian 6.1
# and the newest kernel. Skipped, and said so in the report, when the VM tests
# are not configured (QEMU, kernel packages: scripts/deps.sh).
: >"$raw/guest-insns.txt"
: >"$raw/guest-gro.txt"
vm_tests=$( (cd "$build" && ctest -N -R '^vm_linux_newest$') 2>/dev/null || true)
if [[ $vm_tests == *": vm_linux_newest"* ]]; then
	echo "bench.sh: kernel module in the guests (ctest -R 'vm_build|vm_linux_6.1|vm_linux_newest')"
	guest_log=$(realpath "$raw")/guest-ctest.txt
	if (cd "$build" && ctest -R '^(vm_build|vm_linux_6\.1|vm_linux_newest)$' >"$guest_log" 2>&1); then
		for g in 6.1 newest; do
			log="$build/tests/vm/image-$g/console.log"
			kver=$(sed -n 's/^XDPKV-VM-RESULT: PASS //p' "$log")
			sed -n "s/^xdpkv-vm: bench insns: /$kver /p" "$log" >>"$raw/guest-insns.txt"
			sed -n "s/^xdpkv-vm: module-hints GRO/$kver module-hints GRO/p" "$log" >>"$raw/guest-gro.txt"
		done
	else
		echo "bench.sh: the guest tests failed (see $raw/guest-ctest.txt); no verified counts"
	fi
fi

t1=$(date +%s)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
virt=$(systemd-detect-virt 2>/dev/null || true)
[ -n "$virt" ] && [ "$virt" != none ] && virt="virtualized ($virt)" || virt="bare metal or unknown"
cmd="scripts/bench.sh${1:+ $1}"
python3 - "$raw/meta.json" "$refusal" <<EOF
import json, sys
json.dump({"mode": "$mode", "command": "$cmd", "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)",
           "start": "$start", "end": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "seconds": $((t1 - tb)),
           "build_seconds": $((tb - t0)), "cpu": """$cpu""", "cores": $(nproc), "kernel": "$(uname -r)",
           "virt": "$virt", "load_start": $load_start, "load_end": $(cut -d' ' -f1 /proc/loadavg),
           "user_reps": $user_reps,
           "where": {"e2e": "$e2e_where", "guest": "guest Linux $guest_kver" if "$guest_kver" else "",
                     "refusal": sys.argv[2]}}, open(sys.argv[1], "w"), indent=1)
EOF
python3 bench/report/make_report.py --raw "$raw" --out "$out"
cp "$raw/bench.txt" "$raw/e2e.txt" "$out/"
rm -f "$out/e2e.json" # superseded by report.json's "e2e", "gro", "tracer_cost"
rm -f "$out"/*.png
for dat in "$raw"/plot/*.dat; do
	name=$(basename "$dat" .dat)
	(cd "$raw/plot" && gnuplot -e "which='$name'" "$repo/bench/report/plots.gp")
	cp "$raw/plot/$name.png" "$out/"
done
echo "bench.sh: wrote $out/REPORT.md, report.json, bench.txt, e2e.txt and" \
	"$(cd "$out" && ls ./*.png | tr '\n' ' ')in $((t1 - tb)) s of runs ($((tb - t0)) s build)"
