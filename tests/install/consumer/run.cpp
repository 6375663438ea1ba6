// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Loads consumer.bpf.c (the verifier must accept it), binds its key by name
// through the registry in the bpffs directory argv[1], runs it once with
// BPF_PROG_TEST_RUN and checks the store it wrote with the codec.
#include <cstdio>
#include <string>
#include <vector>

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/codec.hpp>
#include <xdpkv/registry.hpp>

#include "consumer.skel.h"

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "consumer_run: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer_run BPFFS_DIR\n");
    return 2;
  }
  xdpkv::bpf::init_libbpf();
  xdpkv::RegistryOptions ro;
  ro.dir = argv[1];
  ro.create = true;
  auto reg = xdpkv::Registry::open(ro);
  if (!reg) return fail(reg.error().message);
  auto skel = xdpkv::bpf::open_skeleton(consumer__open, consumer__destroy, "consumer");
  if (!skel) return fail(skel.error().message);
  const xdpkv::KeyBinding keys[] = {{"consumer_id", 8, &(*skel)->rodata->key_id}};
  if (auto st = xdpkv::resolve_keys(*reg, keys); !st) return fail(st.error().message);
  if (auto st = xdpkv::bpf::load_skeleton(*skel, consumer__load, "consumer"); !st)
    return fail(st.error().message);
  const uint32_t id = (*skel)->rodata->key_id;

  const std::vector<uint8_t> packet(64, 0xab);
  auto run = xdpkv::bpf::xdp_test_run(bpf_program__fd((*skel)->progs.consumer_tag), {}, packet);
  if (!run) return fail(run.error().message);
  if (run->retval != XDP_PASS)
    return fail("retval " + std::to_string(run->retval) + ", err " +
                std::to_string((*skel)->bss->err));

  xdpkv::Builder want;
  want.set_u64(id, 0x1122334455667788ULL);
  want.set_u16(9, 0xbeef);
  const xdpkv::View got(run->meta);
  std::printf("key id %u, store %s\n", id, xdpkv::to_json(got).c_str());
  if (xdpkv::to_hex(got.area()) != xdpkv::to_hex(want.bytes()))
    return fail("store " + xdpkv::to_hex(got.area()) + ", expected " + xdpkv::to_hex(want.bytes()));
  if ((*skel)->bss->readback != 0x1122334455667788ULL) return fail("read back a wrong value");
  if (auto st = reg->unregister("consumer_id"); !st) return fail(st.error().message);
  return 0;
}
