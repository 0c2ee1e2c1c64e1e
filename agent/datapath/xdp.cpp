#include "agent/datapath/xdp.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <cstring>

#include "agent/bpffs.h"
#include "common/fs.h"
#include "common/log.h"
// clang-format off
#include "strand_maps.h"
#include "strand_xdp.skel.h"
// clang-format on

namespace strand::agent {
namespace {

struct ProgIdent {
  uint32_t id = 0;
  uint8_t tag[BPF_TAG_SIZE] = {};
};

Result<ProgIdent> prog_ident_fd(int fd, const std::string& what) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return fail_errno("bpf_obj_get_info_by_fd", what);
  ProgIdent p;
  p.id = info.id;
  std::memcpy(p.tag, info.tag, sizeof(p.tag));
  return p;
}

Result<ProgIdent> prog_ident_id(uint32_t id) {
  UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd) return fail_errno("bpf_prog_get_fd_by_id", "prog id " + std::to_string(id));
  return prog_ident_fd(fd.get(), "prog id " + std::to_string(id));
}

Result<bpf_link_info> link_info(int fd, const std::string& path) {
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return fail_errno("bpf_obj_get_info_by_fd", path);
  return info;
}

// Detaches the link (already defunct when its device went away) and unpins it.
Status drop_link(int fd, const std::string& path) {
  if (bpf_link_detach(fd) != 0 && errno != ENOLINK && errno != EINVAL && errno != ENOENT) {
    return fail_errno("bpf_link_detach", path);
  }
  return unpin(path);
}

}  // namespace

void XdpSkeletonDeleter::operator()(strand_xdp* s) const noexcept { strand_xdp__destroy(s); }

const char* xdp_mode_name(XdpMode m) {
  switch (m) {
    case XdpMode::kNative: return "native";
    case XdpMode::kGeneric: return "generic";
    case XdpMode::kOffload: return "offload";
    case XdpMode::kNone: break;
  }
  return "none";
}

const char* xdp_link_action_name(XdpLinkAction a) {
  switch (a) {
    case XdpLinkAction::kCreated: return "created";
    case XdpLinkAction::kReused: return "reused";
    case XdpLinkAction::kUpdated: return "updated";
  }
  return "?";
}

Result<XdpMode> query_xdp_mode(int ifindex) {
  bpf_xdp_query_opts q{};
  q.sz = sizeof(q);
  if (int err = bpf_xdp_query(ifindex, 0, &q); err != 0) {
    return fail("bpf_xdp_query", -err, "ifindex " + std::to_string(ifindex));
  }
  switch (q.attach_mode) {
    case XDP_ATTACHED_DRV: return XdpMode::kNative;
    case XDP_ATTACHED_SKB: return XdpMode::kGeneric;
    case XDP_ATTACHED_HW: return XdpMode::kOffload;
    default: return XdpMode::kNone;
  }
}

Result<UplinkXdp> UplinkXdp::attach(const std::string& ifname, const std::string& map_pin_dir,
                                    const std::string& link_dir) {
  const int ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
  if (ifindex == 0) return fail_errno("if_nametoindex", "uplink " + ifname);
  for (const auto& d : {map_pin_dir, link_dir}) {
    if (auto st = make_dirs(d); !st) return std::unexpected(st.error());
  }

  UplinkXdp x;
  x.ifindex_ = ifindex;
  x.skel_.reset(strand_xdp__open());
  if (!x.skel_) return fail_errno("strand_xdp__open");
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, x.skel_->obj) {
    if (bpf_map__is_internal(map)) continue;
    const std::string path = map_pin_dir + "/" + bpf_map__name(map);
    if (int err = bpf_map__set_pin_path(map, path.c_str()); err != 0) return fail("bpf_map__set_pin_path", -err, path);
  }
  if (int err = strand_xdp__load(x.skel_.get()); err != 0) {
    return fail("strand_xdp__load", -err, "maps pinned in " + map_pin_dir);
  }
  const int prog_fd = bpf_program__fd(x.skel_->progs.uplink);
  auto ours = prog_ident_fd(prog_fd, "uplink");
  if (!ours) return std::unexpected(ours.error());

  const std::string path = link_dir + "/" + kUplinkLinkPin;
  if (UniqueFd pinned(bpf_obj_get(path.c_str())); pinned) {
    auto info = link_info(pinned.get(), path);
    if (!info) return std::unexpected(info.error());
    if (info->type == BPF_LINK_TYPE_XDP && static_cast<int>(info->xdp.ifindex) == ifindex) {
      auto running = prog_ident_id(info->prog_id);
      if (!running) return std::unexpected(running.error());
      if (std::memcmp(running->tag, ours->tag, BPF_TAG_SIZE) == 0) {
        x.action_ = XdpLinkAction::kReused;
        x.prog_id_ = running->id;
      } else {
        // Another object: switch the program under the same link, no gap.
        bpf_link_update_opts uo{};
        uo.sz = sizeof(uo);
        if (bpf_link_update(pinned.get(), prog_fd, &uo) != 0) return fail_errno("bpf_link_update", path);
        x.action_ = XdpLinkAction::kUpdated;
        x.prog_id_ = ours->id;
      }
      x.link_id_ = info->id;
      x.link_ = std::move(pinned);
    } else {
      // Its device went away (ifindex 0) or the uplink is another device now.
      log::info("stale uplink link removed", {{"pin", path}, {"link_ifindex", std::to_string(info->xdp.ifindex)}});
      if (auto st = drop_link(pinned.get(), path); !st) return std::unexpected(st.error());
    }
  } else if (errno != ENOENT) {
    return fail_errno("bpf_obj_get", path);
  }

  if (!x.link_) {
    bpf_link_create_opts lo{};
    lo.sz = sizeof(lo);
    // flags 0: native where the driver has it (veth does), generic otherwise.
    UniqueFd fd(bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo));
    if (!fd) return fail_errno("bpf_link_create xdp", "uplink " + ifname);
    // Unpinned, the fd going out of scope detaches it again.
    if (bpf_obj_pin(fd.get(), path.c_str()) != 0) return fail_errno("bpf_obj_pin", path);
    auto info = link_info(fd.get(), path);
    if (!info) return std::unexpected(info.error());
    x.action_ = XdpLinkAction::kCreated;
    x.link_id_ = info->id;
    x.prog_id_ = ours->id;
    x.link_ = std::move(fd);
  }

  auto mode = query_xdp_mode(ifindex);
  if (!mode) return std::unexpected(mode.error());
  x.mode_ = *mode;
  return x;
}

Result<bool> detach_uplink_xdp(const std::string& link_dir) {
  const std::string path = link_dir + "/" + kUplinkLinkPin;
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd) {
    if (errno == ENOENT) return false;
    return fail_errno("bpf_obj_get", path);
  }
  if (auto st = drop_link(fd.get(), path); !st) return std::unexpected(st.error());
  return true;
}

}  // namespace strand::agent
