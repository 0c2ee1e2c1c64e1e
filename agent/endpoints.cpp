#include "agent/endpoints.h"

#include <bpf/bpf.h>

#include <cstring>
#include <set>
#include <vector>

#include "common/log.h"
#include "common/rollback.h"
#include "netlink/ops.h"
#include "netlink/socket.h"
#include "strand_maps.h"

namespace strand::agent {
namespace {

Result<int> host_ifindex(const std::string& host_ifname) {
  auto s = netlink::Socket::open();
  if (!s) return std::unexpected(s.error());
  auto link = netlink::link_get(*s, host_ifname);
  if (!link) return std::unexpected(link.error());
  return link->index;
}

Status map_put(int map_fd, int ifindex, const strand_endpoint& ep) {
  __u32 key = static_cast<__u32>(ifindex);
  if (bpf_map_update_elem(map_fd, &key, &ep, BPF_ANY) != 0) {
    return fail_errno("bpf_map_update_elem endpoints", "ifindex " + std::to_string(ifindex));
  }
  return {};
}

Status map_delete(int map_fd, int ifindex) {
  __u32 key = static_cast<__u32>(ifindex);
  if (bpf_map_delete_elem(map_fd, &key) != 0 && errno != ENOENT) {
    return fail_errno("bpf_map_delete_elem endpoints", "ifindex " + std::to_string(ifindex));
  }
  return {};
}

// The per-CPU ep_stats entry of an endpoint that ended, through its pin.
Status ep_stats_delete(const std::string& map_pin_dir, int ifindex) {
  const std::string path = map_pin_dir + "/" STRAND_MAP_EP_STATS;
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd) return fail_errno("bpf_obj_get", path);
  __u32 key = static_cast<__u32>(ifindex);
  if (bpf_map_delete_elem(fd.get(), &key) != 0 && errno != ENOENT) {
    return fail_errno("bpf_map_delete_elem ep_stats", "ifindex " + std::to_string(ifindex));
  }
  return {};
}

nlohmann::json reply(const Status& st) {
  if (st) return {{"ok", true}};
  return {{"ok", false}, {"error", st.error().message()}};
}

}  // namespace

Status Endpoints::add(const EndpointRecord& rec) {
  std::lock_guard lock(mu_);
  if (rec.container_id.empty() || rec.ifname.empty() || rec.host_ifname.empty()) {
    return fail("add", EINVAL, "record needs containerID, ifname and hostIfname");
  }
  auto ifindex = host_ifindex(rec.host_ifname);
  if (!ifindex) return std::unexpected(with_context(ifindex.error(), "host veth " + rec.host_ifname));
  Rollback undo;
  // Policy first, then the entry that makes the programs enforce it, then
  // the programs: no packet of the pod passes unjudged.
  strand_endpoint entry{};
  entry.ep_id = static_cast<__u32>(*ifindex);  // ifindexes are unique on the node and never 0
  if (policy_ != nullptr) {
    auto e = policy_->admit(rec, entry.ep_id);
    if (!e) return std::unexpected(with_context(e.error(), "policy of " + rec.pod_namespace + "/" + rec.pod_name));
    entry = *e;
    undo.add("forget policy", [&] { policy_->forget(static_cast<uint32_t>(*ifindex)); });
  }
  if (auto st = map_put(dp_.endpoints_fd(), *ifindex, entry); !st) return st;
  undo.add("delete entry", [&] { (void)map_delete(dp_.endpoints_fd(), *ifindex); });
  if (auto st = attacher_.attach(dp_, *ifindex, rec.host_ifname); !st) return st;
  undo.commit();
  EndpointRecord r = rec;
  r.host_ifindex = *ifindex;
  known_[{rec.container_id, rec.ifname}] = r;
  log::info("endpoint attached", {{"container", rec.container_id},
                                  {"ifname", rec.ifname},
                                  {"host_if", rec.host_ifname},
                                  {"ifindex", std::to_string(*ifindex)},
                                  {"mode", attach_mode_name(attacher_.mode())}});
  return {};
}

Result<std::optional<EndpointRecord>> Endpoints::find(const std::string& container_id, const std::string& ifname) {
  std::lock_guard lock(mu_);
  if (auto it = known_.find({container_id, ifname}); it != known_.end()) return std::optional{it->second};
  return store_.read(container_id, ifname);
}

Status Endpoints::del(const std::string& container_id, const std::string& ifname) {
  std::lock_guard lock(mu_);
  auto rec = find(container_id, ifname);
  if (!rec) return std::unexpected(rec.error());
  if (!*rec) return {};  // never attached, or already deleted
  const auto& r = **rec;
  // The device may be gone with its netns: then only the pins and the entry remain.
  auto ifindex = host_ifindex(r.host_ifname);
  const int index = ifindex ? *ifindex : 0;
  if (auto st = attacher_.detach(index, r.host_ifname); !st) return st;
  for (int i : {index, r.host_ifindex}) {
    if (i == 0) continue;
    if (auto st = map_delete(dp_.endpoints_fd(), i); !st) return st;
    if (policy_ != nullptr) policy_->forget(static_cast<uint32_t>(i));
  }
  known_.erase({container_id, ifname});
  log::info("endpoint detached", {{"container", container_id}, {"ifname", ifname}, {"host_if", r.host_ifname}});
  return {};
}

Result<bool> Endpoints::check(const std::string& container_id, const std::string& ifname) {
  std::lock_guard lock(mu_);
  auto rec = find(container_id, ifname);
  if (!rec) return std::unexpected(rec.error());
  if (!*rec) return false;
  auto ifindex = host_ifindex((*rec)->host_ifname);
  if (!ifindex) return false;
  auto a = attacher_.attached(*ifindex, (*rec)->host_ifname);
  if (!a || !*a) return a;
  __u32 key = static_cast<__u32>(*ifindex);
  strand_endpoint ep{};
  return bpf_map_lookup_elem(dp_.endpoints_fd(), &key, &ep) == 0 && ep.ep_id != 0;
}

int Endpoints::restore() {
  std::lock_guard lock(mu_);
  std::vector<std::string> bad;
  auto recs = store_.list(&bad);
  for (const auto& b : bad) log::warn("endpoint record unreadable", {{"file", b}});
  if (!recs) {
    log::error("endpoint records not listed", {{"dir", store_.dir()}, {"error", recs.error().message()}});
    return 0;
  }
  // Policy learns every endpoint to restore before the first is admitted:
  // its first sync then takes the earlier agent's entries to the policy of
  // all of them in one make-before-break change. One at a time, the
  // endpoints not yet admitted would keep entries that name peers by the
  // earlier agent's identity numbers while the ipcache already gives the
  // peers this agent's.
  std::vector<std::pair<EndpointRecord, uint32_t>> restoring;
  for (const auto& r : *recs) {
    if (r.state != "ready") continue;
    if (auto ifindex = host_ifindex(r.host_ifname)) restoring.emplace_back(r, static_cast<uint32_t>(*ifindex));
  }
  if (policy_ != nullptr) policy_->restoring(restoring);
  int n = 0;
  std::set<std::string> keep;
  for (const auto& r : *recs) {
    keep.insert(r.host_ifname);  // pending ones too: their ADD may still be running
    if (r.state != "ready") continue;
    if (auto st = add(r); !st) {
      log::warn("endpoint not restored", {{"container", r.container_id}, {"ifname", r.ifname},
                                          {"error", st.error().message()}});
      continue;
    }
    ++n;
  }
  // Endpoints deleted while the agent was down: their links and map entries.
  if (auto pruned = attacher_.prune(keep); !pruned) {
    log::warn("stale links not removed", {{"error", pruned.error().message()}});
  } else if (*pruned > 0) {
    log::info("stale links removed", {{"links", std::to_string(*pruned)}});
  }
  std::set<__u32> live;
  for (const auto& [k, r] : known_) live.insert(static_cast<__u32>(r.host_ifindex));
  if (policy_ != nullptr) {
    for (const auto& [r, ep_id] : restoring) {
      if (!live.contains(ep_id)) policy_->forget(ep_id);
    }
  }
  std::vector<__u32> stale;
  __u32 key = 0, next = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(dp_.endpoints_fd(), prev, &next) == 0) {
    if (!live.contains(next)) stale.push_back(next);
    key = next;
    prev = &key;
  }
  for (__u32 k : stale) (void)map_delete(dp_.endpoints_fd(), static_cast<int>(k));
  log::info("endpoints restored", {{"attached", std::to_string(n)}, {"records", std::to_string(recs->size())}});
  return n;
}

std::vector<EndpointRecord> Endpoints::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<EndpointRecord> out;
  out.reserve(known_.size());
  for (const auto& [k, r] : known_) out.push_back(r);
  return out;
}

std::optional<EndpointRecord> Endpoints::by_ifindex(int ifindex) const {
  std::lock_guard lock(mu_);
  for (const auto& [k, r] : known_) {
    if (r.host_ifindex == ifindex) return r;
  }
  return std::nullopt;
}

strand_endpoint Endpoints::entry_for(int ifindex) const {
  if (policy_ != nullptr) return policy_->entry(static_cast<uint32_t>(ifindex));
  strand_endpoint ep{};
  ep.ep_id = static_cast<__u32>(ifindex);
  return ep;
}

Result<bool> Endpoints::ensure_attached(const std::string& container_id, const std::string& ifname) {
  std::lock_guard lock(mu_);
  auto it = known_.find({container_id, ifname});
  if (it == known_.end()) return false;
  const EndpointRecord& r = it->second;
  auto a = attacher_.attached(r.host_ifindex, r.host_ifname);
  if (!a) return std::unexpected(a.error());
  __u32 key = static_cast<__u32>(r.host_ifindex);
  strand_endpoint ep{};
  const bool entry = bpf_map_lookup_elem(dp_.endpoints_fd(), &key, &ep) == 0 && ep.ep_id != 0;
  if (*a && entry) return false;
  if (!*a) {
    if (auto st = attacher_.attach(dp_, r.host_ifindex, r.host_ifname); !st) return std::unexpected(st.error());
  }
  if (auto st = map_put(dp_.endpoints_fd(), r.host_ifindex, entry_for(r.host_ifindex)); !st) {
    return std::unexpected(st.error());
  }
  return true;
}

Result<bool> Endpoints::end_vanished(const std::string& container_id, const std::string& ifname, int ifindex) {
  std::lock_guard lock(mu_);
  auto it = known_.find({container_id, ifname});
  if (it == known_.end() || it->second.host_ifindex != ifindex) return false;
  const EndpointRecord r = it->second;
  if (auto st = attacher_.detach(0, r.host_ifname); !st) return std::unexpected(st.error());
  if (auto st = map_delete(dp_.endpoints_fd(), ifindex); !st) return std::unexpected(st.error());
  if (policy_ != nullptr) policy_->forget(static_cast<uint32_t>(ifindex));
  if (auto st = ep_stats_delete(dp_.map_pin_dir(), ifindex); !st) return std::unexpected(st.error());
  known_.erase(it);
  return true;
}

bool Endpoints::is_current(const std::string& container_id, const std::string& ifname, int ifindex) const {
  std::lock_guard lock(mu_);
  auto it = known_.find({container_id, ifname});
  return it != known_.end() && it->second.host_ifindex == ifindex;
}

nlohmann::json Endpoints::handle(const std::string& line) { return handle(nlohmann::json::parse(line, nullptr, false)); }

nlohmann::json Endpoints::handle(const nlohmann::json& req) {
  if (!req.is_object() || !req.contains("op") || !req["op"].is_string()) {
    return {{"ok", false}, {"error", "request is not a JSON object with an op"}};
  }
  const std::string op = req["op"];
  if (op == "status") return {{"ok", true}};
  if (op == "repairs") {
    nlohmann::json counts = nlohmann::json::object();
    if (repairs_) {
      for (const auto& [kind, n] : repairs_->snapshot()) counts[kind] = n;
    }
    return {{"ok", true}, {"repairs", counts}};
  }
  if (op == "add") {
    if (!req.contains("endpoint")) return {{"ok", false}, {"error", "add without endpoint"}};
    auto rec = decode_endpoint_record(req["endpoint"].dump());
    if (!rec) return {{"ok", false}, {"error", rec.error().message()}};
    auto st = add(*rec);
    if (!st) log::error("endpoint not attached", {{"container", rec->container_id}, {"error", st.error().message()}});
    return reply(st);
  }
  if (op == "del" || op == "check") {
    const std::string id = req.value("containerID", "");
    const std::string ifname = req.value("ifname", "");
    if (id.empty() || ifname.empty()) return {{"ok", false}, {"error", op + " needs containerID and ifname"}};
    if (op == "del") {
      auto st = del(id, ifname);
      if (!st) log::error("endpoint not detached", {{"container", id}, {"error", st.error().message()}});
      auto r = reply(st);
      if (st && req.value("reap", false) && reap_) {
        reap_();
        r["reaping"] = true;
      }
      return r;
    }
    auto a = check(id, ifname);
    if (!a) return {{"ok", false}, {"error", a.error().message()}};
    if (!*a) return {{"ok", false}, {"error", "datapath not attached to " + id + "/" + ifname}};
    return {{"ok", true}};
  }
  return {{"ok", false}, {"error", "unknown op " + op}};
}

Status detach_recorded_tc(const std::string& state_dir) {
  auto recs = EndpointStore(state_dir).list();
  if (!recs) return std::unexpected(recs.error());
  Attacher tc(AttachMode::kTc, {});
  Status first;
  for (const auto& r : *recs) {
    if (r.host_ifname.empty()) continue;
    auto ifindex = host_ifindex(r.host_ifname);
    if (!ifindex) continue;  // gone with its pod
    auto st = tc.detach(*ifindex, r.host_ifname);
    if (!st && first) first = st;
  }
  return first;
}

}  // namespace strand::agent
