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
  // The values of the present hints with a key of their own, in list order.
  std::array<uint64_t, kNumHints> v{};
  for (int i = 0; i < kNumHints; i++) {
    const HintKind& k = hint_kinds()[i];
    if (!h.has(k.bit) || k.key == XDPKV_KEY_HINT_INFO) continue;
    ret = get_uint(store, k.key, k.size, v[i]);
    if (ret) return ret == -ENOENT ? -EBADMSG : ret;
  }
  if (h.has(XDPKV_HINT_HASH)) {
    h.hash = xdpkv_hint_info_hash(info);
    h.hash_type = xdpkv_hint_info_type(info);
  }
  h.vlan_proto = xdpkv_hint_vlan_proto(static_cast<uint32_t>(v[kVlan]));
  h.vlan_tci = xdpkv_hint_vlan_tci(static_cast<uint32_t>(v[kVlan]));
  h.timestamp = v[kTimestamp];
  out = h;
  return 0;
}

int write(Builder& store, const Hints& h) {
  uint32_t present = h.flags & XDPKV_HINT_PRESENT_MASK;
  uint32_t f = present | (h.flags & XDPKV_HINT_SW_MASK & (present << XDPKV_HINT_SW_SHIFT));
  std::array<uint64_t, kNumHints> v{};
  v[kVlan] = xdpkv_hint_vlan_pack(h.vlan_proto, h.vlan_tci);
  v[kTimestamp] = h.timestamp;
  // Each present hint with a key of its own, then key 60, which says what is there.
  int err = 0;
  for (int i = 0; i < kNumHints; i++) {
    const HintKind& k = hint_kinds()[i];
    if (!(f & k.bit) || k.key == XDPKV_KEY_HINT_INFO) continue;
    int e = k.size == 4 ? store.set_u32(k.key, static_cast<uint32_t>(v[i]))
                        : store.set_u64(k.key, v[i]);
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
  auto src = [&](uint32_t bit) { return h.software(bit) ? "software" : "hardware"; };
  char b[96];
  if (h.has(XDPKV_HINT_HASH)) {
    std::snprintf(b, sizeof(b), "hash 0x%08x (%s, %s)", h.hash, hash_type_name(h.hash_type).c_str(),
                  src(XDPKV_HINT_HASH));
    s += b;
  }
  if (h.has(XDPKV_HINT_VLAN)) {
    std::snprintf(b, sizeof(b), "%svlan 0x%04x vid %u pcp %u (%s)", s.empty() ? "" : ", ",
                  h.proto_host(), h.vlan_tci & 0xfff, h.vlan_tci >> 13, src(XDPKV_HINT_VLAN));
    s += b;
  }
  if (h.has(XDPKV_HINT_TIMESTAMP)) {
    std::snprintf(b, sizeof(b), "%stimestamp %llu (%s)", s.empty() ? "" : ", ",
                  static_cast<unsigned long long>(h.timestamp), src(XDPKV_HINT_TIMESTAMP));
    s += b;
  }
  return s;
}

std::string to_json(const Hints& h) {
  auto src = [&](uint32_t bit) { return h.software(bit) ? "software" : "hardware"; };
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (h.has(XDPKV_HINT_HASH)) {
    j["hash"] = {{"value", hex32(h.hash)},
                 {"type", hash_type_name(h.hash_type)},
                 {"source", src(XDPKV_HINT_HASH)}};
  }
  if (h.has(XDPKV_HINT_VLAN)) {
    char proto[8];
    std::snprintf(proto, sizeof(proto), "0x%04x", h.proto_host());
    j["vlan"] = {{"proto", proto}, {"tci", h.vlan_tci}, {"source", src(XDPKV_HINT_VLAN)}};
  }
  if (h.has(XDPKV_HINT_TIMESTAMP))
    j["timestamp"] = {{"ns", h.timestamp}, {"source", src(XDPKV_HINT_TIMESTAMP)}};
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
#define XDPKV_HINT_KIND_ROW(NAME, name, key, size, kfunc, nl, sw, sws) \
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
