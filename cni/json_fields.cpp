#include "cni/json_fields.h"

namespace strand::cni::json_fields {
namespace {

const nlohmann::json* find(const nlohmann::json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

std::string join(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

std::string index(std::string_view parent, size_t i) { return std::string(parent) + "[" + std::to_string(i) + "]"; }

std::unexpected<CniError> wrong_type(std::string_view path, std::string_view what, Code code) {
  return cni_fail(code, "field \"" + std::string(path) + "\" must be " + std::string(what));
}

CniResult<std::optional<std::string>> opt_string(const nlohmann::json& obj, std::string_view key,
                                                 std::string_view path, Code code) {
  const auto* v = find(obj, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) return wrong_type(path, "a string", code);
  return v->get<std::string>();
}

CniResult<std::optional<std::vector<std::string>>> opt_string_list(const nlohmann::json& obj, std::string_view key,
                                                                   std::string_view path, Code code) {
  const auto* v = find(obj, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array()) return wrong_type(path, "a list of strings", code);
  std::vector<std::string> out;
  out.reserve(v->size());
  for (const auto& item : *v) {
    if (!item.is_string()) return wrong_type(path, "a list of strings", code);
    out.push_back(item.get<std::string>());
  }
  return out;
}

CniResult<std::optional<int64_t>> opt_int(const nlohmann::json& obj, std::string_view key, std::string_view path,
                                          Code code) {
  const auto* v = find(obj, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) {
    auto u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return wrong_type(path, "an integer in range", code);
    return static_cast<int64_t>(u);
  }
  if (v->is_number_integer()) return v->get<int64_t>();
  return wrong_type(path, "an integer", code);
}

CniResult<std::optional<bool>> opt_bool(const nlohmann::json& obj, std::string_view key, std::string_view path,
                                        Code code) {
  const auto* v = find(obj, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) return wrong_type(path, "true or false", code);
  return v->get<bool>();
}

CniResult<const nlohmann::json*> opt_object(const nlohmann::json& obj, std::string_view key, std::string_view path,
                                            Code code) {
  const auto* v = find(obj, key);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) return wrong_type(path, "an object", code);
  return v;
}

CniResult<const nlohmann::json*> opt_array(const nlohmann::json& obj, std::string_view key, std::string_view path,
                                           Code code) {
  const auto* v = find(obj, key);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) return wrong_type(path, "a list", code);
  return v;
}

}  // namespace strand::cni::json_fields
