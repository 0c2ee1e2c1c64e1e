#pragma once
// Typed reads of optional JSON fields that fail with a CNI error naming the
// field's path ("dns.nameservers", "ips[1].address"). Shared by the conf parser
// (code 7) and the result decoder (code 6). Absent and null are both "not set",
// as Go's encoding/json treats them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cni/types.h"

namespace strand::cni::json_fields {

// Where a field sits, for messages: join("ips[0]", "address") == "ips[0].address".
[[nodiscard]] std::string join(std::string_view parent, std::string_view key);
[[nodiscard]] std::string index(std::string_view parent, size_t i);

// Each returns nullopt / nullptr when `key` is absent or null in `obj`
// (which must be an object), and `code` when the value has another type.
[[nodiscard]] CniResult<std::optional<std::string>> opt_string(const nlohmann::json& obj, std::string_view key,
                                                               std::string_view path, Code code);
[[nodiscard]] CniResult<std::optional<std::vector<std::string>>> opt_string_list(const nlohmann::json& obj,
                                                                                 std::string_view key,
                                                                                 std::string_view path, Code code);
// Integers only: 1500.0 and "1500" are rejected, as Go rejects them for an int.
[[nodiscard]] CniResult<std::optional<int64_t>> opt_int(const nlohmann::json& obj, std::string_view key,
                                                        std::string_view path, Code code);
[[nodiscard]] CniResult<std::optional<bool>> opt_bool(const nlohmann::json& obj, std::string_view key,
                                                      std::string_view path, Code code);
[[nodiscard]] CniResult<const nlohmann::json*> opt_object(const nlohmann::json& obj, std::string_view key,
                                                          std::string_view path, Code code);
[[nodiscard]] CniResult<const nlohmann::json*> opt_array(const nlohmann::json& obj, std::string_view key,
                                                         std::string_view path, Code code);

// "field \"<path>\" must be <what>".
[[nodiscard]] std::unexpected<CniError> wrong_type(std::string_view path, std::string_view what, Code code);

}  // namespace strand::cni::json_fields
