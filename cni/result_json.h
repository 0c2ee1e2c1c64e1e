#pragma once
// The CNI result in JSON, for every supported spec version, and conversion
// between versions (decode from one, encode to another).
//
// Shapes, as the reference libcni writes them:
//   1.0.0 / 1.1.0  {"cniVersion","interfaces","ips","routes","dns"}; ips
//                  {"address","gateway"?,"interface"?}; dns omitted when empty.
//   1.1.0 only     interfaces[].mtu/socketPath/pciID and routes[].mtu/advmss/
//                  priority/table/scope. Encoding 1.0.0 drops them (libcni keeps
//                  them, since one Go type serves both; the 1.0.0 spec has no
//                  such fields, so a strict 1.0.0 reader would see unknown keys).
//   0.3.0 .. 0.4.0 as 1.0.0 but every ip carries "version":"4"|"6", interfaces
//                  only name/mac/sandbox, and "dns" is always present ({} when
//                  empty: libcni's 0.4.0 type never omits it).
//   0.1.0 / 0.2.0  {"ip4":{"ip","gateway","routes"},"ip6":{..},"dns"}: decoded
//                  (an old IPAM or prevResult may use it) but never encoded.
// Empty lists and unset optional fields are omitted; mtu/advmss/priority of 0
// are omitted as libcni's omitempty does, table/scope of 0 are kept.
#include <string_view>

#include <nlohmann/json.hpp>

#include "cni/types.h"

namespace strand::cni {

// `version` must satisfy version_supported(); result.cni_version is ignored.
// An unknown version gets the latest shape (with the given cniVersion string).
[[nodiscard]] nlohmann::json encode_result(const Result& result, std::string_view version);

// Reads a result of any version from 0.1.0 to 1.1.0. The version is the
// result's own "cniVersion", or `version_if_absent` when it has none (a
// prevResult written by an old runtime). Result::cni_version is set to it.
// Errors: code 1 for a version this code does not know ("0.5.0", "2.0.0");
// code 6 for a missing version or a field of the wrong shape (naming it).
[[nodiscard]] CniResult<Result> decode_result(const nlohmann::json& j, std::string_view version_if_absent = {});

// decode_result then encode_result(to_version).
[[nodiscard]] CniResult<nlohmann::json> convert_result(const nlohmann::json& j, std::string_view to_version);

// The "dns" object, shared with the network configuration's "dns" field.
[[nodiscard]] nlohmann::json encode_dns(const Dns& dns);
// `path` names the field in errors ("dns", "prevResult.dns"); `code` is the
// error code for a wrong shape (6 in results, 7 in configurations).
[[nodiscard]] CniResult<Dns> decode_dns(const nlohmann::json& j, std::string_view path, Code code);

}  // namespace strand::cni
