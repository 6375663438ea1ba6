// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Hint values in a store, the software hash, names.
#include <xdpkv/hints.hpp>

#include <arpa/inet.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

namespace xdpkv::hints {

uint16_t Hints::proto_host() const { return ntohs(vlan_proto); }

namespace {

using Json = nlohmann::ordered_json;

int get_uint(const View& v, unsigned key, unsigned size, uint64_t& out) {
  uint8_t b[8] = {};
  int ret = v.get(key, b);
  if (ret < 0) return ret;
  if (static_cast<unsigned>(ret) != size) return -EBADMSG;
  uint64_t x = 0;
  for (int i = ret - 1; i >= 0; i--) x = x << 8 | b[i];
  out = x;
  return 0;
}

std::string hex32(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof(b), "0x%08llx", static_cast<unsigned long long>(v));
  return b;
}

const char* source(const Hints& h, uint32_t bit) {
  return h.software(bit) ? "software" : "hardware";
}

// ---- each kind's printable forms: <name>_text and <name>_json --------------

std::string hash_text(const Hints& h, const char* src) {
  char b[96];
  std::snprintf(b, sizeof(b), "hash 0x%08x (%s, %s)", h.hash, hash_type_name(h.hash_type).c_str(),
                src);
  return b;
}

Json hash_json(const Hints& h, const char* src) {
  return {{"value", hex32(h.hash)}, {"type", hash_type_name(h.hash_type)}, {"source", src}};
}

std::string vlan_text(const Hints& h, const char* src) {
  char b[96];
  std::snprintf(b, sizeof(b), "vlan 0x%04x vid %u pcp %u (%s)", h.proto_host(), h.vlan_tci & 0xfff,
                h.vlan_tci >> 13, src);
  return b;
}

Json vlan_json(const Hints& h, const char* src) {
  char proto[8];
  std::snprintf(proto, sizeof(proto), "0x%04x", h.proto_host());
  return {{"proto", proto}, {"tci", h.vlan_tci}, {"source", src}};
}

std::string timestamp_text(const Hints& h, const char* src) {
  return "timestamp " + std::to_string(h.timestamp) + " (" + src + ")";
}

Json timestamp_json(const Hints& h, const char* src) {
  return {{"ns", h.timestamp}, {"source", src}};
}

// What code handles each kind with, by XDPKV_HI_*: its value in its key
// (<xdpkv/hints.h>) and its printable forms (above), by the name column.
struct KindCodec {
  __u64 (*value)(const xdpkv_hints*);  // __u64: the C functions' own type
  void (*set)(xdpkv_hints*, __u64);
  std::string (*describe)(const Hints&, const char* src);
  Json (*json)(const Hints&, const char* src);
};

const std::array<KindCodec, kNumHints>& kind_codecs() {
#define XDPKV_HINT_CODEC(NAME, name, ...) \
  KindCodec{&xdpkv_hint_##name##_value, &xdpkv_hint_##name##_set, &name##_text, &name##_json},
  static const std::array<KindCodec, kNumHints> kCodecs{XDPKV_HINT_KINDS(XDPKV_HINT_CODEC)};
#undef XDPKV_HINT_CODEC
  return kCodecs;
}

}  // namespace

int read(const View& store, Hints& out) {
  if (int e = store.validate()) return e;
  uint64_t info = 0;
  int ret = get_uint(store, XDPKV_KEY_HINT_INFO, XDPKV_HINT_INFO_SIZE, info);
  if (ret == -ENOENT) return -ENODATA;
  if (ret) return ret;
  Hints h;
  h.flags = xdpkv_hint_info_flags(info);
  if (!(h.flags & XDPKV_HINT_PRESENT_MASK)) return -ENODATA;
  // The value of each present hint: key 60's own, or that of its key, in list order.
  for (int i = 0; i < kNumHints; i++) {
    const HintKind& k = hint_kinds()[i];
    if (!h.has(k.bit)) continue;
    uint64_t v = info;
    const int e = k.key == XDPKV_KEY_HINT_INFO ? 0 : get_uint(store, k.key, k.size, v);
    if (e) return e == -ENOENT ? -EBADMSG : e;
    kind_codecs()[i].set(&h, v);
  }
  out = h;
  return 0;
}

int write(Builder& store, const Hints& h) {
  uint32_t present = h.flags & XDPKV_HINT_PRESENT_MASK;
  uint32_t f = present | (h.flags & XDPKV_HINT_SW_MASK & (present << XDPKV_HINT_SW_SHIFT));
  // Each present hint with a key of its own, then key 60, which says what is there.
  int err = 0;
  for (int i = 0; i < kNumHints; i++) {
    const HintKind& k = hint_kinds()[i];
    if (!(f & k.bit) || k.key == XDPKV_KEY_HINT_INFO) continue;
    const uint64_t v = kind_codecs()[i].value(&h);
    int e = k.size == 4 ? store.set_u32(k.key, static_cast<uint32_t>(v)) : store.set_u64(k.key, v);
    if (e) {
      err = err ? err : e;
      f &= ~(k.bit | k.bit << XDPKV_HINT_SW_SHIFT);
    }
  }
  if (!(f & XDPKV_HINT_PRESENT_MASK)) {
    if (store.view().has(XDPKV_KEY_HINT_INFO) == 1) (void)store.del(XDPKV_KEY_HINT_INFO);
    return err;
  }
  bool hash = f & XDPKV_HINT_HASH;
  if (int e = store.set_u64(XDPKV_KEY_HINT_INFO,
                            xdpkv_hint_info_pack(hash ? h.hash : 0, hash ? h.hash_type : 0, f))) {
    if (store.view().has(XDPKV_KEY_HINT_INFO) == 1) (void)store.del(XDPKV_KEY_HINT_INFO);
    return err ? err : e;
  }
  return err;
}

std::string hash_type_name(uint32_t t) {
  if (!t) return "none";
  std::string s;
  auto add = [&](const char* n) { s += (s.empty() ? "" : " ") + std::string(n); };
  if (t & XDPKV_RSS_L3_IPV4) add("ipv4");
  if (t & XDPKV_RSS_L3_IPV6) add("ipv6");
  if (t & XDPKV_RSS_L3_DYNHDR) add("ext-hdr");
  if (t & XDPKV_RSS_L4_TCP) {
    add("tcp");
  } else if (t & XDPKV_RSS_L4_UDP) {
    add("udp");
  } else if (t & XDPKV_RSS_L4_SCTP) {
    add("sctp");
  } else if (t & XDPKV_RSS_L4_IPSEC) {
    add("ipsec");
  } else if (t & XDPKV_RSS_L4_ICMP) {
    add("icmp");
  } else if (t & XDPKV_RSS_L4) {
    add("l4");
  }
  return s;
}

std::string describe(const Hints& h) {
  if (!(h.flags & XDPKV_HINT_PRESENT_MASK)) return "no hints";
  std::string s;
  for (int i = 0; i < kNumHints; i++) {
    const uint32_t bit = hint_kinds()[i].bit;
    if (h.has(bit)) s += (s.empty() ? "" : ", ") + kind_codecs()[i].describe(h, source(h, bit));
  }
  return s;
}

std::string to_json(const Hints& h) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (int i = 0; i < kNumHints; i++) {
    const HintKind& k = hint_kinds()[i];
    if (h.has(k.bit)) j[k.name] = kind_codecs()[i].json(h, source(h, k.bit));
  }
  return dump_spaced(j);
}

const RssKey& default_rss_key() {
  static const RssKey k = XDPKV_RSS_KEY_DEFAULT_INIT;
  return k;
}

uint32_t toeplitz(std::span<const uint8_t> input, const RssKey& key) {
  size_t n = input.size() > XDPKV_TOEPLITZ_MAX_INPUT ? XDPKV_TOEPLITZ_MAX_INPUT : input.size();
  return xdpkv_toeplitz(key.data(), input.data(), static_cast<uint32_t>(n));
}

uint32_t software_hash(std::span<const uint8_t> saddr, std::span<const uint8_t> daddr,
                       uint16_t sport_be, uint16_t dport_be, bool with_ports, const RssKey& key) {
  std::vector<uint8_t> in(saddr.begin(), saddr.end());
  in.insert(in.end(), daddr.begin(), daddr.end());
  if (with_ports) {
    const auto* s = reinterpret_cast<const uint8_t*>(&sport_be);
    const auto* d = reinterpret_cast<const uint8_t*>(&dport_be);
    in.insert(in.end(), s, s + 2);
    in.insert(in.end(), d, d + 2);
  }
  return toeplitz(in, key);
}

const std::array<HintKind, kNumHints>& hint_kinds() {
#define XDPKV_HINT_KIND_ROW(NAME, name, key, size, kfunc, nl, sw, sws, ...) \
  HintKind{#name, XDPKV_HINT_KFUNC_NAME(kfunc), #kfunc, XDPKV_HINT_##NAME, key, size, nl, sw, sws},
  static constexpr std::array<HintKind, kNumHints> kKinds{XDPKV_HINT_KINDS(XDPKV_HINT_KIND_ROW)};
#undef XDPKV_HINT_KIND_ROW
  return kKinds;
}

const char* hint_name(int i) { return i >= 0 && i < kNumHints ? hint_kinds()[i].name : "?"; }

const char* hint_kfunc(int i) { return i >= 0 && i < kNumHints ? hint_kinds()[i].kfunc : "?"; }

uint32_t hint_bit(int i) { return i >= 0 && i < kNumHints ? hint_kinds()[i].bit : 0; }

const char* support_name(Support s) {
  switch (s) {
    case Support::kYes: return "yes";
    case Support::kNo: return "no";
    default: return "unknown";
  }
}

}  // namespace xdpkv::hints
