#include "agent/datapath/attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "agent/bpffs.h"
#include "agent/datapath/loader.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/rollback.h"

namespace strand::agent {
namespace {

// Debian's uapi header predates tcx (Linux 6.6); the numbers are ABI.
constexpr auto kTcxIngress = static_cast<bpf_attach_type>(46);
constexpr auto kTcxEgress = static_cast<bpf_attach_type>(47);

bpf_attach_type tcx_type(Hook h) { return h == Hook::kIngress ? kTcxIngress : kTcxEgress; }
const char* hook_name(Hook h) { return h == Hook::kIngress ? "ingress" : "egress"; }
bpf_tc_attach_point tc_point(Hook h) { return h == Hook::kIngress ? BPF_TC_INGRESS : BPF_TC_EGRESS; }

// Program ids attached at (ifindex, type), in the calling thread's netns.
Result<std::vector<uint32_t>> query_progs(int ifindex, bpf_attach_type type) {
  std::vector<uint32_t> ids(64);
  uint32_t count = static_cast<uint32_t>(ids.size());
  uint32_t flags = 0;
  if (bpf_prog_query(ifindex, type, 0, &flags, ids.data(), &count) != 0) {
    return fail_errno("bpf_prog_query", "ifindex " + std::to_string(ifindex));
  }
  ids.resize(count);
  return ids;
}

// The program id of the link pinned at `path`, nullopt when there is no pin.
Result<std::optional<uint32_t>> pinned_link_prog(const std::string& path) {
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd) {
    if (errno == ENOENT) return std::optional<uint32_t>{};
    return fail_errno("bpf_obj_get", path);
  }
  bpf_link_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return fail_errno("bpf_obj_get_info_by_fd", path);
  return std::optional<uint32_t>{info.prog_id};
}

Status detach_pinned(const std::string& path) {
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (fd) {
    // A link whose device is gone is already defunct: nothing left to detach.
    if (bpf_link_detach(fd.get()) != 0 && errno != ENOLINK && errno != EINVAL && errno != ENOENT) {
      return fail_errno("bpf_link_detach", path);
    }
  } else if (errno != ENOENT) {
    return fail_errno("bpf_obj_get", path);
  }
  return unpin(path);
}

bpf_tc_hook tc_hook(int ifindex, Hook h) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = tc_point(h);
  return hook;
}

bpf_tc_opts tc_opts(int prog_fd) {
  bpf_tc_opts o{};
  o.sz = sizeof(o);
  o.handle = 1;
  o.priority = 1;
  o.prog_fd = prog_fd;
  return o;
}

}  // namespace

const char* attach_mode_name(AttachMode m) { return m == AttachMode::kTcx ? "tcx" : "tc"; }

AttachMode detect_attach_mode() {
  // lo is ifindex 1 in every netns; an old kernel answers EINVAL for the type.
  std::vector<uint32_t> ids(1);
  uint32_t count = 1, flags = 0;
  if (bpf_prog_query(1, kTcxIngress, 0, &flags, ids.data(), &count) == 0 || errno == ENOSPC) {
    return AttachMode::kTcx;
  }
  return AttachMode::kTc;
}

Status BpfLink::pin(const std::string& path) {
  if (bpf_obj_pin(fd_.get(), path.c_str()) != 0) return fail_errno("bpf_obj_pin", path);
  return {};
}

std::string Attacher::pin_path(const std::string& ifname, Hook h) const {
  return link_dir_ + "/" + ifname + "_" + hook_name(h);
}

Result<bool> Attacher::hook_attached(int ifindex, const std::string& ifname, Hook h) const {
  if (mode_ == AttachMode::kTc) {
    auto hook = tc_hook(ifindex, h);
    auto o = tc_opts(0);
    if (int err = bpf_tc_query(&hook, &o); err != 0) {
      if (err == -ENOENT || err == -EINVAL) return false;
      return fail("bpf_tc_query", -err, ifname);
    }
    return true;
  }
  auto prog = pinned_link_prog(pin_path(ifname, h));
  if (!prog) return std::unexpected(prog.error());
  if (!*prog) return false;
  auto ids = query_progs(ifindex, tcx_type(h));
  if (!ids) return std::unexpected(ids.error());
  for (uint32_t id : *ids) {
    if (id == **prog) return true;
  }
  return false;  // pinned, but its device is gone (or another device got the name)
}

Result<bool> Attacher::attached(int ifindex, const std::string& ifname) const {
  for (Hook h : {Hook::kIngress, Hook::kEgress}) {
    auto a = hook_attached(ifindex, ifname, h);
    if (!a || !*a) return a;
  }
  return true;
}

Status Attacher::attach_hook(int prog_fd, int ifindex, const std::string& ifname, Hook h) {
  if (mode_ == AttachMode::kTc) {
    auto hook = tc_hook(ifindex, h);
    if (int err = bpf_tc_hook_create(&hook); err != 0 && err != -EEXIST) {
      return fail("bpf_tc_hook_create", -err, ifname + " " + hook_name(h));
    }
    auto o = tc_opts(prog_fd);
    o.flags = BPF_TC_F_REPLACE;
    if (int err = bpf_tc_attach(&hook, &o); err != 0) return fail("bpf_tc_attach", -err, ifname + " " + hook_name(h));
    return {};
  }
  const std::string path = pin_path(ifname, h);
  if (auto st = detach_pinned(path); !st) return st;  // stale: its device went away
  bpf_link_create_opts opts{};
  opts.sz = sizeof(opts);
  int fd = bpf_link_create(prog_fd, ifindex, tcx_type(h), &opts);
  if (fd < 0) return fail_errno("bpf_link_create tcx", ifname + " " + hook_name(h));
  BpfLink link{UniqueFd(fd)};
  return link.pin(path);
}

Status Attacher::detach_hook(int ifindex, const std::string& ifname, Hook h) {
  if (mode_ == AttachMode::kTc) {
    if (ifindex == 0) return {};
    auto hook = tc_hook(ifindex, h);
    auto o = tc_opts(0);
    if (int err = bpf_tc_detach(&hook, &o); err != 0 && err != -ENOENT && err != -ENODEV && err != -EINVAL) {
      return fail("bpf_tc_detach", -err, ifname + " " + hook_name(h));
    }
    return {};
  }
  return detach_pinned(pin_path(ifname, h));
}

Status Attacher::attach(const Datapath& dp, int ifindex, const std::string& ifname) {
  if (mode_ == AttachMode::kTcx) {
    if (auto st = make_dirs(link_dir_); !st) return st;
  }
  Rollback undo;
  for (Hook h : {Hook::kIngress, Hook::kEgress}) {
    auto a = hook_attached(ifindex, ifname, h);
    if (!a) return std::unexpected(a.error());
    if (*a) continue;  // a previous agent's link: keep it
    const int prog = h == Hook::kIngress ? dp.from_pod_fd() : dp.to_pod_fd();
    if (auto st = attach_hook(prog, ifindex, ifname, h); !st) return st;
    undo.add(std::string("detach ") + hook_name(h), [this, ifindex, ifname, h] { (void)detach_hook(ifindex, ifname, h); });
  }
  undo.commit();
  return {};
}

Status Attacher::detach(int ifindex, const std::string& ifname) {
  Status first;
  for (Hook h : {Hook::kIngress, Hook::kEgress}) {
    auto st = detach_hook(ifindex, ifname, h);
    if (!st && first) first = st;
  }
  return first;
}

Result<int> Attacher::prune(const std::set<std::string>& keep) {
  auto names = pin_names(link_dir_);
  if (!names) return std::unexpected(names.error());
  int n = 0;
  for (const auto& name : *names) {
    const auto us = name.rfind('_');
    if (us == std::string::npos) continue;
    const std::string hook = name.substr(us + 1);
    if (hook != "ingress" && hook != "egress") continue;  // not a pod link (uplink_xdp)
    if (keep.contains(name.substr(0, us))) continue;
    if (auto st = detach_pinned(link_dir_ + "/" + name); !st) return std::unexpected(st.error());
    ++n;
  }
  return n;
}

Status detach_all_pinned(const std::string& link_dir) {
  auto names = pin_names(link_dir);
  if (!names) return std::unexpected(names.error());
  Status first;
  for (const auto& n : *names) {
    auto st = detach_pinned(link_dir + "/" + n);
    if (!st && first) first = st;
  }
  return first;
}

}  // namespace strand::agent
