#pragma once
// CNI spec versions: which ones Strand speaks, how they compare, which verbs
// each allows, and the VERSION command's output.
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace strand::cni {

// Oldest first. 0.3.0 is the first version with the interfaces/ips result.
inline constexpr std::array<std::string_view, 5> kSupportedVersions = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
inline constexpr std::string_view kLatestVersion = "1.1.0";

// "1.0.0" -> {1, 0, 0}; nullopt unless exactly three dot-separated decimal numbers.
[[nodiscard]] std::optional<std::array<unsigned, 3>> parse_version(std::string_view v);

[[nodiscard]] bool version_supported(std::string_view v);

// Numeric comparison ("0.10.0" > "0.9.0"). A string that does not parse sorts
// before every valid version.
[[nodiscard]] bool version_less(std::string_view a, std::string_view b);

// CHECK exists from 0.4.0, GC and STATUS from 1.1.0.
[[nodiscard]] bool supports_check(std::string_view v);
[[nodiscard]] bool supports_gc_status(std::string_view v);

// "0.3.0, 0.3.1, ..." for error messages.
[[nodiscard]] std::string supported_versions_text();

// The VERSION command's answer: {"cniVersion": conf_version when supported,
// else the latest, "supportedVersions": [...]}.
[[nodiscard]] nlohmann::json version_info(std::string_view conf_version);

}  // namespace strand::cni
