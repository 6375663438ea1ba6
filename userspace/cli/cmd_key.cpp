// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpkv key: the key registry (names -> key ids) from the command line.
// Parsing (CLI11 through args.hpp), then one named step per subcommand.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xdpkv/fs.hpp>
#include <xdpkv/registry.hpp>

#include "args.hpp"
#include "commands.hpp"

namespace xdpkv::cli {
namespace {

// The command line, parsed. Numbers stay text until parse_strict_uint.
struct KeyArgs {
  std::string bpffs;
  bool json = false;
  std::string name;   // add, rm: NAME; show: NAME|ID; export/import: FILE
  std::string size;   // add
  std::string id;     // add --id
  std::string scope;  // add --scope
};

const Command& self() { return *find_command("key"); }

// Flushes stdout: a failed write (a full disk, a closed pipe) is a failure.
int done() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    return fail(self(), std::string("cannot write to standard output: ") + std::strerror(errno));
  return kExitOk;
}

RegistryOptions options(const KeyArgs& a, bool write) {
  RegistryOptions o;
  o.dir = a.bpffs;
  o.create = write;
  o.readonly = !write;
  return o;
}

// The registry's keys for reading: an absent registry (no bpffs, no directory,
// no pinned map) is an empty one, not a failure. exists says which it was.
Result<std::vector<RegistryEntry>> read_keys(const KeyArgs& a, bool* exists) {
  auto reg = Registry::open(options(a, false));
  *exists = reg.ok();
  if (!reg) {
    if (reg.error().code == ENOENT) return std::vector<RegistryEntry>{};
    return reg.error();
  }
  return reg->list();
}

// The registry for one key (show, rm): absence names the key that is missing.
Result<Registry> open_for_key(const KeyArgs& a, bool write, const std::string& what) {
  RegistryOptions o = options(a, write);
  o.create = false;
  auto reg = Registry::open(o);
  if (!reg && reg.error().code == ENOENT) {
    return make_error(ENOENT,
                      "no key " + what + ": nothing is registered (" + reg.error().message + ")");
  }
  return reg;
}

// --scope: flow or packet (not given: unset). The scope names are the registry library's.
std::optional<KeyScope> add_scope(const std::string& s) {
  if (s.empty()) return KeyScope::unset;
  auto sc = parse_scope(s);
  if (!sc || *sc == KeyScope::unset) return std::nullopt;
  return *sc;
}

// How a key is described after add: "8 bytes" or "8 bytes, scope flow".
std::string size_and_scope(uint32_t size, KeyScope scope) {
  return std::to_string(size) + " bytes" +
         (scope == KeyScope::unset ? "" : ", scope " + scope_name(scope));
}

int run_add(const KeyArgs& a) {
  if (auto s = validate_key_name(a.name); !s) return usage_error(self(), s.error().message);
  const auto size = parse_strict_uint(a.size);
  if (!size || !xdpkv_value_size_ok(*size)) {
    return usage_error(
        self(), "SIZE must be " XDPKV_VALUE_SIZES " (bytes), not '" + printable(a.size) + "'");
  }
  const auto scope = add_scope(a.scope);
  if (!scope)
    return usage_error(self(), "--scope must be flow or packet, not '" + printable(a.scope) + "'");
  auto reg = Registry::open(options(a, true));
  if (!reg) return fail(self(), reg.error().message);
  const auto sz = static_cast<uint32_t>(*size);
  bool created = false;
  auto r = a.id.empty() ? reg->register_key(a.name, sz, *scope, &created)
                        : reg->register_at(a.name, sz, static_cast<int>(*parse_strict_uint(a.id)),
                                           *scope, &created);
  if (!r) return fail(self(), r.error().message);
  if (created) {
    std::printf("registered '%s' (%s) as key id %d\n", a.name.c_str(),
                size_and_scope(sz, *scope).c_str(), *r);
    return done();
  }
  // Already registered (by us before, or by someone else just now): what it holds.
  const auto held = reg->lookup(a.name);
  const KeyScope was = held ? held->scope : *scope;
  std::printf("'%s' (%s) is already key id %d\n", a.name.c_str(), size_and_scope(sz, was).c_str(),
              *r);
  if (was == KeyScope::unset && *scope != KeyScope::unset) {
    std::printf(
        "its scope stays unset: a registered key is never changed ('xdpkv key rm' it "
        "and add it again to record scope %s)\n",
        scope_name(*scope).c_str());
  }
  return done();
}

// A scope as the table and `show` print it: unset as "-", like a missing time.
std::string shown_scope(KeyScope s) { return s == KeyScope::unset ? "-" : scope_name(s); }

void print_table(const std::vector<RegistryEntry>& keys) {
  size_t w = 4;
  for (auto& e : keys) w = std::max(w, printable(e.name).size());
  std::printf("%3s  %-*s  %4s  %-6s  %-20s  %s\n", "ID", static_cast<int>(w), "NAME", "SIZE",
              "SCOPE", "OWNER (UID)", "REGISTERED");
  for (auto& e : keys) {
    const std::string owner =
        (e.owner.empty() ? "?" : printable(e.owner)) + " (" + std::to_string(e.owner_uid) + ")";
    std::printf("%3d  %-*s  %4u  %-6s  %-20s  %s\n", e.id, static_cast<int>(w),
                printable(e.name).c_str(), e.size, shown_scope(e.scope).c_str(), owner.c_str(),
                format_registered(e.registered_ns, false).c_str());
  }
}

int run_ls(const KeyArgs& a) {
  bool exists = false;
  auto keys = read_keys(a, &exists);
  if (!keys) return fail(self(), keys.error().message);
  const std::string pin = resolve_registry_dir(a.bpffs) + "/" XDPKV_REGISTRY_PIN;
  if (a.json) {
    std::printf("%s\n", listing_json(pin, exists, *keys).c_str());
  } else if (!exists) {
    std::printf(
        "no keys registered (no registry at %s yet; 'xdpkv key add NAME SIZE' creates it)\n",
        pin.c_str());
  } else {
    if (!keys->empty()) print_table(*keys);
    std::printf("%zu key%s registered, %d of %d ids free (%s); %s\n", keys->size(),
                keys->size() == 1 ? "" : "s", XDPKV_ASSIGNABLE - static_cast<int>(keys->size()),
                XDPKV_ASSIGNABLE, reserved_ids().c_str(), pin.c_str());
  }
  return done();
}

int run_show(const KeyArgs& a) {
  const auto id = parse_strict_uint(a.name);
  const bool by_id = id && *id <= XDPKV_MAX_KEY;
  if (!by_id) {
    if (auto s = validate_key_name(a.name); !s) return usage_error(self(), s.error().message);
  }
  auto reg = open_for_key(a, false, by_id ? "id " + a.name : "named " + quote_name(a.name));
  if (!reg) return fail(self(), reg.error().message);
  auto e = by_id ? reg->lookup(static_cast<int>(*id)) : reg->lookup(a.name);
  if (!e) return fail(self(), e.error().message);
  if (a.json) {
    std::printf("%s\n", entry_json(*e).c_str());
  } else {
    std::printf(
        "name        %s\nid          %d\nsize        %u\nowner       %s (uid %u)\n"
        "registered  %s\nscope       %s\ngeneration  %u (times id %d was given to a name)\n"
        "registry    %s\n",
        printable(e->name).c_str(), e->id, e->size,
        e->owner.empty() ? "?" : printable(e->owner).c_str(), e->owner_uid,
        format_registered(e->registered_ns, false).c_str(), shown_scope(e->scope).c_str(),
        e->generation, e->id, reg->path().c_str());
  }
  return done();
}

int run_rm(const KeyArgs& a) {
  if (auto s = validate_key_name(a.name); !s) return usage_error(self(), s.error().message);
  auto reg = open_for_key(a, true, "named " + quote_name(a.name));
  if (!reg) return fail(self(), reg.error().message);
  auto e = reg->lookup(a.name);
  if (auto s = reg->unregister(a.name); !s) return fail(self(), s.error().message);
  const int id = e ? e->id : -1;
  std::printf(
      "unregistered '%s' (key id %d, generation %u). Programs loaded with id %d keep "
      "using it as '%s' and strict-mode programs now refuse to set it; new names get "
      "id %d only after every other free id (reload those programs first)\n",
      a.name.c_str(), id, e ? e->generation : 0u, id, a.name.c_str(), id);
  return done();
}

int run_export(const KeyArgs& a) {
  bool exists = false;
  auto keys = read_keys(a, &exists);
  if (!keys) return fail(self(), keys.error().message);
  const std::string text = export_json(*keys);
  if (a.name == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return done();
  }
  // Opened only now that the registry was read: a failure leaves FILE as it was.
  // Its messages name FILE as given: escaped, as every message here shows it.
  auto f = fs::OutputFile::create(a.name);
  if (!f) return fail(self(), printable(f.error().message, 1024));
  Status s = f->write(text);
  if (s) s = f->commit();
  if (!s) return fail(self(), printable(s.error().message, 1024));
  std::fprintf(stderr, "exported %zu key%s to %s\n", keys->size(), keys->size() == 1 ? "" : "s",
               a.name.c_str());
  return done();
}

// An export of 60 keys is a few KiB; more than this is not one.
constexpr size_t kExportMax = 1 << 20;

// The whole of FILE ('-': standard input), at most kExportMax bytes.
Result<std::string> slurp(const std::string& file) {
  if (file == "-") return read_at_most(stdin, kExportMax, "standard input");
  const std::string shown = printable(file, 256);
  struct stat st;
  if (::stat(file.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return make_error(EISDIR, "cannot read " + shown + ": it is a directory, not an export file");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "rbe"), std::fclose);
  if (!f) return make_error(errno, "cannot read " + shown + ": " + std::strerror(errno));
  return read_at_most(f.get(), kExportMax, shown);
}

int run_import(const KeyArgs& a) {
  auto text = slurp(a.name);
  if (!text) return fail(self(), text.error().message);
  auto keys = parse_export(*text);
  if (!keys) return fail(self(), printable(a.name, 256) + ": " + keys.error().message);
  auto reg = Registry::open(options(a, true));
  if (!reg) return fail(self(), reg.error().message);
  auto r = import_assignments(*reg, *keys);
  if (!r) return fail(self(), r.error().message);
  if (!r->conflicts.empty()) {
    for (const std::string& c : r->conflicts)
      std::fprintf(stderr, "xdpkv key: conflict: %s\n", c.c_str());
    return fail(self(), "import refused: " + std::to_string(r->conflicts.size()) + " conflict" +
                            (r->conflicts.size() == 1 ? "" : "s") + ", nothing changed in " +
                            reg->path());
  }
  std::printf("imported %zu key%s from %s: %d registered, %d already present\n", keys->size(),
              keys->size() == 1 ? "" : "s", printable(a.name, 256).c_str(), r->added, r->unchanged);
  return done();
}

// The parser: `--bpffs` anywhere after `key` (subcommands fall through to it).
CLI::App* subcommand(CLI::App& app, const char* name, const char* what) {
  CLI::App* s = app.add_subcommand(name, what);
  s->fallthrough();
  return s;
}

void add_subcommands(CLI::App& app, KeyArgs& a) {
  CLI::App* add = subcommand(app, "add",
                             "register NAME for values of SIZE bytes (2, 4 or 8) and print its "
                             "id; asking again with the same SIZE gives the same id");
  add->add_option("NAME", a.name)->required();
  add->add_option("SIZE", a.size)->required()->check(strict_uint(2, 8));
  add->add_option("--id", a.id, "ask for a fixed id")
      ->check(strict_uint(0, XDPKV_MAX_KEY))
      ->type_name("ID");
  add->add_option("--scope", a.scope,
                  "how the value behaves under GRO: flow (the same on every packet of a flow: "
                  "merging keeps going) or packet (differs per packet: merging stops). Without "
                  "it the scope is unset ('-'); a key registered with one scope refuses the "
                  "other; an unset key stays unset.")
      ->check(non_empty())
      ->type_name("flow|packet");
  CLI::App* ls =
      subcommand(app, "ls", "list the registered keys: id, name, size, scope, owner, time");
  ls->alias("list")->add_flag("--json", a.json, "JSON output");
  CLI::App* show = subcommand(app, "show", "show one key");
  show->add_option("NAME|ID", a.name)->required()->check(non_empty());
  show->add_flag("--json", a.json, "JSON output");
  subcommand(app, "rm", "unregister NAME; its id becomes free")
      ->alias("remove")
      ->alias("del")
      ->add_option("NAME", a.name)
      ->required();
  subcommand(app, "export",
             "write every assignment (name, id, size, scope) as JSON ('-': standard output)")
      ->add_option("FILE", a.name)
      ->required()
      ->check(non_empty());
  subcommand(app, "import",
             "register the assignments of an export at the same ids ('-': standard input). If "
             "any of them conflicts with this host's registry, nothing is changed and each "
             "conflict is listed.")
      ->add_option("FILE", a.name)
      ->required()
      ->check(non_empty());
}

// The parser and the help's text (args.hpp).
void build(CLI::App& app, KeyArgs& a) {
  app.description(
      "usage: xdpkv key [--bpffs DIR] SUBCOMMAND [ARGS...]\n"
      "\n"
      "Manage the key registry: names for the 64 key ids, shared by every program on\n"
      "this host. Ids are handed out in the kernel (a BPF program under a spin lock),\n"
      "so all programs that ask for the same name get the same id.\n");
  add_bpffs_option(app, a.bpffs,
                   std::string(kBpffsHelp) +
                       ". add and import create it, and mount bpffs on /sys/fs/bpf if none is "
                       "mounted (and say so).");
  app.require_subcommand(1);
  add_subcommands(app, a);
  app.footer(
      "Names are 1-31 characters of [a-z0-9_.-]. Ids 59-63 are reserved (59: the\n"
      "origin mark, 60-63: hints), so 59 keys can be registered.\n"
      "\n"
      "add, rm and import need root (CAP_BPF); ls, show and export need only read\n"
      "access to DIR/registry (docs/REGISTRY.md explains how to grant it).\n"
      "\n"
      "Examples:\n"
      "  xdpkv key add packet_id 8 --scope packet\n"
      "                                   # registered 'packet_id' (8 bytes, scope packet)\n"
      "                                   # as key id 0\n"
      "  xdpkv key ls\n"
      "  xdpkv key export keys.json       # on one host; then, on every other host:\n"
      "  xdpkv key import keys.json\n"
      "\n"
      "Exit status: 0 done, 1 failed (conflict, no such key, no permission), 2 usage error.\n");
}

}  // namespace

int cmd_key(int argc, char** argv) {
  KeyArgs a;
  auto app = build_app(self(), build, a);
  if (auto stop = parse(*app, self(), argc, argv)) return *stop;

  if (app->got_subcommand("add")) return run_add(a);
  if (app->got_subcommand("ls")) return run_ls(a);
  if (app->got_subcommand("show")) return run_show(a);
  if (app->got_subcommand("rm")) return run_rm(a);
  if (app->got_subcommand("export")) return run_export(a);
  return run_import(a);
}

std::string help_key(const Command& self) { return help_from(self, build); }

}  // namespace xdpkv::cli
