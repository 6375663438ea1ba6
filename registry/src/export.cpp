// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Export / import of fixed key assignments (docs/REGISTRY.md, "Export file").
#include <xdpkv/registry.hpp>

#include <cctype>
#include <cerrno>
#include <map>
#include <memory>
#include <set>
#include <variant>

#include <xdpkv/codec.hpp>

namespace xdpkv {
namespace {


// A minimal JSON reader: enough for the export format (objects, arrays,
// strings, integers, true/false/null), with error positions.
struct Json;
using JsonObject = std::vector<std::pair<std::string, Json>>;
using JsonArray = std::vector<Json>;
struct Json {
  std::variant<std::monostate, bool, long long, std::string, std::shared_ptr<JsonArray>,
               std::shared_ptr<JsonObject>>
      v;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<Json> document() {
    auto v = value(0);
    if (!v) return v;
    ws();
    if (p_ != s_.size()) return err("unexpected text after the end");
    return v;
  }

 private:
  Error err(const std::string& what) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p_ && i < s_.size(); i++) {
      if (s_[i] == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    return make_error(EINVAL, "not an xdpkv key export: " + what + " at line " + std::to_string(line) +
                                  ", column " + std::to_string(col));
  }
  void ws() {
    while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) p_++;
  }
  bool lit(std::string_view w) {
    if (s_.substr(p_, w.size()) != w) return false;
    p_ += w.size();
    return true;
  }
  Result<Json> value(int depth) {
    if (depth > 16) return err("nesting too deep");
    ws();
    if (p_ >= s_.size()) return err("unexpected end of input");
    char c = s_[p_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') {
      auto s = string();
      if (!s) return s.error();
      return Json{std::move(*s)};
    }
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) return number();
    if (lit("true")) return Json{true};
    if (lit("false")) return Json{false};
    if (lit("null")) return Json{};
    return err(std::string("unexpected '") + c + "'");
  }
  Result<Json> number() {
    size_t start = p_;
    if (s_[p_] == '-') p_++;
    while (p_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p_]))) p_++;
    if (p_ < s_.size() && (s_[p_] == '.' || s_[p_] == 'e' || s_[p_] == 'E'))
      return err("only integers are allowed");
    std::string t(s_.substr(start, p_ - start));
    if (t == "-" || t.size() > 18) {
      p_ = start;
      return err("bad number");
    }
    return Json{std::stoll(t)};
  }
  Result<std::string> string() {
    p_++;  // "
    std::string out;
    while (p_ < s_.size() && s_[p_] != '"') {
      char c = s_[p_++];
      if (static_cast<unsigned char>(c) < 0x20) return err("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p_ >= s_.size()) break;
      char e = s_[p_++];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (p_ + 4 > s_.size()) return err("bad \\u escape");
          unsigned v = std::stoul(std::string(s_.substr(p_, 4)), nullptr, 16);
          p_ += 4;
          if (v > 0x7f) return err("non-ASCII \\u escape");  // names are ASCII
          out += static_cast<char>(v);
          break;
        }
        default: return err("bad escape");
      }
    }
    if (p_ >= s_.size()) return err("unterminated string");
    p_++;
    return out;
  }
  Result<Json> array(int depth) {
    p_++;
    auto a = std::make_shared<JsonArray>();
    ws();
    if (p_ < s_.size() && s_[p_] == ']') {
      p_++;
      return Json{a};
    }
    while (true) {
      auto v = value(depth + 1);
      if (!v) return v;
      a->push_back(std::move(*v));
      ws();
      if (p_ < s_.size() && s_[p_] == ',') { p_++; continue; }
      if (p_ < s_.size() && s_[p_] == ']') { p_++; return Json{a}; }
      return err("expected ',' or ']'");
    }
  }
  Result<Json> object(int depth) {
    p_++;
    auto o = std::make_shared<JsonObject>();
    ws();
    if (p_ < s_.size() && s_[p_] == '}') {
      p_++;
      return Json{o};
    }
    while (true) {
      ws();
      if (p_ >= s_.size() || s_[p_] != '"') return err("expected a field name");
      auto k = string();
      if (!k) return k.error();
      ws();
      if (p_ >= s_.size() || s_[p_] != ':') return err("expected ':'");
      p_++;
      auto v = value(depth + 1);
      if (!v) return v;
      o->emplace_back(std::move(*k), std::move(*v));
      ws();
      if (p_ < s_.size() && s_[p_] == ',') { p_++; continue; }
      if (p_ < s_.size() && s_[p_] == '}') { p_++; return Json{o}; }
      return err("expected ',' or '}'");
    }
  }

  std::string_view s_;
  size_t p_ = 0;
};

const Json* field(const JsonObject& o, std::string_view k) {
  for (auto& [name, v] : o)
    if (name == k) return &v;
  return nullptr;
}

Error bad(const std::string& what) { return make_error(EINVAL, "not an xdpkv key export: " + what); }

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

std::string export_json(std::span<const RegistryEntry> entries) {
  std::string o = "{\n  \"xdpkv_registry\": " + std::to_string(XDPKV_REGISTRY_VERSION) + ",\n  \"keys\": [";
  bool first = true;
  for (const RegistryEntry& e : entries) {
    o += first ? "\n" : ",\n";
    first = false;
    o += "    {\"name\": " + json_quote(e.name) + ", \"id\": " + std::to_string(e.id) +
         ", \"size\": " + std::to_string(e.size) + "}";
  }
  o += first ? "]\n}\n" : "\n  ]\n}\n";
  return o;
}

Result<std::vector<KeyAssignment>> parse_export(std::string_view text) {
  auto doc = Parser(text).document();
  if (!doc) return doc.error();
  auto* top = std::get_if<std::shared_ptr<JsonObject>>(&doc->v);
  if (!top) return bad("the top level is not an object");
  const Json* ver = field(**top, "xdpkv_registry");
  const long long* vn = ver ? std::get_if<long long>(&ver->v) : nullptr;
  if (!vn) return bad("no \"xdpkv_registry\": VERSION field");
  if (*vn != XDPKV_REGISTRY_VERSION)
    return make_error(EPROTO, "key export of version " + std::to_string(*vn) +
                                  "; this xdpkv reads version " + std::to_string(XDPKV_REGISTRY_VERSION));
  const Json* keys = field(**top, "keys");
  auto* arr = keys ? std::get_if<std::shared_ptr<JsonArray>>(&keys->v) : nullptr;
  if (!arr) return bad("no \"keys\": [...] array");
  std::vector<KeyAssignment> out;
  size_t i = 0;
  for (const Json& k : **arr) {
    const std::string at = "keys[" + std::to_string(i++) + "]";
    auto* o = std::get_if<std::shared_ptr<JsonObject>>(&k.v);
    if (!o) return bad(at + " is not an object");
    const Json* n = field(**o, "name");
    const Json* id = field(**o, "id");
    const Json* sz = field(**o, "size");
    auto* ns = n ? std::get_if<std::string>(&n->v) : nullptr;
    auto* idv = id ? std::get_if<long long>(&id->v) : nullptr;
    auto* szv = sz ? std::get_if<long long>(&sz->v) : nullptr;
    if (!ns || !idv || !szv) return bad(at + " needs \"name\" (string), \"id\" and \"size\" (integers)");
    if (*idv < 0 || *idv > XDPKV_MAX_KEY) return bad(at + ": id " + std::to_string(*idv) + " is not 0-63");
    if (*szv != 2 && *szv != 4 && *szv != 8)
      return bad(at + ": size " + std::to_string(*szv) + " is not 2, 4 or 8");
    if (auto s = validate_key_name(*ns); !s) return bad(at + ": " + s.error().message);
    out.push_back({*ns, static_cast<int>(*idv), static_cast<uint32_t>(*szv)});
  }
  return out;
}

Result<ImportResult> import_assignments(Registry& reg, std::span<const KeyAssignment> keys) {
  auto raw = reg.read_raw();
  if (!raw) return raw.error();
  std::map<std::string, RegistryEntry> by_name;
  std::map<int, RegistryEntry> by_id;
  auto cur = reg.list();
  if (!cur) return cur.error();
  for (const RegistryEntry& e : *cur) {
    by_name[e.name] = e;
    by_id[e.id] = e;
  }
  ImportResult res;
  std::map<std::string, int> file_names;
  std::map<int, std::string> file_ids;
  std::vector<const KeyAssignment*> todo;
  for (const KeyAssignment& k : keys) {
    const std::string who = q(k.name) + " (id " + std::to_string(k.id) + ", size " + std::to_string(k.size) + ")";
    if (auto s = validate_key_name(k.name); !s) {
      res.conflicts.push_back(s.error().message);
      continue;
    }
    if (k.id < 0 || k.id > XDPKV_MAX_KEY || (k.size != 2 && k.size != 4 && k.size != 8)) {
      res.conflicts.push_back(who + ": id must be 0-63 and size 2, 4 or 8");
      continue;
    }
    if (auto it = file_names.find(k.name); it != file_names.end()) {
      res.conflicts.push_back(who + ": the file lists " + q(k.name) + " twice (ids " +
                              std::to_string(it->second) + " and " + std::to_string(k.id) + ")");
      continue;
    }
    if (auto it = file_ids.find(k.id); it != file_ids.end()) {
      res.conflicts.push_back(who + ": the file gives id " + std::to_string(k.id) + " to both " +
                              q(it->second) + " and " + q(k.name));
      continue;
    }
    file_names[k.name] = k.id;
    file_ids[k.id] = k.name;
    if ((raw->reserved >> k.id) & 1) {
      res.conflicts.push_back(who + ": id " + std::to_string(k.id) + " is reserved for hints (ids " +
                              std::to_string(XDPKV_KEY_HINT_FIRST) + "-" +
                              std::to_string(XDPKV_KEY_HINT_LAST) + ")");
      continue;
    }
    if (auto it = by_name.find(k.name); it != by_name.end()) {
      const RegistryEntry& e = it->second;
      if (e.id == k.id && e.size == k.size) {
        res.unchanged++;
        continue;
      }
      res.conflicts.push_back(who + ": this host has " + q(k.name) + " at id " + std::to_string(e.id) +
                              " with size " + std::to_string(e.size));
      continue;
    }
    if (auto it = by_id.find(k.id); it != by_id.end()) {
      res.conflicts.push_back(who + ": id " + std::to_string(k.id) + " is held by " + q(it->second.name) +
                              " (size " + std::to_string(it->second.size) + ") on this host");
      continue;
    }
    todo.push_back(&k);
  }
  if (!res.conflicts.empty()) {
    res.unchanged = 0;
    return res;  // nothing applied
  }
  for (const KeyAssignment* k : todo) {
    auto r = reg.register_at(k->name, k->size, k->id);
    if (!r)
      return make_error(r.error().code, "import stopped after " + std::to_string(res.added) +
                                            " keys (another registrant changed the registry meanwhile): " +
                                            r.error().message);
    res.added++;
  }
  return res;
}

}  // namespace xdpkv
