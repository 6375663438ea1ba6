// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv::Registry: key ids by name, from the pinned registry map under a
// bpffs directory (default /sys/fs/bpf/xdpkv). Allocation runs in the
// kernel (registry/registry.bpf.c) under the map's bpf_spin_lock, so any
// number of processes may register at once. Layout: <xdpkv/registry.h>,
// protocol and permissions: docs/REGISTRY.md.
//
//   auto reg = xdpkv::Registry::open({.create = true});
//   if (!reg) die(reg.error().message);
//   auto id = reg->register_key("packet_id", 8, xdpkv::KeyScope::packet);  // same id everywhere
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <xdpkv/registry.h>
#include <xdpkv/result.hpp>

struct bpf_object;

namespace xdpkv {

// How a key's value behaves under GRO (XDPKV_SCOPE_* of <xdpkv/registry.h>;
// docs/PERFORMANCE.md, "GRO scope of a key"). A registrant that gives unset
// makes no claim: it matches a key of either scope, and an unset key takes
// a registrant of either scope without changing.
enum class KeyScope : uint8_t {
  unset = XDPKV_SCOPE_UNSET,    // not recorded: an older registrant, or none given
  flow = XDPKV_SCOPE_FLOW,      // the same value on every packet of a flow: GRO merges
  packet = XDPKV_SCOPE_PACKET,  // differs from packet to packet: every change stops GRO
};

// "unset", "flow", "packet"; "scope N" for a value outside the enum.
std::string scope_name(KeyScope s);
// The scope named s ("flow", "packet" or "unset"); EINVAL naming s and the names allowed.
Result<KeyScope> parse_scope(std::string_view s);

// One registered key.
struct RegistryEntry {
  int id = -1;
  std::string name;
  uint32_t size = 0;           // 2, 4 or 8
  uint32_t owner_uid = 0;      // uid of the registrant
  std::string owner;           // its comm
  uint64_t registered_ns = 0;  // CLOCK_REALTIME, ns
  uint32_t generation = 0;     // times this id was handed to a name (1: first holder)
  KeyScope scope = KeyScope::unset;
  bool operator==(const RegistryEntry&) const = default;
};

// A fixed assignment, as `xdpkv key export` writes it.
struct KeyAssignment {
  std::string name;
  int id = -1;
  uint32_t size = 0;
  KeyScope scope = KeyScope::unset;
  bool operator==(const KeyAssignment&) const = default;
};

struct RegistryOptions {
  // bpffs directory; empty: $XDPKV_BPFFS, else /sys/fs/bpf/xdpkv.
  std::string dir;
  // Create the directory and the registry when missing (and mount bpffs on
  // /sys/fs/bpf when it is not mounted and dir lies below it).
  bool create = false;
  // Open the pinned map with BPF_F_RDONLY and load no programs: list and
  // lookup work with read permission on DIR/registry alone.
  bool readonly = false;
  // Where notices go (e.g. "mounted bpffs on /sys/fs/bpf"); default: stderr.
  std::function<void(const std::string&)> notice;
};

// The directory a RegistryOptions resolves to (option > $XDPKV_BPFFS > default).
std::string resolve_registry_dir(const std::string& dir);

// The host's origin mark (docs/FORMAT.md "Reserved keys", key 59) of the
// directory opts names: the nonzero value every xdpkv writer stores under
// XDPKV_KEY_ORIGIN, and that readers which apply a store to an skb or report
// its id (hint restore, the tracer) require. DIR/origin, a frozen map made
// with a random value by the first caller that may create (opts.create, not
// readonly); later callers read it. Errors name the path: ENOENT when it is
// missing and may not be created, EBADMSG when the pin is not an origin map.
Result<uint32_t> host_origin(const RegistryOptions& opts);

// "ids 59-63 are reserved: 59 for the origin mark, 60-63 for hints": how
// every message and listing names the ids the registry never hands out.
std::string reserved_ids();

// 0 if name is [a-z0-9_.-]{1,31}, else an EINVAL error that says why.
Status validate_key_name(std::string_view name);

// Outside text as messages and listings show it: bytes other than printable
// ASCII as \xNN (an ESC never reaches a terminal raw), cut after max bytes
// with "...(N bytes)" (a 30 MB name is not echoed whole).
std::string printable(std::string_view s, size_t max = 64);
// s in single quotes, escaped as printable() does (and ' too), cut after 64
// bytes: how every message names a key.
std::string quote_name(std::string_view s);
// A registration time: "2026-01-02 03:04:05 UTC" (iso: "2026-01-02T03:04:05Z"); "-" for 0.
std::string format_registered(uint64_t ns, bool iso);

class Registry {
 public:
  static Result<Registry> open(const RegistryOptions& opts = {});

  Registry(Registry&&) noexcept;
  Registry& operator=(Registry&&) noexcept;
  ~Registry();

  // register(name, size, scope) -> id. Idempotent for the same name and size
  // and a compatible scope (the same, or either unset; an unset key stays
  // unset). EEXIST: registered with another size or scope; ENOSPC: all 60
  // assignable ids taken; EINVAL: bad name, size or scope (the scope is
  // checked by the kernel program). Needs a writable registry (not readonly).
  // *created (if given): whether this call made the entry, decided under the
  // registry's lock (of concurrent registrants of one name, exactly one).
  Result<int> register_key(std::string_view name, uint32_t size, KeyScope scope = KeyScope::unset,
                           bool* created = nullptr);
  // register at a fixed id (import). EBUSY: the id holds another name; EEXIST:
  // the name is registered at another id or with another size or scope;
  // EINVAL: id reserved.
  Result<int> register_at(std::string_view name, uint32_t size, int id,
                          KeyScope scope = KeyScope::unset, bool* created = nullptr);
  // ENOENT if the name is not registered.
  Status unregister(std::string_view name);
  // Registers every key at its id in one run of the allocation program, all
  // or nothing, if the registry's generation is still `generation` (the one
  // the caller checked keys against): EAGAIN if it moved (nothing written),
  // EBUSY if an id is taken, EINVAL for a bad or reserved id, a bad name or
  // size or scope, or an id given twice. import_assignments() is the checked
  // front end.
  Status assign_all(std::span<const KeyAssignment> keys, uint64_t generation);

  // Reads (a consistent copy of the map value, taken with BPF_F_LOCK).
  Result<RegistryEntry> lookup(std::string_view name) const;
  Result<RegistryEntry> lookup(int id) const;
  Result<std::vector<RegistryEntry>> list() const;  // by id
  // The raw value (for tools and tests).
  Result<xdpkv_registry> read_raw() const;

  const std::string& dir() const;
  std::string path() const;  // dir/registry
  int map_fd() const;        // the pinned map (owned by the Registry)
  bool readonly() const;
  // True if this open created the registry (the pinned map did not exist).
  bool created() const;

  // Verifier statistics of the allocation programs (0 when readonly).
  struct ProgStats {
    std::string name;
    uint32_t verified_insns = 0;
    uint32_t xlated_bytes = 0;
  };
  std::vector<ProgStats> prog_stats() const;

 private:
  struct Impl;
  explicit Registry(std::unique_ptr<Impl> impl);
  Result<int> do_register(std::string_view name, uint32_t size, int id, KeyScope scope,
                          bool* created);
  std::unique_ptr<Impl> impl_;
};

// ---- Loader helpers: key ids into a BPF program before it is loaded -------------

// A key a BPF program uses, and where its id goes: a field of the program's
// read-only config (skeleton->rodata->key_x), written before load.
struct KeyBinding {
  std::string_view name;
  uint32_t size = 0;
  uint32_t* slot = nullptr;
  KeyScope scope = KeyScope::unset;  // how the program writes it (GRO), if it says
};

// Registers each key (or finds it: register is idempotent) and writes its id
// into its slot. With register_missing = false, keys must already exist
// (lookup only; a readonly Registry is enough) with the size and a
// compatible scope. Stops at the first error,
// whose message names the key.
Status resolve_keys(Registry& reg, std::span<const KeyBinding> keys, bool register_missing = true);

// Points a program's `xdpkv_registry` map (XDPKV_STRICT, or any program that
// declares XDPKV_REGISTRY_MAP_DEF) at the pinned registry with
// bpf_map__reuse_fd. Call after open, before load. ENOENT if the object has
// no such map.
Status bind_registry(const Registry& reg, bpf_object* obj);

// ---- Export / import ---------------------------------------------------------------

// {"xdpkv_registry": 1, "keys": [{"name": "packet_id", "id": 0, "size": 8, "scope": "packet"},
// ...]}: "scope" only for a key whose scope is set.
std::string export_json(std::span<const RegistryEntry> entries);
// Parses export_json's format (whitespace and key order are free; unknown
// fields are ignored; a member given twice in one object, a bad escape or
// invalid UTF-8 is an error; no "scope": unset). EINVAL with the position on
// a syntax error.
Result<std::vector<KeyAssignment>> parse_export(std::string_view json);

// One entry as `key show --json` prints it (one line, no newline).
std::string entry_json(const RegistryEntry& e);
// The listing as `key ls --json` prints it (one line, no newline).
std::string listing_json(const std::string& pin, bool exists,
                         std::span<const RegistryEntry> entries);

struct ImportResult {
  int added = 0;                       // registered by this import
  int unchanged = 0;                   // already registered with the same id and size
                                       // (and a compatible scope: unset ones stay unset)
  std::vector<std::string> conflicts;  // why each refused assignment cannot be applied
};
// Applies fixed assignments. Checks every assignment against the registry
// first; if any conflicts (same name at another id, size or scope, id held by
// another name, reserved id, duplicate in the file), applies nothing and returns them
// in ImportResult::conflicts, one sentence each. An error means the registry
// could not be read or written. The assignments are applied in one run of the
// allocation program under the registry's lock (assign_all): a concurrent
// registrant makes the import re-check and retry, never stop half-way.
Result<ImportResult> import_assignments(Registry& reg, std::span<const KeyAssignment> keys);

}  // namespace xdpkv
