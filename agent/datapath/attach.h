#pragma once
// Attaching the pod programs to a host veth: from_pod on its ingress, to_pod on
// its egress. With tcx (Linux >= 6.6) each attachment is a bpf_link pinned at
// <link dir>/<ifname>_{ingress,egress}, so it outlives the agent; without tcx,
// a clsact filter (handle 1, priority 1), which lives with the device.
#include <set>
#include <string>

#include "common/error.h"
#include "common/fd.h"

namespace strand::agent {

class Datapath;

enum class AttachMode { kTcx, kTc };
[[nodiscard]] const char* attach_mode_name(AttachMode m);

// tcx when the kernel knows BPF_TCX_INGRESS (a read-only query on lo answers).
[[nodiscard]] AttachMode detect_attach_mode();

// A bpf_link fd. Closing it detaches the program unless the link is pinned.
class BpfLink {
 public:
  BpfLink() = default;
  explicit BpfLink(UniqueFd fd) : fd_(std::move(fd)) {}
  // Pins the link at `path`; it then outlives this object and the agent.
  [[nodiscard]] Status pin(const std::string& path);
  [[nodiscard]] int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

enum class Hook { kIngress, kEgress };

class Attacher {
 public:
  Attacher(AttachMode mode, std::string link_dir) : mode_(mode), link_dir_(std::move(link_dir)) {}

  // Attaches both programs to `ifindex`. Attachments already in place for it
  // (pinned links of a previous agent) are kept, stale ones replaced. Either
  // both hooks end up attached or neither is left by this call.
  [[nodiscard]] Status attach(const Datapath& dp, int ifindex, const std::string& ifname);
  // Removes both attachments; success when they are already gone (ifindex 0:
  // the device is gone, only the pins are removed).
  [[nodiscard]] Status detach(int ifindex, const std::string& ifname);
  // Both hooks carry an attachment of ours.
  [[nodiscard]] Result<bool> attached(int ifindex, const std::string& ifname) const;

  // Detaches and unpins the links of devices not in `keep` (host ifnames):
  // what endpoints deleted while the agent was down left. Returns how many.
  [[nodiscard]] Result<int> prune(const std::set<std::string>& keep);

  [[nodiscard]] std::string pin_path(const std::string& ifname, Hook h) const;
  [[nodiscard]] AttachMode mode() const { return mode_; }

 private:
  [[nodiscard]] Result<bool> hook_attached(int ifindex, const std::string& ifname, Hook h) const;
  [[nodiscard]] Status attach_hook(int prog_fd, int ifindex, const std::string& ifname, Hook h);
  [[nodiscard]] Status detach_hook(int ifindex, const std::string& ifname, Hook h);

  AttachMode mode_;
  std::string link_dir_;
};

// Detaches and unpins every link pinned in `link_dir` (for --cleanup).
[[nodiscard]] Status detach_all_pinned(const std::string& link_dir);

}  // namespace strand::agent
