#pragma once
// The CNI result model (spec 1.1.0 shape) and error type shared by the plugin's
// verbs, IPAM and version conversion. JSON encoding lives in cni/result_json.h.
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"

namespace strand::cni {

struct Interface {
  std::string name;
  std::string mac;                  // "aa:bb:..", empty when none
  std::optional<uint32_t> mtu;      // 1.1.0
  std::string sandbox;              // netns path for container interfaces, empty on host
  std::string socket_path;          // 1.1.0
  std::string pci_id;               // 1.1.0
  bool operator==(const Interface&) const = default;
};

struct IpConfig {
  IpPrefix address;                 // "10.244.1.5/24"
  std::optional<IpAddr> gateway;
  std::optional<int> interface;     // index into Result::interfaces
  bool operator==(const IpConfig&) const = default;
};

struct Route {
  IpPrefix dst;
  std::optional<IpAddr> gw;
  std::optional<int> mtu, advmss, priority, table, scope;  // 1.1.0 fields
  bool operator==(const Route&) const = default;
};

struct Dns {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;
  [[nodiscard]] bool empty() const { return nameservers.empty() && domain.empty() && search.empty() && options.empty(); }
  bool operator==(const Dns&) const = default;
};

struct Result {
  std::string cni_version;
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::vector<Route> routes;
  Dns dns;
  bool operator==(const Result&) const = default;
};

// An attachment as the spec names it (GC's cni.dev/valid-attachments).
struct Attachment {
  std::string container_id;
  std::string ifname;
  auto operator<=>(const Attachment&) const = default;
};

// The spec's well-known error codes.
enum class Code : int {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnv = 4,
  kIoFailure = 5,
  kDecodeFailure = 6,
  kInvalidConfig = 7,
  kTryAgainLater = 11,
  kPluginNotAvailable = 50,   // STATUS: cannot ADD now
  kLimitedConnectivity = 51,  // STATUS: existing attachments degraded too
  // Plugin-specific (100 and up, as the spec reserves them):
  kStateMismatch = 110,       // CHECK: the live state differs from prevResult (100: netlink, cni/error_json.h)
  kInternal = 999,            // plugin-specific (>= 100); used for unexpected failures
};

struct CniError {
  int code = static_cast<int>(Code::kInternal);
  std::string msg;
  std::string details;
};

template <typename T>
using CniResult = std::expected<T, CniError>;
using CniStatus = std::expected<void, CniError>;

[[nodiscard]] inline std::unexpected<CniError> cni_fail(Code code, std::string msg, std::string details = {}) {
  return std::unexpected<CniError>(CniError{static_cast<int>(code), std::move(msg), std::move(details)});
}

}  // namespace strand::cni
