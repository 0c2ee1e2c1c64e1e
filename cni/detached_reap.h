#pragma once
// DEL without an agent: the retired veth (common/retired_links.h) is deleted by
// a detached child process, so that DEL does not wait for the kernel's teardown
// of a netdev (an RCU grace period, 20-30 ms on this machine) that the agent
// would otherwise batch. The child holds none of the caller's descriptors
// (a runtime reading the plugin's stdout sees EOF when the plugin exits), and
// whatever it does not delete (killed, fork refused) is deleted by the next
// ADD of the same names, by GC, or by an agent when one starts.

namespace strand::cni {

// Starts the child; false when it could not be started (the caller deletes
// the veth itself).
[[nodiscard]] bool spawn_detached_reap();

}  // namespace strand::cni
