#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# ctest install_consumer: installs the build into a temporary prefix and uses
# it as another project would, from the prefix alone:
#  - tests/install/consumer (CMake, find_package(xdpkv)): a BPF program on
#    <xdpkv/xdpkv.bpf.h> that must pass the verifier and write the expected
#    store (BPF_PROG_TEST_RUN, key id from the registry by name), and a C++
#    program on xdpkv::codec;
#  - the same C++ program through pkg-config on a plain c++ command line, and
#    the BPF program through pkg-config's bpf_includedir;
#  - xdp/examples/flowtag stand-alone (find_package(xdpkv));
#  - the installed xdpkv, moved elsewhere, with the source and build trees
#    hidden (a private mount namespace covers them with empty tmpfs mounts).
# With MODE demo (ctest install_demo, label netns), only the last: the moved
# xdpkv runs `xdpkv demo`, which must find the moved xdpkv-trafficgen.
# usage: run.sh SOURCE_DIR BUILD_DIR VERSION [consumer|demo]
set -eu
src=$(realpath "$1")
build=$(realpath "$2")
version=$3
mode=${4:-consumer}
work="$build/tests/install/work-$$"
prefix="$work/prefix"
bpffs="/sys/fs/bpf/xdpkv-install-$$"
moved=""
through=""

cleanup() {
	rm -rf "$work" "$bpffs"
	[ -z "$moved" ] || rm -rf "$moved"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "install_$mode: FAIL: $*" >&2
	exit 1
}

step() {
	echo "== $*"
}

# What loads a program that grows metadata runs where the kernel allows it
# (scripts/run-where.sh: here, or in a guest kernel); the rest runs here.
where() {
	"$src/scripts/run-where.sh" "$build" grow_meta -- "$@"
}

mkdir -p "$work"
step "cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log" || {
	cat "$work/install.log"
	fail "cmake --install"
}
for f in bin/xdpkv include/xdpkv/xdpkv.bpf.h include/xdpkv/format.h include/xdpkv/codec.hpp \
	include/xdpkv/registry.hpp lib/libxdpkv_codec.a lib/libxdpkv_registry.a \
	lib/cmake/xdpkv/xdpkv-config.cmake lib/cmake/xdpkv/xdpkv-config-version.cmake \
	lib/pkgconfig/xdpkv.pc share/man/man1/xdpkv.1.gz share/doc/xdpkv/FORMAT.md \
	share/xdpkv/bpf/xdp-dispatcher.o; do
	[ -f "$prefix/$f" ] || fail "not installed: $f"
done
zcat "$prefix/share/man/man1/xdpkv.1.gz" | grep -qx '.SH EXIT STATUS' || fail "xdpkv.1.gz is not the manual"
if [ -f "$build/userspace/traffic/xdpkv-trafficgen" ]; then
	[ -x "$prefix/bin/xdpkv-trafficgen" ] || fail "not installed: bin/xdpkv-trafficgen"
fi

# The installed tree copied elsewhere; run_moved CMD ARGS... runs
# $moved/bin/CMD with the source and build trees covered by empty mounts.
step "the installed xdpkv, moved, with the source and build trees hidden"
moved=$(mktemp -d /tmp/xdpkv-moved.XXXXXX)
cp -a "$prefix/." "$moved/"
run_moved() {
	$through unshare -m --propagation private sh -c '
		mount -t tmpfs xdpkv-hidden "$1" && mount -t tmpfs xdpkv-hidden "$2" || exit 99
		[ ! -e "$1/userspace/cli/xdpkv" ] || exit 98
		cmd=$3
		shift 3
		exec "$cmd" "$@"
	' hide "$build" "$src" "$moved/bin/$@"
}

if [ "$mode" = demo ]; then
	# xdpkv-trafficgen (DPDK) sends the packets: found next to the moved xdpkv.
	[ -x "$moved/bin/xdpkv-trafficgen" ] || fail "no xdpkv-trafficgen installed"
	through=where run_moved xdpkv demo --packets 50 --gen dpdk --quiet ||
		fail "moved xdpkv demo exited $?"
	echo "install_demo: ok"
	exit 0
fi

# xdpkv-config-version.cmake: SameMajorVersion, so 0.1 is found and 1.0 is not.
step "find_package(xdpkv VERSION) against $version"
mkdir -p "$work/version"
for want in 0.1 1.0; do
	printf 'cmake_minimum_required(VERSION 3.20)\nproject(v NONE)\nfind_package(xdpkv %s CONFIG REQUIRED)\n' \
		"$want" > "$work/version/CMakeLists.txt"
	rc=0
	cmake -S "$work/version" -B "$work/version/b-$want" -DCMAKE_PREFIX_PATH="$prefix" \
		> "$work/version.log" 2>&1 || rc=$?
	if [ "$want" = 0.1 ] && [ "$rc" != 0 ]; then
		cat "$work/version.log"
		fail "find_package(xdpkv 0.1) failed"
	fi
	[ "$want" = 0.1 ] || [ "$rc" != 0 ] || fail "find_package(xdpkv 1.0) accepted $version"
done

# The consumer from a copy, so that no path of it names the source tree.
cp -r "$src/tests/install/consumer" "$work/consumer-src"
step "configure the consumer with CMAKE_PREFIX_PATH=$prefix"
cmake -S "$work/consumer-src" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON > "$work/consumer.log" 2>&1 || {
	cat "$work/consumer.log"
	fail "consumer configure"
}
grep -qxF -- "-- xdpkv::bpf include directory: $prefix/include" "$work/consumer.log" ||
	{ cat "$work/consumer.log"; fail "xdpkv::bpf does not name $prefix/include"; }
step "build the consumer"
cmake --build "$work/consumer" > "$work/consumer-build.log" 2>&1 || {
	cat "$work/consumer-build.log"
	fail "consumer build"
}
# Nothing of the consumer's build (flags, dependency files: the text files;
# the binaries carry the debug info of the installed libraries) reaches into the trees.
if grep -rIEl "$src/(xdp|userspace|registry|drivers|cmake)/|$build/(bpf|userspace|registry|drivers)/" \
	"$work/consumer" > "$work/leaks"; then
	cat "$work/leaks"
	fail "the consumer's build refers to the xdpkv source or build tree"
fi

# key 3 = 0x0102030405060708 (u64), key 7 = 0xbeef (u16): pad, values, hi, lo.
store=0000efbe0807060504030201:0800000000000000:8800000000000000
step "consumer_decode (xdpkv::codec)"
"$work/consumer/consumer_decode" "$store" || fail "consumer_decode"
step "consumer_run (BPF program on <xdpkv/xdpkv.bpf.h>, registry in $bpffs)"
where "$work/consumer/consumer_run" "$bpffs" || fail "consumer_run"

step "pkg-config build of the codec consumer"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pc_inc=$(pkg-config --variable=bpf_includedir xdpkv)
[ "$(realpath "$pc_inc")" = "$prefix/include" ] || fail "bpf_includedir is $pc_inc"
# shellcheck disable=SC2046
c++ -std=c++20 -o "$work/decode_pc" "$work/consumer-src/decode.cpp" $(pkg-config --cflags --libs xdpkv) ||
	fail "c++ with pkg-config --cflags --libs xdpkv"
"$work/decode_pc" "$store" || fail "decode_pc"
"$(command -v clang-14 || command -v clang)" -g -O2 -target bpf -mcpu=v3 -Wall -Werror -I"$work/consumer" -I"$pc_inc" \
	-c "$work/consumer-src/consumer.bpf.c" -o "$work/consumer_pc.bpf.o" ||
	fail "clang -target bpf -I\$(pkg-config --variable=bpf_includedir xdpkv)"

step "xdp/examples/flowtag stand-alone"
cp -r "$src/xdp/examples/flowtag" "$work/flowtag-src"
cmake -S "$work/flowtag-src" -B "$work/flowtag" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON > "$work/flowtag.log" 2>&1 &&
	cmake --build "$work/flowtag" >> "$work/flowtag.log" 2>&1 || {
	cat "$work/flowtag.log"
	fail "flowtag stand-alone build"
}
rc=0
"$work/flowtag/flowtag" > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "flowtag without arguments exited $rc, not 2"

expect='{"size": 28, "store_size": 28, "keys": [{"key": 3, "len": 8, "value": "0807060504030201"}, {"key": 7, "len": 2, "value": "efbe"}]}'
out=$(run_moved xdpkv --version) || fail "moved xdpkv --version exited $?"
[ "$out" = "xdpkv $version" ] || fail "moved xdpkv --version printed: $out"
out=$(run_moved xdpkv decode "$store") || fail "moved xdpkv decode exited $?"
[ "$out" = "$expect" ] || fail "moved xdpkv decode printed: $out"
echo "$out"
# The manual's decode example is what the tool prints, for the version installed.
man="$moved/share/man/man1/xdpkv.1.gz"
zcat "$man" | grep -q "^\.TH XDPKV 1 .* \"xdpkv $version\"" || fail "xdpkv.1 is not for xdpkv $version"
example=$(zcat "$man" | grep -A1 '^\$ xdpkv decode ')
# shellcheck disable=SC2086
out=$(run_moved xdpkv decode $(echo "$example" | head -n 1 | sed 's/^\$ xdpkv decode //')) ||
	fail "the manual's decode example exited $?"
[ "$out" = "$(echo "$example" | tail -n 1)" ] || fail "the manual's decode example prints: $out"
echo "install_consumer: ok"
