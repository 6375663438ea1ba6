#!/usr/bin/env bash
# Runs one host command inside a guest kernel and returns its output and exit
# status: try xdpkv, its tests, or a BPF program of your own on another kernel.
#
#   scripts/guest.sh [OPTIONS] -- COMMAND [ARGS...]
#
#   --kernel K    6.12 (default: Debian bookworm-backports), 6.1 (the host's
#                 installed Debian 6.1 image, scripts/deps.sh) or 7.3/newest
#                 (trixie-backports). Fetched once into the cache (below) by
#                 kfuncs/fetch-kernel.sh; nothing is installed into the host.
#   --smp N       guest CPUs (default 2)      --mem SIZE  guest memory (default 3G)
#   --rw DIR      DIR is writable in the guest and writes reach the host
#                 (repeatable); everything else the guest writes is discarded
#   --timeout S   stop the guest after S seconds (default 1800): exit 124
#   --env N=V     set N=V for the command (repeatable); the host's PATH, HOME,
#                 TERM, CI and XDPKV_* variables are passed on as they are
#   --console     print the guest kernel's console log after the command
#   -q, --quiet   no "guest:" lines of the runner's own on stderr
#
#   scripts/guest.sh [OPTIONS] --serve DIR   boot a guest that stays up and
#                 runs the commands handed to it through DIR, one at a time
#   scripts/guest.sh --via DIR -- COMMAND    run COMMAND in that guest (or in
#                 a guest of its own when none serves DIR)
#   scripts/guest.sh --stop DIR              stop it
#
# The guest is QEMU with TCG (no KVM needed): the host's / is shared read-only
# over virtio-9p with a tmpfs overlay on top, so the guest sees the host's
# binaries, libraries and files where they are and can write anywhere (those
# writes are lost, except under --rw). /run, /dev/shm, bpffs and tracefs are
# the guest's own. The command runs as root in the host's working directory;
# its stdout and stderr come back as the guest writes them. Modules of the
# guest kernel load with modprobe as usual. Under TCG the guest runs several
# times slower than the host: compare timings only within one guest run.
#
# Exit status: the command's, or 125 when the guest could not run it (the
# reason on stderr, with the console's tail), 124 on --timeout.
#
# Cache: $XDPKV_GUEST_CACHE, else build/guest-kernels of this checkout when it
# exists, else ~/.cache/xdpkv/guest-kernels.
# XDPKV_GUEST_TCG_THREAD=multi: a TCG thread per vCPU, which QEMU 7.2 gets
# wrong for live kernel code patching (at the qemu command below).
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
kernel=6.12 smp=2 mem=3G limit=1800 quiet=0 show_console=0 mode=oneshot sdir=""
rw=() envs=()
usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
say() { ((quiet)) || echo "guest: $*" >&2; }
die() { echo "guest: $*" >&2; exit 125; }
while (($#)); do
  case $1 in
    --kernel) kernel=${2:?--kernel needs a value}; shift 2 ;;
    --smp) smp=${2:?}; shift 2 ;;
    --mem) mem=${2:?}; shift 2 ;;
    --rw) rw+=("$(cd "${2:?--rw needs a directory}" 2>/dev/null && pwd)") || die "--rw $2: no such directory"; shift 2 ;;
    --timeout) limit=${2:?}; shift 2 ;;
    --env) [[ ${2:-} == *=* ]] || { echo "guest: --env takes NAME=VALUE" >&2; exit 2; }; envs+=("$2"); shift 2 ;;
    --console) show_console=1; shift ;;
    --serve|--via|--stop) mode=${1#--}; sdir=${2:?$1 needs a directory}; shift 2 ;;
    -q|--quiet) quiet=1; shift ;;
    -h|--help) usage ;;
    --) shift; break ;;
    *) echo "guest: unknown option '$1' (the command follows --)" >&2; exit 2 ;;
  esac
done
if [[ $mode == stop ]]; then
  [[ -e $sdir/pid ]] || exit 0
  : >"$sdir/stop"
  pid=$(cat "$sdir/pid")
  # Only the guest's own QEMU: a stale pid file must not name another process.
  if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == qemu-system-* ]]; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill "$pid" 2>/dev/null
  fi
  rm -rf "$sdir"
  exit 0
fi
if [[ $mode == serve ]]; then
  mkdir -p "$sdir" && sdir=$(cd "$sdir" && pwd) || die "--serve $sdir: cannot create it"
  set -- true
fi
(($#)) || { echo "guest: no command (scripts/guest.sh [OPTIONS] -- COMMAND...)" >&2; exit 2; }
[[ $smp =~ ^[1-9][0-9]?$ ]] || { echo "guest: --smp $smp: a number 1-99" >&2; exit 2; }
[[ $limit =~ ^[1-9][0-9]*$ ]] || { echo "guest: --timeout $limit: seconds" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || die "needs root (the guest runs the command as root on the host's files)"
export PATH="$PATH:/usr/sbin:/sbin"
for t in qemu-system-x86_64 busybox cpio depmod modprobe; do
  command -v "$t" >/dev/null || die "$t missing (scripts/deps.sh installs qemu-system-x86, busybox-static, cpio, kmod)"
done

# The job: the command, its environment and working directory.
write_job() { # FILE COMMAND...
  local f=$1 v e
  shift
  {
    echo '# the host command, written by scripts/guest.sh'
    for v in PATH HOME TERM CI LANG $(compgen -e | grep '^XDPKV_' | grep -v '^XDPKV_REFUSE$' || true); do
      [[ -n ${!v+x} ]] && printf 'export %s=%q\n' "$v" "${!v}"
    done
    for e in "${envs[@]}"; do printf 'export %q\n' "$e"; done
    echo 'export XDPKV_IN_GUEST=1'
    # Tests scale their own deadlines by it (never a speed assertion): TCG
    # runs several times slower than the host.
    echo 'export XDPKV_TIME_SCALE=${XDPKV_TIME_SCALE:-8}'
    printf 'cd %q || exit 125\n' "$PWD"
    printf 'exec'
    printf ' %q' "$@"
    echo
  } >"$f"
}

# --via DIR: hand the command to the guest that --serve DIR started (one boot
# for many commands: the ctest fixture of tests/guest). Without a live guest
# there, it boots one of its own.
if [[ $mode == via ]]; then
  if [[ -e $sdir/ready ]] && kill -0 "$(cat "$sdir/pid" 2>/dev/null)" 2>/dev/null; then
    id=$$-$RANDOM
    j=$sdir/jobs/$id
    mkdir -p "$j" || die "cannot write to $sdir"
    write_job "$j/job.sh" "$@"
    : >"$j/go"
    kver=$(cat "$sdir/kver")
    say "running in the guest of $sdir (Linux $kver): $*"
    start=$(date +%s)
    spid=$(cat "$sdir/pid")
    while [[ ! -e $j/rc ]]; do
      if ! kill -0 "$spid" 2>/dev/null; then
        cat "$j/stdout" 2>/dev/null
        cat "$j/stderr" >&2 2>/dev/null
        echo "guest: the guest of $sdir ended before the command did; its console:" >&2
        tail -n 30 "$sdir/console.log" >&2
        exit 125
      fi
      if (($(date +%s) - start >= limit)); then
        echo "guest: timeout: the command did not finish within ${limit}s in Linux $kver" >&2
        exit 124
      fi
      sleep 0.1
    done
    cat "$j/stdout"
    cat "$j/stderr" >&2
    rc=$(cat "$j/rc")
    rm -rf "$j"
    say "exit $rc after $(($(date +%s) - start))s in Linux $kver"
    exit "$rc"
  fi
  say "no guest is serving $sdir: booting one for this command"
  mode=oneshot
fi


# 1. The kernel: image, modules with their modules.dep, version.
cache=${XDPKV_GUEST_CACHE:-}
if [[ -z $cache ]]; then
  if [[ -d $src/build ]]; then cache=$src/build/guest-kernels; else cache=${HOME:-/root}/.cache/xdpkv/guest-kernels; fi
fi
mkdir -p "$cache" || die "cannot create the cache $cache"
case $kernel in
  6.1)
    kver=$("$src/kfuncs/kernel-version.sh") || die "no Debian 6.1 kernel (scripts/deps.sh installs it)"
    vmlinuz=/boot/vmlinuz-$kver mods=/lib/modules/$kver ;;
  6.12|7.3|newest)
    if [[ $kernel == 6.12 ]]; then kdir=$cache/bookworm-backports-6.12 suite=bookworm-backports series=6.12
    else kdir=$cache/trixie-backports suite=trixie-backports series=""; fi
    "$src/kfuncs/fetch-kernel.sh" "$suite" "$kdir" $series >"$cache/fetch-$kernel.log" 2>&1 ||
      { cat "$cache/fetch-$kernel.log" >&2; die "the $kernel kernel cannot be fetched from $suite"; }
    # shellcheck disable=SC1091
    kver=$(. "$kdir/kernel.env" && echo "$KVER") vmlinuz=$(. "$kdir/kernel.env" && echo "$VMLINUZ")
    mods=$(. "$kdir/kernel.env" && echo "$MODULES") ;;
  *) echo "guest: --kernel $kernel: one of 6.1, 6.12, 7.3" >&2; exit 2 ;;
esac
[[ -r $vmlinuz && -d $mods/kernel ]] || die "kernel $kver incomplete: $vmlinuz, $mods"
# Fetched kernels are unpacked, not installed: depmod once, into a private
# tree (lib/modules/KVER -> the unpacked modules) so modprobe finds them.
mroot=$cache/modroot-$kver
if [[ ! -s $mroot/lib/modules/$kver/modules.dep ]]; then
  rm -rf "$mroot"
  mkdir -p "$mroot/lib/modules/$kver"
  cp -a "$mods/." "$mroot/lib/modules/$kver/" || die "cannot copy the modules of $kver"
  depmod -b "$mroot" "$kver" || die "depmod of $kver failed"
fi
mods=$mroot/lib/modules/$kver

# 2. The initramfs: busybox, the modules that mount the host's root (virtio-pci,
#    9p, overlay) in load order. Built once per kernel and runner version.
stamp=$(cat "$0" | md5sum | cut -c1-12)
img=$cache/guest-initramfs-$kver-$stamp.cpio.gz
if [[ ! -s $img ]]; then
  say "building the initramfs for $kver"
  work=$(mktemp -d "$cache/initramfs.XXXXXX") || die "mktemp failed"
  mkdir -p "$work"/{bin,dev,proc,sys,newroot,lower,upper,mods}
  cp "$(command -v busybox)" "$work/bin/busybox"
  [[ $(file -L "$work/bin/busybox") == *'statically linked'* ]] || die "busybox is not static (busybox-static)"
  list=$(modprobe -d "$mroot" -S "$kver" --show-depends -a virtio_pci 9pnet_virtio 9p overlay 2>&1) ||
    die "modprobe --show-depends for $kver: $list"
  n=0 seen=""
  while read -r op path _; do
    [[ $op == insmod && " $seen " != *" $path "* ]] || continue
    seen+=" $path"
    n=$((n + 1))
    out=$work/mods/$(printf '%02d' $n)-$(basename "${path%.ko*}").ko
    case $path in
      *.ko.xz) xz -dc "$path" >"$out" ;; *.ko.zst) zstd -qdc "$path" >"$out" ;; *) cp "$path" "$out" ;;
    esac || die "cannot unpack $path"
  done <<<"$list"
  cat >"$work/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() { echo "guest-init: $*"; poweroff -f; }
for m in /mods/*.ko; do insmod "$m" || fail "insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /lower ||
  fail "cannot mount the host's root over 9p"
mount -t tmpfs -o mode=0755 upper /upper
mkdir -p /upper/u /upper/w
mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w overlay /newroot ||
  fail "cannot mount the overlay"
r=/newroot
mount --move /proc $r/proc
mount --move /sys $r/sys
mount --move /dev $r/dev
mount -t tmpfs -o mode=0755 run $r/run
mkdir -p $r/dev/shm $r/dev/pts
mount -t tmpfs -o mode=1777 shm $r/dev/shm
mount -t devpts devpts $r/dev/pts
mount -t bpf bpf $r/sys/fs/bpf
mount -t tracefs tracefs $r/sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs $r/sys/kernel/debug 2>/dev/null
mount -t cgroup2 cgroup2 $r/sys/fs/cgroup 2>/dev/null
# The kernel's own module requests (a veth link, a qdisc) run modprobe in this
# root, not in the chroot: hand them to the host's modprobe there.
printf '#!/bin/busybox sh\nexec chroot /newroot /sbin/modprobe "$@"\n' >/bin/xdpkv-modprobe
chmod +x /bin/xdpkv-modprobe
echo /bin/xdpkv-modprobe >$r/proc/sys/kernel/modprobe
# The job: what to run (job.sh), the writable shares, and where the command's
# output and exit status go (a writable 9p share of the runner's own).
mkdir -p $r/xdpkv-job
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=512000 xdpkvjob $r/xdpkv-job ||
  fail "cannot mount the job share"
. $r/xdpkv-job/mounts.sh
# Device nodes whose module loads on first open (/dev/net/tun, ...), as
# kmod static-nodes makes them on a booted system.
while read -r mod name dev; do
  case $mod in '#'* | '') continue ;; esac
  mm=${dev#?}
  case $name in */*) mkdir -p "$r/dev/${name%/*}" ;; esac
  [ -e "$r/dev/$name" ] || mknod "$r/dev/$name" "${dev%${mm}}" "${mm%%:*}" "${mm#*:}"
done <"$r/lib/modules/$(uname -r)/modules.devname"
echo "guest-init: running the command"
chroot $r /bin/bash /xdpkv-job/job.sh >$r/xdpkv-job/stdout 2>$r/xdpkv-job/stderr </dev/null
echo $? >$r/xdpkv-job/rc.tmp && mv $r/xdpkv-job/rc.tmp $r/xdpkv-job/rc
sync
poweroff -f
INIT
  chmod +x "$work/init"
  (cd "$work" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$img.tmp" &&
    mv "$img.tmp" "$img" || die "cannot write $img"
  rm -rf "$work"
fi

# 3. The job folder, shared with the guest.
if [[ $mode == serve ]]; then
  job=$sdir
  rm -rf "$job/jobs" "$job/ready" "$job/stop" "$job/rc"
  mkdir -p "$job/jobs"
  # The loop the guest runs: each job in turn, its output and status in its folder.
  cat >"$job/job.sh" <<'LOOP'
cd /xdpkv-job || exit 125
echo ready >ready
while [ ! -e stop ]; do
  for go in jobs/*/go; do
    [ -e "$go" ] || continue
    d=${go%/go}
    rm -f "$go"
    setsid bash "$d/job.sh" >"$d/stdout" 2>"$d/stderr" </dev/null
    echo $? >"$d/rc.tmp"
    mv "$d/rc.tmp" "$d/rc"
  done
  sleep 0.1
done
LOOP
else
  job=$(mktemp -d /tmp/xdpkv-guest.XXXXXX) || die "mktemp failed"
  write_job "$job/job.sh" "$@"
fi
qpid=""
cleanup() {
  [[ -n $qpid ]] && kill "$qpid" 2>/dev/null
  [[ $mode == serve ]] || rm -rf "$job"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
: >"$job/mounts.sh"
qargs=()
i=0
for d in "${rw[@]}"; do
  qargs+=(-virtfs "local,path=$d,mount_tag=rw$i,security_model=none,multidevs=remap")
  printf 'mkdir -p $r%q && mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=512000 rw%d $r%q || fail "cannot mount %q"\n' \
    "$d" "$i" "$d" "$d" >>"$job/mounts.sh"
  i=$((i + 1))
done
# The guest kernel's modules where modprobe looks for them.
printf 'mkdir -p $r/lib/modules/%s && mount --bind $r%q $r/lib/modules/%s\n' "$kver" "$mods" "$kver" >>"$job/mounts.sh"
: >"$job/stdout"
: >"$job/stderr"

# 4. Boot. The command's output is followed as the guest writes it.
start=$(date +%s)
# One TCG thread for all vCPUs (thread=single): with a thread per vCPU
# (QEMU 7.2's default) a guest CPU can trap on an int3 that x86's live code
# patching (static keys, BPF trampolines) has already written over, and the
# guest oopses ("Oops: int3"; tests/guest/check-code-patching.sh shows it
# with XDPKV_GUEST_TCG_THREAD=multi). The vCPUs still interleave, so races
# between them are still exercised; the vm tests took the same time.
setsid qemu-system-x86_64 -accel "tcg,thread=${XDPKV_GUEST_TCG_THREAD:-single}" -cpu max -smp "$smp" -m "$mem" -nographic -no-reboot \
  -monitor none -serial "file:$job/console.log" -nic none \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
  -virtfs "local,path=$job,mount_tag=xdpkvjob,security_model=none,multidevs=remap" \
  "${qargs[@]}" -kernel "$vmlinuz" -initrd "$img" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init" </dev/null >"$job/qemu.log" 2>&1 &
qpid=$!

if [[ $mode == serve ]]; then
  echo "$qpid" >"$job/pid"
  echo "$kver" >"$job/kver"
  while [[ ! -e $job/ready ]]; do
    kill -0 "$qpid" 2>/dev/null || { tail -n 30 "$job/console.log" >&2; die "the guest did not come up"; }
    (($(date +%s) - start < 300)) || die "the guest did not come up within 300s"
    sleep 0.2
  done
  say "Linux $kver serves $job (QEMU TCG, $smp CPUs, $mem; up in $(($(date +%s) - start))s, pid $qpid)"
  qpid=""  # it stays up: --stop DIR ends it
  exit 0
fi

say "running in Linux $kver (QEMU TCG, $smp CPUs, $mem): $*"
tail -q -n +1 -s 0.2 -f --pid="$qpid" "$job/stdout" &
t1=$!
tail -q -n +1 -s 0.2 -f --pid="$qpid" "$job/stderr" >&2 &
t2=$!
timed_out=0
while kill -0 "$qpid" 2>/dev/null; do
  if (($(date +%s) - start >= limit)); then
    timed_out=1
    kill "$qpid" 2>/dev/null
    break
  fi
  sleep 0.5
done
wait "$qpid" 2>/dev/null
qrc=$?
qpid=""
wait "$t1" "$t2" 2>/dev/null
secs=$(($(date +%s) - start))
((show_console)) && { echo "guest: console log of $kver:" >&2; cat "$job/console.log" >&2; }
trouble=$(grep -E 'Kernel panic|BUG:|Oops:|WARNING:|Call Trace' "$job/console.log" | head -n 3)
[[ -n $trouble ]] && echo "guest: the guest kernel reported: $trouble" >&2
if ((timed_out)); then
  echo "guest: timeout: the command did not finish within ${limit}s in Linux $kver" >&2
  tail -n 20 "$job/console.log" >&2
  exit 124
fi
if [[ ! -s $job/rc ]]; then
  echo "guest: Linux $kver ended without the command's exit status (qemu exit $qrc); console tail:" >&2
  tail -n 30 "$job/console.log" "$job/qemu.log" >&2
  exit 125
fi
rc=$(cat "$job/rc")
say "exit $rc after ${secs}s in Linux $kver"
exit "$rc"
