// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv key: the key registry (names -> key ids) from the command line.
#include <algorithm>
#include <cerrno>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <xdpkv/registry.hpp>

#include "commands.hpp"

#include <xdpkv/codec.hpp>

namespace xdpkv::cli {
namespace {


std::string time_str(uint64_t ns, bool iso) {
  if (!ns) return "-";
  time_t t = static_cast<time_t>(ns / 1000000000ull);
  tm tm{};
  gmtime_r(&t, &tm);
  char b[40];
  std::strftime(b, sizeof(b), iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S UTC", &tm);
  return b;
}

std::string entry_json(const RegistryEntry& e) {
  return "{\"id\": " + std::to_string(e.id) + ", \"name\": " + json_quote(e.name) +
         ", \"size\": " + std::to_string(e.size) + ", \"owner\": " + json_quote(e.owner) +
         ", \"owner_uid\": " + std::to_string(e.owner_uid) +
         ", \"registered_ns\": " + std::to_string(e.registered_ns) + ", \"registered\": " +
         json_quote(time_str(e.registered_ns, true)) + "}";
}

bool parse_int(const std::string& s, long lo, long hi, long* out) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end || errno || v < lo || v > hi) return false;
  *out = v;
  return true;
}

// The registry is absent (no bpffs, no directory, no pinned map): for reads
// that is an empty registry, not a failure.
bool absent(const Error& e) { return e.code == ENOENT; }

struct Args {
  std::string bpffs;
  bool json = false;
  std::string id;  // add --id
  std::vector<std::string> pos;
};

}  // namespace

int cmd_key(int argc, char** argv) {
  const Command& self = *find_command("key");
  Args a;
  for (int i = 1; i < argc; i++) {
    std::string s = argv[i];
    if (s == "--help" || s == "-h") return print_help(self);
    if (s == "--bpffs" || s == "--id") {
      if (i + 1 >= argc) return usage_error(self, s + " needs a value");
      (s == "--bpffs" ? a.bpffs : a.id) = argv[++i];
      if (s == "--bpffs" && a.bpffs.empty()) return usage_error(self, "--bpffs needs a directory");
    } else if (s.rfind("--bpffs=", 0) == 0) {
      a.bpffs = s.substr(8);
    } else if (s.rfind("--id=", 0) == 0) {
      a.id = s.substr(5);
    } else if (s == "--json") {
      a.json = true;
    } else if (s.size() > 1 && s[0] == '-' && s != "-") {
      return usage_error(self, "unknown option '" + s + "'");
    } else {
      a.pos.push_back(s);
    }
  }
  if (a.pos.empty())
    return usage_error(self, "missing subcommand: add, ls, show, rm, export or import");
  const std::string sub = a.pos[0];
  const size_t nargs = a.pos.size() - 1;
  auto want_args = [&](size_t n, const char* shape) -> int {
    if (nargs == n) return -1;
    return usage_error(self, std::string(nargs < n ? "missing arguments" : "too many arguments") +
                                 ": xdpkv key " + shape);
  };
  if (!a.id.empty() && sub != "add") return usage_error(self, "--id is an option of 'key add'");
  if (a.json && sub != "ls" && sub != "show") return usage_error(self, "--json is an option of 'key ls' and 'key show'");
  const std::string dir = resolve_registry_dir(a.bpffs);

  auto open = [&](bool write) {
    RegistryOptions o;
    o.dir = dir;
    o.create = write;
    o.readonly = !write;
    return Registry::open(o);
  };

  if (sub == "add") {
    if (int r = want_args(2, "add NAME SIZE [--id ID]"); r >= 0) return r;
    const std::string& name = a.pos[1];
    if (auto s = validate_key_name(name); !s) return usage_error(self, s.error().message);
    long size = 0, id = -1;
    if (!parse_int(a.pos[2], 2, 8, &size) || (size != 2 && size != 4 && size != 8))
      return usage_error(self, "SIZE must be 2, 4 or 8 (bytes), not '" + a.pos[2] + "'");
    if (!a.id.empty() && !parse_int(a.id, 0, XDPKV_MAX_KEY, &id))
      return usage_error(self, "--id takes a key id 0-63, not '" + a.id + "'");
    auto reg = open(true);
    if (!reg) return fail(self, reg.error().message);
    const bool existed = reg->lookup(name).ok();
    auto r = id >= 0 ? reg->register_at(name, static_cast<uint32_t>(size), static_cast<int>(id))
                     : reg->register_key(name, static_cast<uint32_t>(size));
    if (!r) return fail(self, r.error().message);
    if (existed)
      std::printf("'%s' (%ld bytes) is already key id %d\n", name.c_str(), size, *r);
    else
      std::printf("registered '%s' (%ld bytes) as key id %d\n", name.c_str(), size, *r);
    return kExitOk;
  }

  if (sub == "ls" || sub == "list") {
    if (int r = want_args(0, "ls [--json]"); r >= 0) return r;
    std::vector<RegistryEntry> keys;
    auto reg = open(false);
    if (!reg && !absent(reg.error())) return fail(self, reg.error().message);
    if (reg) {
      auto l = reg->list();
      if (!l) return fail(self, l.error().message);
      keys = std::move(*l);
    }
    const int free_ids = XDPKV_ASSIGNABLE - static_cast<int>(keys.size());
    const std::string path = dir + "/" XDPKV_REGISTRY_PIN;
    if (a.json) {
      std::string o = "{\"registry\": " + json_quote(path) + ", \"exists\": " + (reg ? "true" : "false") +
                      ", \"version\": " + std::to_string(XDPKV_REGISTRY_VERSION) +
                      ", \"free\": " + std::to_string(free_ids) + ", \"keys\": [";
      for (size_t i = 0; i < keys.size(); i++) o += (i ? ", " : "") + entry_json(keys[i]);
      std::printf("%s]}\n", o.c_str());
      return kExitOk;
    }
    if (!reg) {
      std::printf("no keys registered (no registry at %s yet; 'xdpkv key add NAME SIZE' creates it)\n",
                  path.c_str());
      return kExitOk;
    }
    if (!keys.empty()) {
      size_t w = 4;
      for (auto& e : keys) w = std::max(w, e.name.size());
      std::printf("%3s  %-*s  %4s  %-20s  %s\n", "ID", static_cast<int>(w), "NAME", "SIZE",
                  "OWNER (UID)", "REGISTERED");
      for (auto& e : keys) {
        std::string owner = (e.owner.empty() ? "?" : e.owner) + " (" + std::to_string(e.owner_uid) + ")";
        std::printf("%3d  %-*s  %4u  %-20s  %s\n", e.id, static_cast<int>(w), e.name.c_str(), e.size,
                    owner.c_str(), time_str(e.registered_ns, false).c_str());
      }
    }
    std::printf("%zu key%s registered, %d of %d ids free (ids %d-%d are reserved for hints); %s\n",
                keys.size(), keys.size() == 1 ? "" : "s", free_ids, XDPKV_ASSIGNABLE,
                XDPKV_KEY_HINT_FIRST, XDPKV_KEY_HINT_LAST, path.c_str());
    return kExitOk;
  }

  if (sub == "show") {
    if (int r = want_args(1, "show NAME|ID [--json]"); r >= 0) return r;
    const std::string& what = a.pos[1];
    long id = -1;
    const bool by_id = parse_int(what, 0, XDPKV_MAX_KEY, &id);
    if (!by_id) {
      if (auto s = validate_key_name(what); !s) return usage_error(self, s.error().message);
    }
    auto reg = open(false);
    if (!reg) {
      if (absent(reg.error()))
        return fail(self, "no key " + (by_id ? "id " + what : "named '" + what + "'") +
                              ": nothing is registered (" + reg.error().message + ")");
      return fail(self, reg.error().message);
    }
    auto e = by_id ? reg->lookup(static_cast<int>(id)) : reg->lookup(what);
    if (!e) return fail(self, e.error().message);
    if (a.json) {
      std::printf("%s\n", entry_json(*e).c_str());
    } else {
      std::printf("name        %s\nid          %d\nsize        %u\nowner       %s (uid %u)\n"
                  "registered  %s\nregistry    %s\n",
                  e->name.c_str(), e->id, e->size, e->owner.empty() ? "?" : e->owner.c_str(),
                  e->owner_uid, time_str(e->registered_ns, false).c_str(), reg->path().c_str());
    }
    return kExitOk;
  }

  if (sub == "rm" || sub == "remove" || sub == "del") {
    if (int r = want_args(1, "rm NAME"); r >= 0) return r;
    const std::string& name = a.pos[1];
    if (auto s = validate_key_name(name); !s) return usage_error(self, s.error().message);
    RegistryOptions o;
    o.dir = dir;
    auto reg = Registry::open(o);
    if (!reg) {
      if (absent(reg.error()))
        return fail(self, "no key named '" + name + "': nothing is registered (" + reg.error().message + ")");
      return fail(self, reg.error().message);
    }
    auto e = reg->lookup(name);
    if (auto s = reg->unregister(name); !s) return fail(self, s.error().message);
    std::printf("unregistered '%s' (key id %d is free again)\n", name.c_str(), e ? e->id : -1);
    return kExitOk;
  }

  if (sub == "export") {
    if (int r = want_args(1, "export FILE"); r >= 0) return r;
    std::vector<RegistryEntry> keys;
    auto reg = open(false);
    if (!reg && !absent(reg.error())) return fail(self, reg.error().message);
    if (reg) {
      auto l = reg->list();
      if (!l) return fail(self, l.error().message);
      keys = std::move(*l);
    }
    const std::string text = export_json(keys);
    const std::string& file = a.pos[1];
    if (file == "-") {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
      std::ofstream f(file, std::ios::binary | std::ios::trunc);
      if (!(f << text) || !f.flush())
        return fail(self, "cannot write " + file + ": " + std::strerror(errno));
      std::fprintf(stderr, "exported %zu key%s to %s\n", keys.size(), keys.size() == 1 ? "" : "s",
                   file.c_str());
    }
    return kExitOk;
  }

  if (sub == "import") {
    if (int r = want_args(1, "import FILE"); r >= 0) return r;
    const std::string& file = a.pos[1];
    std::stringstream ss;
    if (file == "-") {
      ss << std::cin.rdbuf();
    } else {
      std::ifstream f(file, std::ios::binary);
      if (!f) return fail(self, "cannot read " + file + ": " + std::strerror(errno));
      ss << f.rdbuf();
    }
    auto keys = parse_export(ss.str());
    if (!keys) return fail(self, file + ": " + keys.error().message);
    auto reg = open(true);
    if (!reg) return fail(self, reg.error().message);
    auto r = import_assignments(*reg, *keys);
    if (!r) return fail(self, r.error().message);
    if (!r->conflicts.empty()) {
      for (const std::string& c : r->conflicts) std::fprintf(stderr, "xdpkv key: conflict: %s\n", c.c_str());
      return fail(self, "import refused: " + std::to_string(r->conflicts.size()) + " conflict" +
                            (r->conflicts.size() == 1 ? "" : "s") + ", nothing changed in " + reg->path());
    }
    std::printf("imported %zu key%s from %s: %d registered, %d already present\n", keys->size(),
                keys->size() == 1 ? "" : "s", file.c_str(), r->added, r->unchanged);
    return kExitOk;
  }

  return usage_error(self, "unknown subcommand '" + sub + "' (add, ls, show, rm, export, import)");
}

}  // namespace xdpkv::cli
