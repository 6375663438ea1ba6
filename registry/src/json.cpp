// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The registry's JSON: the export file (docs/REGISTRY.md, "Export file") read
// and written, and the `key ls/show --json` documents, all through
// nlohmann-json. No BPF here: the import fuzz target links this file.
#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <xdpkv/codec.hpp>
#include <xdpkv/registry.hpp>

namespace xdpkv {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr int kMaxDepth = 16;

// An unset scope is left out: the file is then the one older tools wrote.
ordered_json assignment(const RegistryEntry& e) {
  ordered_json o{{"name", e.name}, {"id", e.id}, {"size", e.size}};
  if (e.scope != KeyScope::unset) o["scope"] = scope_name(e.scope);
  return o;
}

Error bad(const std::string& what) {
  return make_error(EINVAL, "not an xdpkv key export: " + what);
}

// Why the parser stopped early (a duplicate member, too deep).
struct Refused {
  std::string what;
};

// The document, or why it is not JSON as the export format allows it:
// duplicate members and nesting past kMaxDepth are refused here; bad escapes,
// invalid UTF-8 and syntax errors by nlohmann-json itself.
Result<nlohmann::json> parse_document(std::string_view text) {
  std::vector<std::set<std::string>> members;  // per open object, its member names so far
  std::vector<std::string> path;               // member names down to the current value
  auto cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) -> bool {
    using E = nlohmann::json::parse_event_t;
    if (depth > kMaxDepth)
      throw Refused{"nesting deeper than " + std::to_string(kMaxDepth) + " levels"};
    switch (ev) {
      case E::object_start: members.emplace_back(); break;
      case E::object_end:
        if (!members.empty()) members.pop_back();
        break;
      case E::key: {
        const std::string k = parsed.get<std::string>();
        if (!members.empty() && !members.back().insert(k).second)
          throw Refused{"member \"" + printable(k) + "\" appears twice in one object"};
        break;
      }
      default: break;
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), cb);
  } catch (const Refused& r) {
    return bad(r.what);
  } catch (const nlohmann::json::parse_error& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    std::string m = e.what();
    if (size_t p = m.find("] "); m.rfind("[json.exception", 0) == 0 && p != std::string::npos)
      m = m.substr(p + 2);
    return bad(printable(m, 300));
  } catch (const nlohmann::json::exception& e) {
    return bad(printable(e.what(), 300));
  }
}

}  // namespace

std::string export_json(std::span<const RegistryEntry> entries) {
  std::string o = "{\n  " + dump_spaced(ordered_json("xdpkv_registry")) + ": " +
                  std::to_string(XDPKV_EXPORT_VERSION) + ",\n  \"keys\": [";
  bool first = true;
  for (const RegistryEntry& e : entries) {
    o += first ? "\n    " : ",\n    ";
    first = false;
    o += dump_spaced(assignment(e));
  }
  o += first ? "]\n}\n" : "\n  ]\n}\n";
  return o;
}

namespace {

ordered_json entry_object(const RegistryEntry& e) {
  return ordered_json{{"id", e.id},
                      {"name", e.name},
                      {"size", e.size},
                      {"owner", e.owner},
                      {"owner_uid", e.owner_uid},
                      {"registered_ns", e.registered_ns},
                      {"registered", format_registered(e.registered_ns, true)},
                      {"scope", scope_name(e.scope)},
                      {"generation", e.generation}};
}

}  // namespace

std::string entry_json(const RegistryEntry& e) { return dump_spaced(entry_object(e)); }

std::string listing_json(const std::string& pin, bool exists,
                         std::span<const RegistryEntry> entries) {
  ordered_json keys = ordered_json::array();
  for (const RegistryEntry& e : entries) keys.push_back(entry_object(e));
  return dump_spaced(ordered_json{{"registry", pin},
                                  {"exists", exists},
                                  {"version", XDPKV_REGISTRY_VERSION},
                                  {"free", XDPKV_ASSIGNABLE - static_cast<int>(entries.size())},
                                  {"keys", std::move(keys)}});
}

namespace {

// An assignment's optional "scope"; absent (a file of an older xdpkv): unset.
Result<KeyScope> scope_of(const nlohmann::json& k) {
  auto sc = k.find("scope");
  if (sc == k.end()) return KeyScope::unset;
  if (!sc->is_string())
    return make_error(EINVAL, "scope " + printable(sc->dump()) + " is not a string");
  return parse_scope(sc->get<std::string>());
}

}  // namespace

Result<std::vector<KeyAssignment>> parse_export(std::string_view text) {
  auto doc = parse_document(text);
  if (!doc) return doc.error();
  if (!doc->is_object()) return bad("the top level is not an object");
  auto ver = doc->find("xdpkv_registry");
  if (ver == doc->end() || !ver->is_number_integer())
    return bad("no \"xdpkv_registry\": VERSION field");
  const auto vn = ver->get<long long>();
  if (vn != XDPKV_EXPORT_VERSION) {
    return make_error(EPROTO, "key export of version " + ver->dump() +
                                  "; this xdpkv reads version " +
                                  std::to_string(XDPKV_EXPORT_VERSION));
  }
  auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) return bad("no \"keys\": [...] array");
  std::vector<KeyAssignment> out;
  for (size_t i = 0; i < keys->size(); i++) {
    const nlohmann::json& k = (*keys)[i];
    const std::string at = "keys[" + std::to_string(i) + "]";
    if (!k.is_object()) return bad(at + " is not an object");
    auto n = k.find("name"), id = k.find("id"), sz = k.find("size");
    if (n == k.end() || id == k.end() || sz == k.end() || !n->is_string() ||
        !id->is_number_integer() || !sz->is_number_integer())
      return bad(at + " needs \"name\" (string), \"id\" and \"size\" (integers)");
    // Integers beyond long long arrive as unsigned: compare as text-safe values.
    const bool id_ok = id->is_number_unsigned()
                           ? id->get<unsigned long long>() <= XDPKV_MAX_KEY
                           : id->get<long long>() >= 0 && id->get<long long>() <= XDPKV_MAX_KEY;
    if (!id_ok) return bad(at + ": id " + id->dump() + " is not 0-63");
    const bool sz_ok = sz->is_number_unsigned() && xdpkv_value_size_ok(sz->get<uint64_t>());
    if (!sz_ok) return bad(at + ": size " + sz->dump() + " is not " XDPKV_VALUE_SIZES);
    const std::string name = n->get<std::string>();
    if (auto s = validate_key_name(name); !s) return bad(at + ": " + s.error().message);
    auto scope = scope_of(k);
    if (!scope) return bad(at + ": " + scope.error().message);
    out.push_back({name, static_cast<int>(id->get<long long>()),
                   static_cast<uint32_t>(sz->get<unsigned long long>()), *scope});
  }
  return out;
}

}  // namespace xdpkv
