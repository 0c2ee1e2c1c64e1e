#pragma once
// The servers behind a pod's declared container ports: TCP echo and UDP echo,
// on every address of the pod's netns (IPv4 and IPv6). Runs in the hidden
// `strand-lab serve` process the lab starts inside the pod's netns.
#include <vector>

#include "common/error.h"
#include "lab/manifest.h"

namespace strand::lab {

// Binds every TCP/UDP port (SCTP ports are skipped by the caller), writes
// "ready\n" to ready_fd when all are bound (then closes it), and serves until
// killed. Returns only on a bind error.
[[nodiscard]] Status run_echo_servers(const std::vector<ContainerPort>& ports, int ready_fd);

}  // namespace strand::lab
