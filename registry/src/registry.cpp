// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv::Registry: opening (and creating) the pinned registry map, and the
// allocation programs run through BPF_PROG_TEST_RUN.
#include <xdpkv/registry.hpp>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/stat.h>

#include <xdpkv/bpf_util.hpp>
#include <xdpkv/fs.hpp>

#include "internal.hpp"
#include "xdpkv_reg.skel.h"

namespace xdpkv {

static_assert(sizeof(xdpkv_reg_entry) == 64, "ABI: xdpkv_reg_entry is 64 bytes");
static_assert(sizeof(xdpkv_registry) == 40 + 64 * 64 + 4 * 64, "ABI: xdpkv_registry is 4392 bytes");
static_assert(offsetof(xdpkv_registry, key_gen) == XDPKV_REGISTRY_V1_SIZE, "ABI: v1 prefix");
static_assert(offsetof(xdpkv_reg_entry, scope) == 63, "ABI: the scope is the comm's NUL byte");
static_assert(sizeof(xdpkv_reg_batch) == 16 + 48 * 64, "xdpkv_reg_batch is 3088 bytes");
static_assert(offsetof(xdpkv_registry, keys) == 40, "ABI");
static_assert(offsetof(xdpkv_registry, used) == 16, "ABI");
static_assert(sizeof(xdpkv_reg_req) == 120, "ABI: xdpkv_reg_req is 120 bytes");
static_assert(offsetof(xdpkv_reg_req, name) == 48, "ABI");

namespace {

using bpf::UniqueFd;

std::string cstr(const char* s, size_t n) { return std::string(s, strnlen(s, n)); }

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

std::string reserved_ids() {
  return "ids " + std::to_string(XDPKV_RESERVED_FIRST) + "-" + std::to_string(XDPKV_MAX_KEY) +
         " are reserved: " + std::to_string(XDPKV_KEY_ORIGIN) + " for the origin mark, " +
         std::to_string(XDPKV_KEY_HINT_FIRST) + "-" + std::to_string(XDPKV_KEY_HINT_LAST) +
         " for hints";
}

namespace {

RegistryEntry entry_of(const xdpkv_registry& r, int id) {
  const xdpkv_reg_entry& e = r.keys[id];
  RegistryEntry out;
  out.id = id;
  out.name = cstr(e.name, sizeof(e.name));
  out.size = e.size;
  out.owner_uid = e.owner_uid;
  out.owner = cstr(e.owner, sizeof(e.owner));
  out.registered_ns = e.registered_ns;
  out.generation = r.key_gen[id];
  out.scope = static_cast<KeyScope>(e.scope);
  return out;
}

// ---- Messages: each is built here only -------------------------------------------

Error err_readonly(const std::string& path) {
  return make_error(EPERM, "the registry at " + path + " is open read-only");
}
Error err_no_key(std::string_view name, const std::string& dir) {
  return make_error(ENOENT, "no key named " + quote_name(name) + " in the registry at " + dir);
}
Error err_locked(int ret, const std::string& path) {
  if (ret == -EBADMSG) {
    return make_error(EBADMSG, path +
                                   " was changed outside xdpkv while open (its reserved ids or "
                                   "free-id cursor are corrupt); nothing written");
  }
  return make_error(EPROTO, path + " changed magic or version while open");
}
Error err_id_range(long long id) {
  return make_error(EINVAL, "key id " + std::to_string(id) + " is out of range 0-63");
}
Error err_reserved(long long id) {
  return make_error(EINVAL,
                    "key id " + std::to_string(id) + " is never assigned: " + reserved_ids());
}
Error err_version(const std::string& path, uint32_t version) {
  return make_error(EPROTO, path + " is an xdpkv registry of version " + std::to_string(version) +
                                "; this xdpkv reads version " +
                                std::to_string(XDPKV_REGISTRY_VERSION) + " only; left untouched" +
                                (version < XDPKV_REGISTRY_VERSION
                                     ? " (migrate: 'xdpkv key export' with the xdpkv that made it, "
                                       "remove the pin, 'xdpkv key import')"
                                     : ""));
}

// What kind of BPF object an fd is ("map", "prog", "link", ...), from its anon inode name.
std::string bpf_fd_kind(int fd) {
  char link[64], target[128];
  std::snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(link, target, sizeof(target) - 1);
  if (n <= 0) return "unknown";
  target[n] = 0;
  std::string t = target;  // anon_inode:bpf-map
  const std::string prefix = "anon_inode:bpf-";
  return t.rfind(prefix, 0) == 0 ? t.substr(prefix.size()) : t;
}

std::string map_type_name(uint32_t t) {
  const char* n = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(t));
  return n ? n : "type " + std::to_string(t);
}

// Checks that fd is our registry map; never writes to it.
Status check_map(int fd, const std::string& path) {
  const std::string kind = bpf_fd_kind(fd);
  if (kind != "map") {
    return make_error(EINVAL, path + " is not an xdpkv registry: it is a pinned BPF " + kind +
                                  ", not a map; left untouched");
  }
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len))
    return bpf::errno_error(errno, "cannot read the map info of " + path);
  std::string diff;
  auto field = [&](const std::string& what, const std::string& got, const std::string& want) {
    diff += (diff.empty() ? "" : ", ") + what + " " + got + ", expected " + want;
  };
  if (info.type != BPF_MAP_TYPE_ARRAY) field("type", map_type_name(info.type), "array");
  if (info.key_size != 4) field("key size", std::to_string(info.key_size), "4");
  if (info.value_size != sizeof(xdpkv_registry))
    field("value size", std::to_string(info.value_size), std::to_string(sizeof(xdpkv_registry)));
  if (info.max_entries != 1) field("max entries", std::to_string(info.max_entries), "1");
  if (diff.empty()) {
    // Same shape: the value type must be ours (a map with a spin lock has
    // BTF). Reading BTF by id needs CAP_SYS_ADMIN: an unprivileged reader
    // skips the name check and relies on shape, magic and version.
    if (!info.btf_id || !info.btf_value_type_id) {
      field("value type", "without BTF", "'struct xdpkv_registry'");
    } else if (btf* b = btf__load_from_kernel_by_id(info.btf_id)) {
      const btf_type* t = btf__type_by_id(b, info.btf_value_type_id);
      std::string vname = t ? btf__name_by_offset(b, t->name_off) : "";
      btf__free(b);
      if (vname != "xdpkv_registry")
        field("value type", "'struct " + vname + "'", "'struct xdpkv_registry'");
    }
  }
  if (info.type == BPF_MAP_TYPE_ARRAY && info.key_size == 4 && info.max_entries == 1 &&
      info.value_size == XDPKV_REGISTRY_V1_SIZE) {
    // The shape of version 1 (no key_gen[]): name its version if it is one.
    std::vector<uint8_t> v(info.value_size);
    uint32_t key = 0;
    uint32_t magic = 0, version = 0;
    if (bpf_map_lookup_elem_flags(fd, &key, v.data(), BPF_F_LOCK) == 0 ||
        bpf_map_lookup_elem(fd, &key, v.data()) == 0) {
      std::memcpy(&magic, v.data() + offsetof(xdpkv_registry, magic), 4);
      std::memcpy(&version, v.data() + offsetof(xdpkv_registry, version), 4);
      if (magic == XDPKV_REGISTRY_MAGIC) return err_version(path, version);
    }
  }
  if (!diff.empty()) {
    return make_error(EINVAL, path + " is not an xdpkv registry: " + diff + " (map '" + info.name +
                                  "', id " + std::to_string(info.id) + "); left untouched");
  }
  return {};
}

Result<xdpkv_registry> read_value(int fd, const std::string& path) {
  xdpkv_registry r{};
  uint32_t key = 0;
  if (bpf_map_lookup_elem_flags(fd, &key, &r, BPF_F_LOCK))
    return bpf::errno_error(errno, "cannot read " + path);
  return r;
}

// What is wrong with keys[id] of r (a used entry has a valid name, size and
// scope and no name twice; a free one is all zero), or empty.
std::string entry_fault(const xdpkv_registry& r, int id) {
  static const xdpkv_reg_entry empty{};
  const xdpkv_reg_entry& e = r.keys[id];
  const std::string at = "key id " + std::to_string(id);
  if (!((r.used >> id) & 1))
    return std::memcmp(&e, &empty, sizeof(e)) ? at + " is free but its entry is not empty" : "";
  const std::string name = cstr(e.name, sizeof(e.name));
  if (auto s = validate_key_name(name); !s) return at + ": " + s.error().message;
  for (size_t i = name.size(); i < sizeof(e.name); i++)
    if (e.name[i]) return at + ": bytes after the name's NUL are not zero";
  const std::string key = at + " " + quote_name(name);
  if (!xdpkv_value_size_ok(e.size))
    return key + ": size " + std::to_string(e.size) + " is not " XDPKV_VALUE_SIZES;
  if (e.scope > XDPKV_SCOPE_MAX) {
    return key + ": scope " + std::to_string(e.scope) + " is not 0-" +
           std::to_string(XDPKV_SCOPE_MAX);
  }
  if (r.key_gen[id] == 0) return key + " is used at generation 0";
  for (int j = 0; j < id; j++) {
    if (((r.used >> j) & 1) && std::memcmp(r.keys[j].name, e.name, sizeof(e.name)) == 0) {
      return quote_name(name) + " is registered twice (ids " + std::to_string(j) + " and " +
             std::to_string(id) + ")";
    }
  }
  return {};
}

// The whole value, as the allocation programs keep it: magic, version,
// reserved ids, the free-id cursor, and every entry (entry_fault). `fresh`: all zero
// (not yet initialised). Never writes.
Status check_value(const xdpkv_registry& r, const std::string& path, bool* fresh) {
  static const xdpkv_registry zero{};
  *fresh = std::memcmp(&r, &zero, sizeof(r)) == 0;
  if (*fresh) return {};
  if (r.magic != XDPKV_REGISTRY_MAGIC) {
    char b[160];
    std::snprintf(b, sizeof(b), ": magic 0x%08x, expected 0x%08x; left untouched", r.magic,
                  XDPKV_REGISTRY_MAGIC);
    return make_error(EBADMSG, path + " is not an xdpkv registry" + b);
  }
  if (r.version != XDPKV_REGISTRY_VERSION) return err_version(path, r.version);
  auto corrupt = [&](const std::string& what) {
    return make_error(EBADMSG, path + " is corrupt: " + what +
                                   "; left untouched (was the pin writable? docs/REGISTRY.md §8)");
  };
  char b[96];
  // Registries made before id 59 was reserved hold the older mask; init upgrades them.
  const bool pre_origin = r.reserved == XDPKV_RESERVED_MASK_PRE_ORIGIN;
  if (pre_origin && ((r.used >> XDPKV_KEY_ORIGIN) & 1)) {
    return make_error(EBUSY, path + " gives id " + std::to_string(XDPKV_KEY_ORIGIN) + " to " +
                                 quote_name(cstr(r.keys[XDPKV_KEY_ORIGIN].name, XDPKV_NAME_MAX)) +
                                 ", which this xdpkv reserves for the origin mark; left "
                                 "untouched (unregister it with an older xdpkv first)");
  }
  if (!pre_origin && r.reserved != XDPKV_RESERVED_MASK) {
    std::snprintf(b, sizeof(b), "reserved ids 0x%016llx, expected 0x%016llx",
                  static_cast<unsigned long long>(r.reserved),
                  static_cast<unsigned long long>(XDPKV_RESERVED_MASK));
    return corrupt(b);
  }
  if (r.used & XDPKV_RESERVED_MASK) {
    std::snprintf(b, sizeof(b), "used bits 0x%016llx include reserved ids",
                  static_cast<unsigned long long>(r.used));
    return corrupt(b);
  }
  if (r.next > XDPKV_MAX_KEY)
    return corrupt("free-id cursor " + std::to_string(r.next) + " is not 0-63");
  for (int id = 0; id < XDPKV_NKEYS; id++)
    if (std::string w = entry_fault(r, id); !w.empty()) return corrupt(w);
  return {};
}

Status req_name(xdpkv_reg_req& req, std::string_view name) {
  if (auto s = validate_key_name(name); !s) return s;
  std::memcpy(req.name, name.data(), name.size());
  return {};
}

}  // namespace

std::string resolve_registry_dir(const std::string& dir) {
  if (!dir.empty()) return detail::normalize_dir(dir);
  const char* env = std::getenv("XDPKV_BPFFS");
  if (env && *env) return detail::normalize_dir(env);
  return XDPKV_REGISTRY_DIR;
}

namespace {

// The directory made ready (created where asked) and the pin path checked:
// a pin that is a link, another user's or a directory is refused before
// anything opens it.
Status prepare_pin(const std::string& dir, const std::string& path, bool create,
                   const detail::Notice& notice) {
  if (auto s = detail::prepare_dir(dir, create, notice); !s) return s;
  // bpf_obj_get follows symbolic links; prepare_dir made sure no other user
  // can swap the pin after this check.
  if (auto s = fs::check_pin(path, "registry pin"); !s) return s;

  struct stat pst;
  if (::stat(path.c_str(), &pst) == 0 && S_ISDIR(pst.st_mode)) {
    return make_error(EISDIR, path +
                                  " is a directory, not a pinned registry map; left untouched "
                                  "(remove it, or use another --bpffs directory)");
  }
  return {};
}

// Why the pin at path (in dir) could not be opened: err from bpf_obj_get, not
// a missing pin that is to be created.
Error pin_open_error(int err, const std::string& path, const std::string& dir, bool readonly) {
  if (err == ENOENT) {
    return make_error(
        ENOENT, "no registry at " + path + " (nothing registered yet; 'xdpkv key add' creates it)");
  }
  if (err == EACCES || err == EPERM) {
    const std::string what =
        std::string("cannot open ") + path + (readonly ? " for reading" : " for writing");
    if (std::string d = detail::unsearchable_dir(path); !d.empty())
      return bpf::errno_error(err, what + ": " + d);
    return bpf::errno_error(err, what +
                                     " (registering needs root or CAP_BPF; read access is "
                                     "granted by the file mode of the pin, see docs/REGISTRY.md)");
  }
  if (err == EINVAL) {
    return make_error(EINVAL,
                      path + " is not a pinned BPF object (is " + dir + " on a bpf filesystem?)");
  }
  return bpf::errno_error(err, "cannot open " + path);
}

// What one attempt at opening the pin came to (Registry::open tries a few times).
enum class Attempt { done, retry };

}  // namespace

struct Registry::Impl {
  std::string dir;
  UniqueFd map;
  bpf::Skeleton<xdpkv_reg> skel{nullptr, xdpkv_reg__destroy};
  bool readonly = false;
  bool created = false;
  std::mutex batch_lock;  // the skeleton's one batch map: one import at a time

  std::string path() const { return dir + "/" XDPKV_REGISTRY_PIN; }

  // Runs one allocation program with req as its (in/out) context.
  Status run(bpf_program* prog, xdpkv_reg_req& req) const {
    LIBBPF_OPTS(bpf_test_run_opts, o);
    o.ctx_in = &req;
    o.ctx_size_in = sizeof(req);
    if (bpf_prog_test_run_opts(bpf_program__fd(prog), &o)) {
      return bpf::errno_error(errno,
                              std::string("BPF_PROG_TEST_RUN of ") + bpf_program__name(prog));
    }
    if (static_cast<int32_t>(o.retval) != req.ret) {
      return make_error(EPROTO, std::string(bpf_program__name(prog)) + " returned " +
                                    std::to_string(static_cast<int32_t>(o.retval)) +
                                    " but wrote ret " + std::to_string(req.ret));
    }
    return {};
  }

  // Opens and loads the allocation programs; map_fd < 0: libbpf creates the map.
  Status load_programs(int map_fd) {
    auto s = bpf::open_skeleton(xdpkv_reg__open, xdpkv_reg__destroy, "xdpkv_reg");
    if (!s) return s.error();
    if (map_fd >= 0) {
      if (int err = bpf_map__reuse_fd((*s)->maps.xdpkv_registry, map_fd))
        return bpf::errno_error(err, "cannot reuse the map of " + path());
    }
    if (auto l = bpf::load_skeleton(*s, xdpkv_reg__load, "xdpkv_reg"); !l) {
      Error e = l.error();
      if (e.code == EPERM || e.code == EACCES) {
        e.message = "registering keys needs root or CAP_BPF (reading needs only read access to " +
                    path() + "; see docs/REGISTRY.md): " + e.message;
      }
      return e;
    }
    skel = std::move(*s);
    return {};
  }

  Status init() {
    xdpkv_reg_req req{};
    req.op = XDPKV_REG_OP_INIT;
    if (auto s = run(skel->progs.xdpkv_reg_init, req); !s) return s;
    if (req.ret == -EBADMSG)
      return make_error(EBADMSG, path() + " is not an xdpkv registry (bad magic); left untouched");
    if (req.ret == -EPROTO) return err_version(path(), req.owner_uid);
    if (req.ret) return bpf::errno_error(req.ret, "cannot initialise " + path());
    return {};
  }

  // Create: libbpf makes the map (with BTF: the value holds a spin lock),
  // init runs on it, and only then is it pinned, so no reader ever sees an
  // uninitialised registry. Losing the race to pin (EEXIST) discards ours:
  // retry opens the winner's.
  Result<Attempt> create_and_pin() {
    if (auto s = load_programs(-1); !s) return s.error();
    if (auto s = init(); !s) return s.error();
    int mfd = bpf_map__fd(skel->maps.xdpkv_registry);
    if (bpf_obj_pin(mfd, path().c_str()) == 0) {
      map = UniqueFd(::dup(mfd));
      created = true;
      return Attempt::done;
    }
    const int err = errno;
    skel.reset();
    if (err == EEXIST) return Attempt::retry;
    return bpf::errno_error(err, "cannot pin the registry at " + path());
  }

  // Takes fd, the pinned map, and checks it; a writer loads the programs on
  // it and initialises it. retry: a reader found it uninitialised (never on
  // the last attempt).
  Result<Attempt> adopt(int fd, bool last) {
    const std::string p = path();
    map = UniqueFd(fd);
    if (auto s = check_map(fd, p); !s) return s.error();
    auto v = read_value(fd, p);
    if (!v) return v.error();
    bool fresh = false;
    if (auto s = check_value(*v, p, &fresh); !s) return s.error();
    if (readonly) {
      if (fresh) {
        // Not ours to initialise; a creator pins only initialised maps, so
        // this is a registry someone created by hand. Wait briefly, then give up.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!last) return Attempt::retry;
        return make_error(EAGAIN, p + " is not initialised; open it once for writing "
                                      "('xdpkv key ls' as root) to initialise it");
      }
      return Attempt::done;
    }
    if (auto s = load_programs(fd); !s) return s.error();
    if (auto s = init(); !s) return s.error();
    return Attempt::done;
  }
};

Registry::Registry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;
Registry::~Registry() = default;

Result<Registry> Registry::open(const RegistryOptions& opts) {
  bpf::init_libbpf();
  auto impl = std::make_unique<Impl>();
  impl->dir = resolve_registry_dir(opts.dir);
  impl->readonly = opts.readonly;
  const bool create = opts.create && !opts.readonly;
  detail::Notice notice = opts.notice ? opts.notice : [](const std::string& m) {
    std::fprintf(stderr, "xdpkv: %s\n", m.c_str());
  };
  const std::string path = impl->path();
  if (auto s = prepare_pin(impl->dir, path, create, notice); !s) return s.error();

  constexpr int kAttempts = 5;
  for (int attempt = 0; attempt < kAttempts; attempt++) {
    LIBBPF_OPTS(bpf_obj_get_opts, go);
    go.file_flags = opts.readonly ? BPF_F_RDONLY : 0;
    const int fd = bpf_obj_get_opts(path.c_str(), &go);
    const int err = fd < 0 ? errno : 0;
    if (fd < 0 && !(err == ENOENT && create))
      return pin_open_error(err, path, impl->dir, opts.readonly);
    auto a = fd < 0 ? impl->create_and_pin() : impl->adopt(fd, attempt == kAttempts - 1);
    if (!a) return a.error();
    if (*a == Attempt::done) return Registry(std::move(impl));
  }
  return make_error(EAGAIN,
                    "could not open or create " + path + " (concurrent creators kept racing)");
}

const std::string& Registry::dir() const { return impl_->dir; }
std::string Registry::path() const { return impl_->path(); }
int Registry::map_fd() const { return impl_->map.get(); }
bool Registry::readonly() const { return impl_->readonly; }
bool Registry::created() const { return impl_->created; }

std::vector<Registry::ProgStats> Registry::prog_stats() const {
  std::vector<ProgStats> out;
  if (!impl_->skel) return out;
  for (bpf_program* p :
       {impl_->skel->progs.xdpkv_reg_init, impl_->skel->progs.xdpkv_reg_register,
        impl_->skel->progs.xdpkv_reg_unregister, impl_->skel->progs.xdpkv_reg_import}) {
    int fd = bpf_program__fd(p);
    out.push_back({bpf_program__name(p), bpf::verified_insns(fd), bpf::prog_size(fd).xlated});
  }
  return out;
}

Result<int> Registry::register_key(std::string_view name, uint32_t size, KeyScope scope,
                                   bool* created) {
  return do_register(name, size, -1, scope, created);
}

Result<int> Registry::register_at(std::string_view name, uint32_t size, int id, KeyScope scope,
                                  bool* created) {
  if (id < 0 || id > XDPKV_MAX_KEY) return err_id_range(id);
  if (id >= XDPKV_RESERVED_FIRST) return err_reserved(id);
  return do_register(name, size, id, scope, created);
}

static Error size_error(uint32_t size, std::string_view name) {
  return make_error(EINVAL, "size " + std::to_string(size) + " for " + quote_name(name) +
                                ": values are " XDPKV_VALUE_SIZES " bytes");
}

// The kernel program checks the scope (-EINVAL): it is passed as given.
Result<int> Registry::do_register(std::string_view name, uint32_t size, int id, KeyScope scope,
                                  bool* created) {
  if (created) *created = false;
  if (impl_->readonly || !impl_->skel) return err_readonly(path());
  xdpkv_reg_req req{};
  req.op = XDPKV_REG_OP_REGISTER;
  if (auto s = req_name(req, name); !s) return s.error();
  if (!xdpkv_value_size_ok(size)) return size_error(size, name);
  req.size = size;
  req.id = id;
  req.scope = static_cast<uint32_t>(scope);
  req.now_ns = realtime_ns();
  if (auto s = impl_->run(impl_->skel->progs.xdpkv_reg_register, req); !s) return s.error();
  const std::string n = quote_name(name);
  switch (req.ret) {
    case 0:
      if (created) *created = req.created != 0;
      return req.id;
    case -EEXIST:
      if (req.size != size) {
        return make_error(EEXIST, n + " is registered with size " + std::to_string(req.size) +
                                      " (id " + std::to_string(req.id) + "), not " +
                                      std::to_string(size));
      }
      if (!xdpkv_scope_compatible(req.scope, static_cast<uint32_t>(scope)))
        return detail::scope_conflict(name, req.id, static_cast<KeyScope>(req.scope), scope);
      return make_error(EEXIST, n + " is registered at id " + std::to_string(req.id) + ", not " +
                                    std::to_string(id));
    case -EBUSY:
      return make_error(EBUSY, "key id " + std::to_string(id) + " is held by " +
                                   quote_name(cstr(req.holder, sizeof(req.holder))) +
                                   ", cannot give it to " + n);
    case -ENOSPC:
      return make_error(ENOSPC, "all " + std::to_string(XDPKV_ASSIGNABLE) +
                                    " assignable key ids are taken (" + reserved_ids() +
                                    "): cannot register " + n);
    case -EINVAL:
      return make_error(EINVAL, "the registry refused " + n + " (size " + std::to_string(size) +
                                    ", " + scope_name(scope) +
                                    (id >= 0 ? ", id " + std::to_string(id) : std::string()) +
                                    "): invalid name, size, scope or reserved id");
    case -EPROTO:
    case -EBADMSG: return err_locked(req.ret, path());
    default: return bpf::errno_error(req.ret, "cannot register " + n);
  }
}

Status Registry::unregister(std::string_view name) {
  if (impl_->readonly || !impl_->skel) return err_readonly(path());
  xdpkv_reg_req req{};
  req.op = XDPKV_REG_OP_UNREGISTER;
  if (auto s = req_name(req, name); !s) return s;
  if (auto s = impl_->run(impl_->skel->progs.xdpkv_reg_unregister, req); !s) return s;
  if (req.ret == -ENOENT) return err_no_key(name, impl_->dir);
  if (req.ret == -EPROTO || req.ret == -EBADMSG) return err_locked(req.ret, path());
  if (req.ret) return bpf::errno_error(req.ret, "cannot unregister " + quote_name(name));
  return {};
}

Status Registry::assign_all(std::span<const KeyAssignment> keys, uint64_t generation) {
  if (impl_->readonly || !impl_->skel) return err_readonly(path());
  if (keys.size() > XDPKV_NKEYS) {
    return make_error(EINVAL, "an import assigns at most " + std::to_string(XDPKV_ASSIGNABLE) +
                                  " keys, not " + std::to_string(keys.size()));
  }
  auto batch = std::make_unique<xdpkv_reg_batch>();
  *batch = {};
  batch->n = static_cast<uint32_t>(keys.size());
  batch->generation = generation;
  for (size_t i = 0; i < keys.size(); i++) {
    const KeyAssignment& k = keys[i];
    if (auto s = validate_key_name(k.name); !s) return s;
    if (!xdpkv_value_size_ok(k.size)) return size_error(k.size, k.name);
    if (k.id < 0 || k.id > XDPKV_MAX_KEY) return err_id_range(k.id);
    if (k.id >= XDPKV_RESERVED_FIRST) return err_reserved(k.id);
    std::memcpy(batch->items[i].name, k.name.data(), k.name.size());
    batch->items[i].size = k.size;
    batch->items[i].id = k.id;
    batch->items[i].scope = static_cast<uint32_t>(k.scope);  // checked by the kernel program
  }
  std::lock_guard<std::mutex> g(impl_->batch_lock);
  uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.xdpkv_reg_batch), &zero, batch.get(), 0))
    return bpf::errno_error(errno, "cannot write the import batch");
  xdpkv_reg_req req{};
  req.op = XDPKV_REG_OP_IMPORT;
  req.now_ns = realtime_ns();
  if (auto s = impl_->run(impl_->skel->progs.xdpkv_reg_import, req); !s) return s;
  switch (req.ret) {
    case 0: return {};
    case -EAGAIN:
      return make_error(EAGAIN, path() + " changed since the import was checked; nothing written");
    case -EBUSY:
      return make_error(EBUSY, "an id of the import is taken in " + path() + "; nothing written");
    case -EINVAL:
      return make_error(EINVAL, "the registry refused the import (item " + std::to_string(req.id) +
                                    ": bad name, size, scope or id, or an id given twice); nothing "
                                    "written");
    case -EPROTO:
    case -EBADMSG: return err_locked(req.ret, path());
    default: return bpf::errno_error(req.ret, "cannot import into " + path());
  }
}

Result<xdpkv_registry> Registry::read_raw() const { return read_value(impl_->map.get(), path()); }

Result<std::vector<RegistryEntry>> Registry::list() const {
  auto v = read_raw();
  if (!v) return v.error();
  std::vector<RegistryEntry> out;
  for (int id = 0; id < XDPKV_NKEYS; id++)
    if ((v->used >> id) & 1) out.push_back(entry_of(*v, id));
  return out;
}

Result<RegistryEntry> Registry::lookup(std::string_view name) const {
  if (auto s = validate_key_name(name); !s) return s.error();
  auto v = read_raw();
  if (!v) return v.error();
  for (int id = 0; id < XDPKV_NKEYS; id++) {
    if (((v->used >> id) & 1) && cstr(v->keys[id].name, XDPKV_NAME_MAX) == name)
      return entry_of(*v, id);
  }
  return err_no_key(name, impl_->dir);
}

Result<RegistryEntry> Registry::lookup(int id) const {
  if (id < 0 || id > XDPKV_MAX_KEY) return err_id_range(id);
  auto v = read_raw();
  if (!v) return v.error();
  if (!((v->used >> id) & 1)) {
    return make_error(
        ENOENT, "key id " + std::to_string(id) + " is not registered" +
                    (((v->reserved >> id) & 1) ? " (" + reserved_ids() + ")" : std::string()));
  }
  return entry_of(*v, id);
}

}  // namespace xdpkv
