#!/usr/bin/env bash
# Builds xdpkv.ko with BTF against a Debian kernel's headers and checks that
# its kfuncs made it into the module's BTF.
#
#   kfuncs/build-module.sh [OUT [KERNEL_ENV]]     (OUT default: build/kfuncs)
#
# Without KERNEL_ENV: the host's Debian 6.1 packages (kernel-version.sh picks
# the ABI; /usr/src/linux-headers-ABI, /boot/vmlinuz-ABI). With KERNEL_ENV:
# the kernel.env of kfuncs/fetch-kernel.sh (a guest kernel unpacked into the
# build tree: HEADERS, VMLINUZ, KVER, optional TOOLS_LOADER).
#
# Debian's headers package has no vmlinux, and Kbuild silently skips module
# BTF without it ("Skipping BTF generation"); a module without BTF loads but
# exposes no kfunc. So, once per kernel ABI:
#   - vmlinux: extracted from the vmlinuz (its .BTF section is the base BTF
#     that pahole --btf_base and resolve_btfids -b need),
#   - resolve_btfids: the kbuild package's (6.12+), else built from
#     linux-source-6.1's tools/ (cached),
#   - a private copy of the headers tree with that vmlinux in it.
# Prints the path of the module on the last line. Fails loudly.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=$(mkdir -p "${1:-$root/build/kfuncs}" && cd "${1:-$root/build/kfuncs}" && pwd)
kenv=${2:-}
export PATH="$PATH:/usr/sbin:/sbin"

die() { echo "build-module: $*" >&2; exit 1; }
log() { echo "build-module: $*" >&2; }

TOOLS_LOADER=""
if [[ -n $kenv ]]; then
  [[ -r $kenv ]] || die "$kenv missing: run kfuncs/fetch-kernel.sh first"
  # shellcheck disable=SC1090
  source "$kenv"
  kver=$KVER headers=$HEADERS vmlinuz=$VMLINUZ
  TOOLS_LOADER=${TOOLS_LOADER:-} TOOLS_LIBDIR=${TOOLS_LIBDIR:-} TOOLS_PAHOLE=${TOOLS_PAHOLE:-}
else
  kver=$("$here/kernel-version.sh")
  headers=/usr/src/linux-headers-$kver
  vmlinuz=/boot/vmlinuz-$kver
fi
src_tar=/usr/src/linux-source-6.1.tar.xz
[[ -d $headers ]] || die "$headers is missing: install linux-headers-$kver (scripts/deps.sh)"
[[ -r $vmlinuz ]] || die "$vmlinuz is missing: install linux-image-$kver (scripts/deps.sh)"
[[ -r $src_tar ]] || die "$src_tar is missing: install linux-source-6.1 (scripts/deps.sh)"
for t in pahole gcc-12 make readelf objcopy bpftool xz python3; do
  command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh installs it)"
done

# 1. linux-source-6.1 tools: resolve_btfids and bpf_doc.py (once).
#    $XDPKV_LINUX_SOURCE_DIR lets several OUTs share one extraction.
lsrc=${XDPKV_LINUX_SOURCE_DIR:-$out/linux-source-6.1}
rbt=$lsrc.resolve_btfids/resolve_btfids
[[ -x $headers/tools/bpf/resolve_btfids/resolve_btfids ]] && rbt=$headers/tools/bpf/resolve_btfids/resolve_btfids
mkdir -p "$(dirname "$lsrc")"
exec 9>"$lsrc.lock"
flock 9
if [[ ! -e $lsrc/.extracted ]]; then
  log "extracting tools/ from $src_tar"
  rm -rf "$lsrc" "$lsrc.tmp"
  mkdir -p "$lsrc.tmp"
  tar -xJf "$src_tar" -C "$lsrc.tmp" --wildcards 'linux-source-6.1/tools/*' \
    'linux-source-6.1/scripts/bpf_doc.py'
  mv "$lsrc.tmp/linux-source-6.1" "$lsrc"
  rmdir "$lsrc.tmp"
  touch "$lsrc/.extracted"
fi
if [[ ! -x $rbt ]]; then
  log "building resolve_btfids"
  mkdir -p "$lsrc.resolve_btfids"
  make -s -C "$lsrc/tools/bpf/resolve_btfids" OUTPUT="$lsrc.resolve_btfids/" -j2 >"$lsrc.resolve_btfids.log" 2>&1 ||
    { tail -20 "$lsrc.resolve_btfids.log" >&2; die "resolve_btfids failed to build"; }
  [[ -x $rbt ]] || die "resolve_btfids missing after build"
fi
exec 9>&-

# 2. vmlinux and a private headers tree per ABI.
kdir=$out/kernel-$kver
# The vmlinux is extracted from the vmlinuz even where the headers package
# ships one (7.x: BTF only): the VM tests boot it (tests/vm/run-vm.sh).
# Not with scripts/extract-vmlinux: it decompresses into /tmp (a small tmpfs
# on some hosts truncates a 64 MB vmlinux, whose ELF header still reads
# fine) and exits 0 when nothing fits. Here: the kernel's own compression
# (.config), output next to the headers, and the section table checked.
# 0: an ELF64 whose section table is inside the file; 2: no ELF64; 3: cut
# short (readelf -S exits 0 on a truncated file and lists nothing).
elf_whole() {
  python3 - "$1" <<'PY'
import os, struct, sys
with open(sys.argv[1], 'rb') as f:
    h = f.read(64)
    if len(h) < 64 or h[:5] != b'\x7fELF\x02':
        sys.exit(2)
    shoff, = struct.unpack_from('<Q', h, 0x28)
    shentsize, shnum = struct.unpack_from('<HH', h, 0x3a)
    size = os.fstat(f.fileno()).st_size
end = shoff + shnum * shentsize
if shnum == 0 or end > size:
    print(f'{sys.argv[1]}: {size} bytes, its section table ends at byte {end}', file=sys.stderr)
    sys.exit(3)
PY
}
# has_section FILE NAME: the section table read whole, then matched. Not
# `readelf | grep -q` under pipefail: grep exits at the first match, and a
# table longer than one 4 KiB stdio buffer (6.12: 4.5 KiB, 7.3: 4.9 KiB)
# then kills readelf's second write with SIGPIPE, so the pipeline "fails"
# on a loaded machine (10 of 300 here with two busy loops; CI saw it).
has_section() {
  local table
  table=$(readelf -S --wide "$1") || die "readelf cannot read the sections of $1"
  [[ $table == *" $2 "* ]]
}
extract_vmlinux() { # IMG OUT
  local img=$1 dst=$2 comp magic cmd off err
  comp=$(sed -n 's/^CONFIG_KERNEL_\([A-Z0-9]*\)=y$/\1/p' "$headers/.config" 2>/dev/null | tr 'A-Z' 'a-z')
  case $comp in
  gzip) magic='\x1f\x8b\x08' cmd='gzip -dc' ;;
  xz) magic='\xfd7zXZ\x00' cmd='xz -dc' ;;
  bzip2) magic='BZh' cmd='bzip2 -dc' ;;
  lzma) magic='\x5d\x00\x00\x00' cmd='xz -dc --format=lzma' ;;
  lzo) magic='\x89LZO' cmd='lzop -dc' ;;
  lz4) magic='\x02!L\x18' cmd='lz4 -dc' ;;
  zstd) magic='\x28\xb5\x2f\xfd' cmd='zstd -dc' ;;
  *) die "$headers/.config names no kernel compression (CONFIG_KERNEL_*=y): cannot extract vmlinux from $img" ;;
  esac
  command -v "${cmd%% *}" >/dev/null ||
    die "$img is $comp-compressed and ${cmd%% *} is not installed (scripts/deps.sh installs xz-utils, zstd and lz4)"
  # Every offset of the magic, first to last: the payload is the first
  # stream that decompresses to an ELF with a section table.
  for off in $(LC_ALL=C grep -obUaP "$magic" "$img" | cut -d: -f1); do
    # The stream is followed by the rest of the image: the decompressor's
    # complaint about trailing bytes is expected, its status is not used.
    tail -c +$((off + 1)) "$img" | $cmd >"$dst" 2>"$dst.err" || true
    elf_whole "$dst" || case $? in
    2) continue ;;
    *)
      err=$(head -c 300 "$dst.err" | tr '\n' ' ')
      die "the vmlinux from $img is cut short; $(dirname "$dst") has $(df -h --output=avail "$(dirname "$dst")" | tail -1 | tr -d ' ') free${err:+ ($cmd: $err)}"
      ;;
    esac
    has_section "$dst" .BTF ||
      die "vmlinux from $img has no .BTF section: the kernel lacks CONFIG_DEBUG_INFO_BTF"
    return 0
  done
  die "found no $comp stream in $img that decompresses to a whole ELF ($cmd: $(head -c 300 "$dst.err" 2>/dev/null | tr '\n' ' '); free in $(dirname "$dst"): $(df -h --output=avail "$(dirname "$dst")" | tail -1))"
}
if [[ ! -s $kdir/vmlinux || $vmlinuz -nt $kdir/vmlinux ]]; then
  log "extracting vmlinux from $vmlinuz"
  mkdir -p "$kdir"
  extract_vmlinux "$vmlinuz" "$kdir/vmlinux.tmp"
  mv "$kdir/vmlinux.tmp" "$kdir/vmlinux"
  rm -rf "$kdir/headers"
fi
if [[ ! -e $kdir/headers/.ready ]]; then
  rm -rf "$kdir/headers"
  cp -a "$headers" "$kdir/headers"
  # Its relative symlinks (scripts, tools -> ../../lib/linux-kbuild-X) would dangle here.
  (cd "$headers" && find . -type l) | while read -r l; do
    ln -sfn "$(readlink -f "$headers/$l")" "$kdir/headers/$l"
  done
  # A fetched tree's Makefile names its -common tree (and, 7.x, itself as
  # KBUILD_OUTPUT) by absolute path.
  [[ -n $kenv ]] && sed -i -e "s|^include /usr/src/|include $ROOT/usr/src/|" \
    -e "s|^KBUILD_OUTPUT=.*|KBUILD_OUTPUT=$kdir/headers|" "$kdir/headers/Makefile"
  ln -sf ../vmlinux "$kdir/headers/vmlinux"
  if [[ -n $TOOLS_LOADER ]]; then
    # Kbuild's tools need a newer libc (fetch-kernel.sh): a private copy of
    # them, each ELF behind a wrapper that runs it with that libc's loader.
    kb=$(readlink -f "$headers/scripts/..")
    rm -rf "$kdir/kbuild"
    cp -a "$kb" "$kdir/kbuild"
    find "$kdir/kbuild" -type f -perm -u+x | while read -r f; do
      head -c4 "$f" | grep ELF >/dev/null || continue
      mv "$f" "$f.elf"
      printf '#!/bin/sh\nexec %q --library-path %q --argv0 "$0" "$0.elf" "$@"\n' "$TOOLS_LOADER" "$TOOLS_LIBDIR" >"$f"
      chmod +x "$f"
    done
    ln -sfn "$kdir/kbuild/scripts" "$kdir/headers/scripts"
    ln -sfn "$kdir/kbuild/tools" "$kdir/headers/tools"
  fi
  touch "$kdir/headers/.ready"
fi
[[ -x $kdir/headers/tools/bpf/resolve_btfids/resolve_btfids ]] && rbt=$kdir/headers/tools/bpf/resolve_btfids/resolve_btfids
echo "$kver" >"$out/kernel-version"

# The compiler the headers were configured with (.kernelvariables: CC =
# ...gcc-N). If only gcc-12 is here, a wrapper stands in for it and maps the
# options gcc-12 lacks to their older equivalents (the ones Kbuild itself
# falls back to for an older compiler).
cc=$(sed -n 's/^CC = .*gcc-\([0-9]*\)$/\1/p' "$headers/.kernelvariables" 2>/dev/null || true)
mkdir -p "$kdir/bin"
if [[ -n $cc ]] && ! command -v "x86_64-linux-gnu-gcc-$cc" >/dev/null; then
  log "the headers want gcc-$cc, which is not here: building with gcc-12 through $kdir/bin/x86_64-linux-gnu-gcc-$cc"
  cat >"$kdir/bin/x86_64-linux-gnu-gcc-$cc" <<'CC'
#!/bin/bash
# gcc-12 in place of a newer gcc (kfuncs/build-module.sh).
a=()
for x in "$@"; do
  case $x in
    -fmin-function-alignment=*) x=-falign-functions=${x#*=} ;;  # gcc 14
  esac
  a+=("$x")
done
exec gcc-12 "${a[@]}"
CC
  chmod +x "$kdir/bin/x86_64-linux-gnu-gcc-$cc"
fi
export PATH="$kdir/bin:$PATH"

# 3. The module, from a copy of the sources (Kbuild writes next to them).
rm -f "$out/xdpkv.ko"
mdir=$kdir/module
mkdir -p "$mdir"
for f in Kbuild xdpkv.c compat.h; do
  cmp -s "$here/$f" "$mdir/$f" || cp "$here/$f" "$mdir/$f"
done
# Kbuild picks pahole's options by the pahole the kernel was built with
# (CONFIG_PAHOLE_VERSION); bookworm's may be older: use the options that one
# knows (those of scripts/Makefile.btf for pahole 1.22-1.24).
pv=$(pahole --version | tr -dc '0-9')
kpv=$(sed -n 's/^CONFIG_PAHOLE_VERSION=//p' "$kdir/headers/include/config/auto.conf" 2>/dev/null || true)
pahole_opts=()
if [[ -n $kpv ]] && ((kpv > pv)) && [[ -n ${TOOLS_PAHOLE:-} ]]; then
  # The release's own pahole (fetch-kernel.sh), through its libc's loader.
  printf '#!/bin/sh\nexec %q --library-path %q %q "$@"\n' "$TOOLS_LOADER" \
    "$(dirname "$TOOLS_PAHOLE")/../lib/x86_64-linux-gnu:$TOOLS_LIBDIR" "$TOOLS_PAHOLE" >"$kdir/bin/pahole"
  chmod +x "$kdir/bin/pahole"
  log "kernel built with pahole $kpv, this one is $pv: using $TOOLS_PAHOLE"
  pahole_opts=("PAHOLE=$kdir/bin/pahole")
elif [[ -n $kpv ]] && ((kpv > pv)); then
  log "kernel built with pahole $kpv, this one is $pv: PAHOLE_FLAGS for $pv"
  pahole_opts=("PAHOLE_FLAGS=--btf_gen_floats -j" "MODULE_PAHOLE_FLAGS=")
fi
log "building xdpkv.ko for $kver"
make -C "$kdir/headers" M="$mdir" XDPKV_INCLUDE="$root/xdp/include" \
  RESOLVE_BTFIDS="$rbt" "${pahole_opts[@]}" -j2 modules >"$mdir/build.log" 2>&1 ||
  { cat "$mdir/build.log" >&2; die "module build failed"; }
if grep -q 'Skipping BTF generation' "$mdir/build.log"; then
  cat "$mdir/build.log" >&2
  die "Kbuild skipped module BTF"
fi
grep -iE 'warning|error' "$mdir/build.log" >&2 || true
ko=$mdir/xdpkv.ko

# 4. Checks: BTF present, kfuncs in it, their ids resolved.
has_section "$ko" .BTF || die "$ko has no .BTF section: no kfunc would be visible"
# pahole >= 1.26 splits module BTF against a distilled base (.BTF.base) that
# the kernel relocates onto its own at load time (6.11+).
base=$kdir/vmlinux
if has_section "$ko" .BTF.base; then
  base=$mdir/btf.base
  # (--dump-section: -O binary writes only allocated sections, and .BTF* are not)
  objcopy --dump-section .BTF.base="$base" "$ko" "$mdir/.objcopy.tmp" && rm -f "$mdir/.objcopy.tmp"
fi
if ! btf=$(bpftool btf dump file "$ko" -B "$base" 2>&1); then
  [[ $base == "$mdir/btf.base" ]] || die "bpftool cannot read the BTF of $ko: $btf"
  # bookworm's bpftool cannot parse a distilled base: check the names in the
  # .BTF strings; the guest checks /sys/kernel/btf/xdpkv for real.
  log "bpftool $(bpftool version | head -n1 | awk '{print $2}') cannot parse the distilled base; checking kfunc names in .BTF"
  objcopy --dump-section .BTF="$mdir/btf.split" "$ko" "$mdir/.objcopy.tmp" && rm -f "$mdir/.objcopy.tmp"
  btf=$(tr '\0' '\n' <"$mdir/btf.split" | sed "s/.*/FUNC '&' type_id=/")
fi
# The kfuncs the module registers: its BTF_ID_FLAGS lines (the guest test
# reads the same lines, tests/vm/CMakeLists.txt).
mapfile -t kfuncs < <(sed -n 's/^BTF_ID_FLAGS(func, \([a-z0-9_]*\)).*/\1/p' "$here/xdpkv.c")
((${#kfuncs[@]} > 0)) || die "no BTF_ID_FLAGS(func, ...) line in $here/xdpkv.c"
for f in "${kfuncs[@]}"; do
  grep -q "FUNC '$f' type_id=" <<<"$btf" || die "kfunc $f is missing from the BTF of $ko"
done
# .BTF_ids holds the two kfunc sets (btf_id_set8: u32 cnt, u32 flags, then
# {u32 id, u32 flags} pairs); ids stay 0 unless resolve_btfids patched them.
ids=$(objcopy -O binary --only-section=.BTF_ids "$ko" /dev/stdout | od -An -v -tu4 | tr -s ' \n' ' ')
read -r -a w <<<"$ids"
(( ${#w[@]} >= 2 )) || die "$ko has no .BTF_ids section"
i=0 nset=0 nid=0
while (( i + 1 < ${#w[@]} )); do
  cnt=${w[i]}
  (( cnt > 0 && cnt <= 64 )) || die ".BTF_ids of $ko is not two kfunc sets (cnt=$cnt at word $i)"
  for ((j = 0; j < cnt; j++)); do
    id=${w[i + 2 + 2 * j]}
    (( id != 0 )) || die "resolve_btfids did not patch kfunc id $j of set $nset in $ko"
    nid=$((nid + 1))
  done
  i=$((i + 2 + 2 * cnt))
  nset=$((nset + 1))
done
(( nset == 2 && nid >= ${#kfuncs[@]} )) || die "$ko: $nset kfunc sets with $nid ids, expected 2 sets with ${#kfuncs[@]}"
cp "$ko" "$out/xdpkv.ko"
echo "$kver" >"$out/kernel-version"
log "ok: $out/xdpkv.ko ($kver, BTF with $nid kfunc ids resolved)"
echo "$out/xdpkv.ko"
