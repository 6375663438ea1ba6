#!/usr/bin/env bash
# Fetches a Debian guest kernel from another suite of this machine's own
# Debian archive (e.g. bookworm-backports, trixie-backports) into OUT, without
# installing anything into the host:
#
#   kfuncs/fetch-kernel.sh SUITE OUT [SERIES]
#
#   SUITE   the Debian suite, e.g. bookworm-backports
#   OUT     a directory under the build tree
#   SERIES  optional version prefix, e.g. 6.12 (default: the newest kernel of SUITE)
#
# The suite's source entry is derived from the machine's apt configuration
# (`apt-get indextargets`: the URI that serves the host's own release, with
# SUITE in place of the release), and apt runs with a private state, cache
# and source list under OUT/apt. The newest linux-image-*-amd64 (unsigned
# preferred: nothing here checks signatures of kernels), its linux-headers,
# linux-headers-*-common and linux-kbuild are `apt-get download`ed and
# unpacked with `dpkg-deb -x` into OUT/root. Writes OUT/kernel.env (KVER=ABI,
# ROOT, VMLINUZ, MODULES, HEADERS, SUITE, VERSION=package version, and
# TOOLS_LOADER/TOOLS_LIBDIR/TOOLS_PAHOLE when kbuild's host tools need a
# newer libc) and
# prints the ABI on the last line.
# Cached: a second run with the same newest version downloads nothing.
# Fails with the reason on any error (no network, suite unknown, no kernel).
set -euo pipefail

suite=${1:?usage: fetch-kernel.sh SUITE OUT [SERIES]}
out=$(mkdir -p "${2:?usage: fetch-kernel.sh SUITE OUT [SERIES]}" && cd "$2" && pwd)
series=${3:-}
export PATH="$PATH:/usr/sbin:/sbin"
die() { echo "fetch-kernel: $suite: $*" >&2; exit 1; }
log() { echo "fetch-kernel: $suite: $*" >&2; }
for t in apt-get apt-cache dpkg-deb; do
  command -v "$t" >/dev/null || die "$t not found"
done

# 1. The URI that serves the host's release (same archive, other suite).
host=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ -n $host ]] || die "no VERSION_CODENAME in /etc/os-release"
uri=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' \
  'Created-By: Packages' 2>/dev/null | awk -v r="$host" '$2 == r && $3 == "deb" {print $1; exit}')
[[ -n $uri ]] || die "apt has no 'deb' source for the host's release $host to derive $suite from"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -r $keyring ]] || die "$keyring missing (debian-archive-keyring)"

# 2. Private apt: nothing in /var/lib/apt or /var/cache/apt is touched.
#    apt_setup DIR SUITE sets the array apt to the options for that suite.
apt_setup() {
  local a=$1 s=$2
  mkdir -p "$a/state/lists/partial" "$a/cache/archives/partial" "$a/parts" "$a/prefs"
  : >"$a/state/status"
  echo "deb [signed-by=$keyring] $uri $s main" >"$a/sources.list"
  apt=(-o "Dir::State=$a/state" -o "Dir::State::status=$a/state/status" -o "Dir::Cache=$a/cache"
       -o "Dir::Etc::SourceList=$a/sources.list" -o "Dir::Etc::SourceParts=$a/parts"
       -o "Dir::Etc::Preferences=$a/prefs/none" -o "Dir::Etc::PreferencesParts=$a/prefs"
       -o "APT::Architectures::=amd64" -o "Debug::NoLocking=1" -o "APT::Get::List-Cleanup=0")
  # Refresh at most every 6 hours: Debian drops old ABIs from the archive.
  if [[ -z $(find "$a/state/lists" -maxdepth 1 -name '*_Packages*' -mmin -360 2>/dev/null) ]]; then
    log "apt-get update of $s (private lists in $a)"
    apt-get "${apt[@]}" update -qq >"$a/update.log" 2>&1 ||
      { cat "$a/update.log" >&2; die "apt-get update failed for '$s' at the host's archive"; }
    grep -qE '^(W|E):' "$a/update.log" && { cat "$a/update.log" >&2; }
    [[ -n $(find "$a/state/lists" -maxdepth 1 -name '*_Packages*') ]] ||
      die "apt-get update got no package list for '$s' (does the archive serve it?)"
  fi
}
# download DIR PKG...: apt-get download into DIR, unpack each into $root.
download() {
  local d=$1
  shift
  mkdir -p "$d"
  (cd "$d" && rm -f ./*.deb && apt-get "${apt[@]}" download -qq "$@") >"$d.log" 2>&1 ||
    { cat "$d.log" >&2; die "apt-get download $* failed"; }
  for f in "$d"/*.deb; do
    dpkg-deb -x "$f" "$root" || die "dpkg-deb -x $f failed"
  done
}
mkdir -p "$out/debs"
apt_setup "$out/apt" "$suite"

# 3. The newest generic (not -rt, not -cloud) ABI with an image, headers and kbuild.
sre=${series//./\\.}
names=$(apt-cache "${apt[@]}" pkgnames linux-image- 2>/dev/null |
  grep -E "^linux-image-${sre:-[0-9]+}[0-9.]*(\+deb[0-9]+|\+bpo|-[0-9]+)-amd64(-unsigned)?$" | sort -u || true)
abis=$(sed -E 's/^linux-image-//; s/-unsigned$//' <<<"$names" | sort -uV)
kver=""
for v in $(tac <<<"$abis"); do
  [[ -n $v ]] || continue
  if apt-cache "${apt[@]}" show "linux-headers-$v" >/dev/null 2>&1; then
    kver=$v
    break
  fi
done
[[ -n $kver ]] || die "no linux-image/linux-headers-${series:-*}-amd64 pair in $suite"
img=linux-image-$kver-unsigned
grep -qx "$img" <<<"$names" || img=linux-image-$kver
ver=$(apt-cache "${apt[@]}" show "$img" | awk '/^Version:/ {print $2; exit}')
# The packages that hold the ABI's files: since 7.x linux-image-ABI is split
# into linux-{base,binary,modules}-ABI; linux-headers-ABI depends on
# linux-headers-ABI-common and linux-kbuild-X.
depends() {
  apt-cache "${apt[@]}" depends --no-recommends --no-suggests "$1" |
    awk -v re="$2" '$1 ~ /Depends:$/ && $2 ~ re {print $2}' | sort -u
}
kre=${kver//./\\.}
kre=${kre//+/\\+}
deps="$(depends "$img" "^linux-[a-z]+-$kre\$") $(depends "linux-headers-$kver" '^linux-(headers|kbuild)-')"
pkgs=("$img" "linux-headers-$kver" $deps)
grep -q 'linux-kbuild-' <<<"$deps" || die "linux-headers-$kver names no linux-kbuild dependency"
log "kernel $kver ($ver): ${pkgs[*]}"

# 4. Download and unpack (once per version).
root=$out/root
stamp=$out/.unpacked-$(echo "$ver ${pkgs[*]}" | md5sum | cut -c1-16)
if [[ ! -e $stamp ]]; then
  rm -rf "$root" "$out"/.unpacked-* "$out/tools-libc"
  mkdir -p "$root"
  download "$out/debs" "${pkgs[@]}"
  touch "$stamp"
fi

# 5. Kbuild's host tools of a newer release (trixie's need glibc 2.38) run
#    through that release's own dynamic loader and libc, unpacked beside
#    them: never installed, and only those tools use it.
loader="" libdir="" pahole=""
fixdep=$(find "$root"/usr/lib/linux-kbuild-* -path '*/scripts/basic/fixdep' | sed -n 1p)
[[ -n $fixdep ]] || die "no linux-kbuild scripts/basic/fixdep after unpacking ${pkgs[*]}"
missing=$(find "$root"/usr/lib/linux-kbuild-* -type f -perm -u+x -exec sh -c \
  'ldd "$1" 2>&1 | grep "not found"' _ {} \; | sed -n 1p)
if [[ -n $missing ]]; then
  base=${suite%-backports}
  [[ $base != "$suite" ]] || die "kbuild tools of $suite do not run here: $missing"
  lroot=$out/tools-libc
  if [[ ! -e $lroot/.unpacked ]]; then
    log "kbuild tools need a newer libc ($missing); fetching libc6 from $base"
    apt_setup "$out/apt-$base" "$base"
    rm -rf "$lroot"
    mkdir -p "$lroot"
    # Its pahole too: a kernel built with a newer pahole has BTF that
    # bookworm's 1.24 mis-encodes module BTF against.
    root=$lroot download "$out/debs-$base" libc6 pahole libbpf1 libdw1t64 libelf1t64
    touch "$lroot/.unpacked"
  fi
  loader=$(find "$lroot" -name 'ld-linux-x86-64.so.2' | sed -n 1p)
  libdir=$(dirname "$(find "$lroot" -name 'libc.so.6' | sed -n 1p)")
  [[ -n $loader && -d $libdir ]] || die "libc6 of $base has no ld-linux-x86-64.so.2/libc.so.6"
  pahole=$lroot/usr/bin/pahole
  [[ -x $pahole ]] || pahole=""
  probe=$("$loader" --library-path "$libdir" "$fixdep" 2>&1 || true)
  [[ $probe == *Usage* ]] || die "kbuild's fixdep does not run even with $base's libc: $probe"
fi

# 7.x moved the image and the modules under /usr/lib/modules.
vmlinuz="" mods=""
for f in "$root/boot/vmlinuz-$kver" "$root/usr/lib/modules/$kver/vmlinuz" "$root/lib/modules/$kver/vmlinuz"; do
  [[ -r $f ]] && { vmlinuz=$f; break; }
done
for d in "$root/lib/modules/$kver" "$root/usr/lib/modules/$kver"; do
  [[ -d $d/kernel ]] && { mods=$d; break; }
done
[[ -n $vmlinuz ]] || die "no vmlinuz for $kver after unpacking ${pkgs[*]}"
[[ -n $mods ]] || die "no modules directory for $kver after unpacking ${pkgs[*]}"
[[ -d $root/usr/src/linux-headers-$kver ]] || die "$root/usr/src/linux-headers-$kver missing"
printf 'KVER=%s\nROOT=%s\nVMLINUZ=%s\nMODULES=%s\nHEADERS=%s\nSUITE=%s\nVERSION=%s\nTOOLS_LOADER=%s\nTOOLS_LIBDIR=%s\nTOOLS_PAHOLE=%s\n' \
  "$kver" "$root" "$vmlinuz" "$mods" "$root/usr/src/linux-headers-$kver" "$suite" "$ver" "$loader" "$libdir" "$pahole" \
  >"$out/kernel.env"
log "ok: $root ($kver)"
echo "$kver"
