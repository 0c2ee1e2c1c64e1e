#pragma once
// CNI errors: their JSON on stdout, and the one mapping from strand::Error
// (what failed, with errno) to the CNI error code the runtime acts on.
//
// Codes, chosen by what the runtime should do next:
//   11  try again later: a condition that clears up by itself.
//       errno EAGAIN/EWOULDBLOCK, EBUSY, EINTR, ETIMEDOUT, ECONNREFUSED,
//       ENOBUFS, ENOMEM, ENOSPC (address pool or disk full: frees as pods go
//       away); and ENOENT, ECONNRESET, EPIPE when the failed call was the
//       agent's (op starting with "agent", or "connect": the plugin connects
//       to nothing else): the agent is not up yet or restarting.
//   5   I/O failure: EIO.
//   100 kernel rejected a network change or query: op is a netlink message
//       ("RTM_NEWLINK", "RTM_NEWADDR", ...) failing with any other errno.
//   999 internal: everything else (details carry the full message).
// CniErrors built directly with cni_fail() (env, conf, IPAM, version checks)
// keep their own well-known codes; this mapping is for strand::Error only.
#include <string_view>

#include <nlohmann/json.hpp>

#include "cni/types.h"
#include "common/error.h"

namespace strand::cni {

inline constexpr int kCodeNetlink = 100;  // plugin-specific (>= 100)

// {"cniVersion", "code", "msg", "details"}; details omitted when empty,
// cniVersion the latest when `version` is empty (conf not parsed yet).
[[nodiscard]] nlohmann::json encode_error(const CniError& e, std::string_view version);

// msg = what ("create veth"), details = e.message(); the code as above.
[[nodiscard]] CniError to_cni_error(const Error& e, std::string_view what);

}  // namespace strand::cni
