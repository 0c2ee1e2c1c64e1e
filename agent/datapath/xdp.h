#pragma once
// The node uplink's XDP program (strand_xdp skeleton: `uplink`, maps
// `prefilter` and `node_stats`). Its maps are pinned with the node's maps; the
// program is attached with a bpf_link (BPF_XDP) pinned at
// <link dir>/uplink_xdp, so it keeps running while the agent is down. On
// start a pinned link on the same device is reused (same link id); when the
// loaded program differs from the one it runs (another object), the link is
// switched to the new one atomically with bpf_link_update.
#include <cstdint>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/fd.h"

struct strand_xdp;

namespace strand::agent {

inline constexpr const char* kUplinkLinkPin = "uplink_xdp";

struct XdpSkeletonDeleter {
  void operator()(strand_xdp* s) const noexcept;
};
using XdpSkeleton = std::unique_ptr<strand_xdp, XdpSkeletonDeleter>;

// How the kernel runs the program on the device (bpf_xdp_query's attach mode).
enum class XdpMode { kNative, kGeneric, kOffload, kNone };
[[nodiscard]] const char* xdp_mode_name(XdpMode m);

// What attach() found at the pin and did about it.
enum class XdpLinkAction { kCreated, kReused, kUpdated };
[[nodiscard]] const char* xdp_link_action_name(XdpLinkAction a);

class UplinkXdp {
 public:
  // Loads strand_xdp (maps pinned in `map_pin_dir`, reusing pinned ones) and
  // attaches it to `ifname` in the calling thread's netns.
  [[nodiscard]] static Result<UplinkXdp> attach(const std::string& ifname, const std::string& map_pin_dir,
                                                const std::string& link_dir);

  [[nodiscard]] XdpMode mode() const { return mode_; }
  [[nodiscard]] XdpLinkAction action() const { return action_; }
  [[nodiscard]] uint32_t link_id() const { return link_id_; }
  [[nodiscard]] uint32_t prog_id() const { return prog_id_; }
  [[nodiscard]] int ifindex() const { return ifindex_; }

 private:
  UplinkXdp() = default;
  XdpSkeleton skel_;
  UniqueFd link_;  // pinned: closing it leaves the program attached
  XdpMode mode_ = XdpMode::kNone;
  XdpLinkAction action_ = XdpLinkAction::kCreated;
  uint32_t link_id_ = 0;
  uint32_t prog_id_ = 0;
  int ifindex_ = 0;
};

// The mode the program attached at `ifindex` runs in (kNone: nothing attached).
[[nodiscard]] Result<XdpMode> query_xdp_mode(int ifindex);

// Detaches and unpins the uplink link (--cleanup, or an agent started without
// --uplink). True when there was one, false when there is none.
[[nodiscard]] Result<bool> detach_uplink_xdp(const std::string& link_dir);

}  // namespace strand::agent
