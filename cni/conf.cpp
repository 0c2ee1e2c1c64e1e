#include "cni/conf.h"

#include <algorithm>
#include <array>

#include "cni/json_fields.h"
#include "cni/result_json.h"
#include "cni/version.h"

namespace strand::cni {
namespace {

namespace jf = json_fields;
using nlohmann::json;

constexpr Code kConf = Code::kInvalidConfig;

std::unexpected<CniError> missing(std::string_view field) {
  return cni_fail(kConf, "field \"" + std::string(field) + "\" is required");
}

// A required, non-empty string field.
CniResult<std::string> required_string(const json& j, std::string_view key) {
  auto v = jf::opt_string(j, key, key, kConf);
  if (!v) return std::unexpected(v.error());
  if (!*v || (*v)->empty()) return missing(key);
  return **v;
}

// An optional object kept verbatim.
CniResult<json> raw_object(const json& j, std::string_view key) {
  auto v = jf::opt_object(j, key, key, kConf);
  if (!v) return std::unexpected(v.error());
  return *v == nullptr ? json() : **v;
}

CniResult<uint32_t> int_in_range(const json& j, std::string_view key, int64_t lo, int64_t hi, uint32_t fallback) {
  auto v = jf::opt_int(j, key, key, kConf);
  if (!v) return std::unexpected(v.error());
  if (!*v) return fallback;
  if (**v < lo || **v > hi) {
    return cni_fail(kConf, "field \"" + std::string(key) + "\" must be between " + std::to_string(lo) + " and " +
                               std::to_string(hi) + ", got " + std::to_string(**v));
  }
  return static_cast<uint32_t>(**v);
}

CniStatus read_string(const json& j, std::string_view key, std::string& out) {
  auto v = jf::opt_string(j, key, key, kConf);
  if (!v) return std::unexpected(v.error());
  if (*v) out = **v;
  return {};
}

CniStatus parse_attachments(const json& j, NetConf& conf) {
  std::string_view key = "cni.dev/valid-attachments";
  if (!j.contains(key) || j[key].is_null()) key = "cni.dev/attachments";
  auto list = jf::opt_array(j, key, key, kConf);
  if (!list) return std::unexpected(list.error());
  if (*list == nullptr) return {};
  conf.has_valid_attachments = true;
  for (size_t i = 0; i < (*list)->size(); ++i) {
    const json& item = (**list)[i];
    std::string path = jf::index(key, i);
    if (!item.is_object()) return jf::wrong_type(path, "an object {\"containerID\", \"ifname\"}", kConf);
    Attachment a;
    for (auto [field, dst] : {std::pair<const char*, std::string*>{"containerID", &a.container_id},
                              {"ifname", &a.ifname}}) {
      auto v = jf::opt_string(item, field, jf::join(path, field), kConf);
      if (!v) return std::unexpected(v.error());
      if (!*v || (*v)->empty()) return missing(jf::join(path, field));
      *dst = **v;
    }
    conf.valid_attachments.push_back(std::move(a));
  }
  return {};
}

}  // namespace

bool valid_network_name(std::string_view name) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (name.empty() || !alnum(name.front())) return false;
  for (char c : name.substr(1)) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

CniResult<NetConf> parse_netconf(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    // The parser's message carries the position and what it expected.
    return cni_fail(Code::kDecodeFailure, std::string("network configuration is not valid JSON: ") + e.what());
  }
  return netconf_from_json(j);
}

CniResult<NetConf> netconf_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return cni_fail(Code::kDecodeFailure, "network configuration must be a JSON object");
  NetConf conf;
  conf.raw = j;

  auto version = jf::opt_string(j, "cniVersion", "cniVersion", kConf);
  if (!version) return std::unexpected(version.error());
  if (!*version || (*version)->empty()) return missing("cniVersion");
  if (!version_supported(**version)) {
    return cni_fail(Code::kIncompatibleVersion, "cniVersion \"" + **version + "\" is not supported (supported: " +
                                                    supported_versions_text() + ")");
  }
  conf.cni_version = **version;

  auto versions = jf::opt_string_list(j, "cniVersions", "cniVersions", kConf);
  if (!versions) return std::unexpected(versions.error());
  if (*versions) conf.cni_versions = std::move(**versions);

  auto name = required_string(j, "name");
  if (!name) return std::unexpected(name.error());
  if (!valid_network_name(*name)) {
    return cni_fail(kConf, "field \"name\": \"" + *name +
                               "\" is invalid: it must start with a letter or digit, followed by letters, digits, "
                               "'_', '.' or '-'");
  }
  conf.name = std::move(*name);
  auto type = required_string(j, "type");
  if (!type) return std::unexpected(type.error());
  conf.type = std::move(*type);

  for (auto [key, dst] : {std::pair<const char*, json*>{"ipam", &conf.ipam},
                          {"capabilities", &conf.capabilities},
                          {"runtimeConfig", &conf.runtime_config},
                          {"args", &conf.args}}) {
    auto v = raw_object(j, key);
    if (!v) return std::unexpected(v.error());
    *dst = std::move(*v);
  }

  auto dns = jf::opt_object(j, "dns", "dns", kConf);
  if (!dns) return std::unexpected(dns.error());
  if (*dns != nullptr) {
    auto d = decode_dns(**dns, "dns", kConf);
    if (!d) return std::unexpected(d.error());
    conf.dns = std::move(*d);
  }

  auto prev = jf::opt_object(j, "prevResult", "prevResult", kConf);
  if (!prev) return std::unexpected(prev.error());
  if (*prev != nullptr) {
    auto r = decode_result(**prev, conf.cni_version);
    if (!r) {
      CniError e = r.error();
      e.msg = "prevResult: " + e.msg;
      return std::unexpected(std::move(e));
    }
    conf.prev_result = std::move(*r);
  }

  if (auto s = parse_attachments(j, conf); !s) return std::unexpected(s.error());

  auto mtu = int_in_range(j, "mtu", 68, 65535, kDefaultMtu);
  if (!mtu) return std::unexpected(mtu.error());
  conf.mtu = *mtu;
  auto timeout = int_in_range(j, "agentTimeoutMs", 1, 120000, kDefaultAgentTimeoutMs);
  if (!timeout) return std::unexpected(timeout.error());
  conf.agent_timeout_ms = *timeout;

  for (auto [key, dst] : {std::pair<const char*, std::string*>{"logFile", &conf.log_file},
                          {"logLevel", &conf.log_level},
                          {"agentSocket", &conf.agent_socket},
                          {"stateDir", &conf.state_dir}}) {
    if (auto s = read_string(j, key, *dst); !s) return std::unexpected(s.error());
  }
  static constexpr std::array<std::string_view, 5> kLevels = {"trace", "debug", "info", "warn", "error"};
  if (std::ranges::find(kLevels, conf.log_level) == kLevels.end()) {
    return cni_fail(kConf, "field \"logLevel\": \"" + conf.log_level +
                               "\" is not one of trace, debug, info, warn, error");
  }
  if (conf.agent_socket.empty()) return missing("agentSocket");
  if (conf.state_dir.empty()) return missing("stateDir");

  auto required = jf::opt_bool(j, "agentRequired", "agentRequired", kConf);
  if (!required) return std::unexpected(required.error());
  if (*required) conf.agent_required = **required;
  return conf;
}

}  // namespace strand::cni
