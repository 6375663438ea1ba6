#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# ctest install_deb: `cpack -G DEB` in BUILD_DIR builds the Debian package.
# Checked without installing it on the host: its control fields (every
# Depends names a package this machine's archive has, bookworm on CI, and the
# ones the binaries and the DPDK plugins need are there), its file list (the
# tools, both header trees, the CMake package, xdpkv.pc, the manual), and the
# unpacked xdpkv itself, which runs from the package's tree.
# usage: deb.sh BUILD_DIR VERSION
set -eu
build=$1
version=$2
tmp=$(mktemp -d /tmp/xdpkv-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "install_deb: FAIL: $*" >&2
	exit 1
}

(cd "$build" && cpack -G DEB -B "$tmp/out") > "$tmp/cpack.log" 2>&1 || {
	cat "$tmp/cpack.log" >&2
	fail "cpack -G DEB failed"
}
deb=$(ls "$tmp"/out/xdpkv_*.deb 2> /dev/null | head -n 1)
[ -n "$deb" ] || fail "cpack wrote no xdpkv_*.deb into $tmp/out"
echo "install_deb: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = xdpkv ] || fail "Package is '$(field Package)'"
[ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)', not $version"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture is '$(field Architecture)'"
depends=$(field Depends)
echo "install_deb: Depends: $depends"
for need in libc6 libstdc++6 libbpf1 libxdp1 librte-eal23 librte-ethdev23 librte-net-af-xdp23 \
	librte-net-af-packet23; do
	printf '%s\n' "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx "$need" ||
		fail "Depends lacks $need"
done
# Every package named must exist in the archive this machine installs from.
for p in $(printf '%s\n' "$depends" | tr ',|' '\n\n' | sed 's/^ *//; s/ .*//'); do
	apt-cache show "$p" > /dev/null 2>&1 || fail "Depends names $p, which the archive does not have"
done

dpkg-deb -c "$deb" | awk '{ print $6 }' > "$tmp/files"
for f in ./usr/bin/xdpkv ./usr/bin/xdpkv-trafficgen ./usr/include/xdpkv/xdpkv.bpf.h \
	./usr/include/xdpkv/format.h ./usr/include/xdpkv/codec.hpp ./usr/include/xdpkv/registry.hpp \
	./usr/lib/cmake/xdpkv/xdpkv-config.cmake ./usr/lib/cmake/xdpkv/xdpkv-config-version.cmake \
	./usr/lib/pkgconfig/xdpkv.pc ./usr/lib/libxdpkv_codec.a ./usr/share/man/man1/xdpkv.1.gz \
	./usr/share/doc/xdpkv/FORMAT.md ./usr/share/xdpkv/bpf/xdp-dispatcher.o; do
	grep -qx "$f" "$tmp/files" || fail "the package has no $f"
done
echo "install_deb: $(grep -vc '/$' "$tmp/files") files"

# The packaged CLI, unpacked elsewhere, runs without the build tree.
dpkg-deb -x "$deb" "$tmp/root"
out=$("$tmp/root/usr/bin/xdpkv" --version) || fail "the packaged xdpkv --version exited $?"
[ "$out" = "xdpkv $version" ] || fail "the packaged xdpkv --version printed: $out"
expect='{"size": 28, "store_size": 28, "keys": [{"key": 3, "len": 8, "value": "0807060504030201"}, {"key": 7, "len": 2, "value": "efbe"}]}'
out=$("$tmp/root/usr/bin/xdpkv" decode 0000efbe0807060504030201:0800000000000000:8800000000000000) ||
	fail "the packaged xdpkv decode exited $?"
[ "$out" = "$expect" ] || fail "the packaged xdpkv decode printed: $out"
pc=$(PKG_CONFIG_PATH="$tmp/root/usr/lib/pkgconfig" pkg-config --variable=bpf_includedir xdpkv)
[ "$(realpath "$pc")" = "$(realpath "$tmp/root/usr/include")" ] || fail "xdpkv.pc in the unpacked tree gives bpf_includedir $pc"
echo "install_deb: ok"
