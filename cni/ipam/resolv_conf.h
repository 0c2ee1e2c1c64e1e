#pragma once
// resolv.conf reading for strand-ipam's "resolvConf": nameserver, domain,
// search and options lines become the result's DNS, as host-local does.
#include <string>
#include <string_view>

#include "cni/types.h"
#include "common/error.h"

namespace strand::cni::ipam {

// Parses resolv.conf text; comments (# or ;) and unknown keywords are skipped.
[[nodiscard]] Dns parse_resolv_conf(std::string_view text);

// Reads and parses the file at `path`.
[[nodiscard]] strand::Result<Dns> read_resolv_conf(const std::string& path);

}  // namespace strand::cni::ipam
