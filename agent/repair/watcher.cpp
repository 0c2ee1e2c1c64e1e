#include "agent/repair/watcher.h"

#include <linux/rtnetlink.h>
#include <poll.h>

#include <algorithm>
#include <vector>

#include "agent/repair/events.h"
#include "agent/repair/observe.h"
#include "agent/repair/plan.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/netns.h"
#include "netlink/ops.h"

namespace strand::agent::repair {
namespace {

constexpr unsigned kNodeGroups[] = {RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_TC};
constexpr unsigned kPodGroups[] = {RTNLGRP_NEIGH};
// How often the loop looks at the stop flag and new endpoints at the latest.
constexpr std::chrono::milliseconds kTick{200};
// After the first event, how long the loop lets the rest of its burst arrive
// before it looks. One ADD or DEL makes several notifications (link, address,
// route, neighbour, tc); checking after each one raced the CNI verb for the
// node's CPUs and made a pod ADD with the agent ~1 ms slower on 2 CPUs. A
// repair is at most this much later.
constexpr std::chrono::milliseconds kSettle{50};

std::string pod_of(const EndpointRecord& r) {
  if (r.pod_name.empty()) return r.container_id;
  return r.pod_namespace + "/" + r.pod_name;
}

}  // namespace

Status Watcher::start(const std::atomic<bool>& stop) {
  auto ev = netlink::Socket::open(kNodeGroups);
  if (!ev) return std::unexpected(with_context(ev.error(), "node event socket"));
  auto rq = netlink::Socket::open();
  if (!rq) return std::unexpected(rq.error());
  node_events_ = std::make_unique<netlink::Socket>(std::move(*ev));
  node_requests_ = std::make_unique<netlink::Socket>(std::move(*rq));
  thread_ = std::thread([this, &stop] { run(stop); });
  log::info("repair watcher started", {{"period_ms", std::to_string(period_.count())}});
  return {};
}

void Watcher::join() {
  if (thread_.joinable()) thread_.join();
}

void Watcher::refresh_pods(std::set<Key>& check) {
  auto eps = endpoints_.snapshot();
  std::set<Key> live;
  for (const auto& r : eps) {
    Key k{r.container_id, r.ifname};
    live.insert(k);
    auto it = pods_.find(k);
    if (it != pods_.end() && it->second.pod_ifindex == r.pod_ifindex && it->second.netns == r.netns) continue;
    if (it != pods_.end()) pods_.erase(it);
    if (r.netns.empty() || r.pod_ifindex <= 0) continue;
    auto ns = Netns::open(r.netns);
    if (!ns) continue;  // the pod netns is gone: its veth (and the endpoint) goes with it
    auto ev = netlink::Socket::open_in(*ns, kPodGroups);
    if (!ev) {
      log::warn("pod netns not watched", {{"pod", pod_of(r)}, {"netns", r.netns}, {"error", ev.error().message()}});
      continue;
    }
    auto rq = netlink::Socket::open_in(*ns);
    if (!rq) {
      log::warn("pod netns not watched", {{"pod", pod_of(r)}, {"netns", r.netns}, {"error", rq.error().message()}});
      continue;
    }
    pods_.emplace(k, PodSockets{r.pod_ifindex, r.netns, std::move(*ev), std::move(*rq)});
    check.insert(k);  // whatever changed before the subscription
  }
  std::erase_if(pods_, [&](const auto& kv) { return !live.contains(kv.first); });
}

bool Watcher::drain_node(std::set<int>& host_ifindexes, std::string& why) {
  auto msgs = node_events_->receive();
  if (!msgs) {
    log::warn("netlink events lost, full reconcile", {{"netns", "node"}, {"error", msgs.error().message()}});
    return true;
  }
  for (const auto& m : *msgs) {
    if (auto t = node_event(m)) {
      host_ifindexes.insert(t->ifindex);
      if (why.size() < 200) why += (why.empty() ? "" : ",") + t->what;
    }
  }
  return false;
}

void Watcher::drain_pods(std::set<Key>& check, std::map<Key, std::string>& why) {
  for (auto& [k, p] : pods_) {
    auto msgs = p.events.receive();
    if (!msgs) {
      log::warn("netlink events lost, full check", {{"netns", p.netns}, {"error", msgs.error().message()}});
      check.insert(k);
      why[k] = "events lost";
      continue;
    }
    for (const auto& m : *msgs) {
      auto t = pod_event(m);
      if (!t || t->ifindex != p.pod_ifindex) continue;
      check.insert(k);
      why[k] = t->what + " in pod";
    }
  }
}

void Watcher::run(const std::atomic<bool>& stop) {
  using Clock = std::chrono::steady_clock;
  auto next_full = Clock::now();  // once at start: what changed while the agent was down
  while (!stop.load()) {
    std::set<Key> pod_check;
    std::map<Key, std::string> pod_why;
    refresh_pods(pod_check);
    for (const auto& k : pod_check) pod_why[k] = "subscribed";

    std::vector<pollfd> fds;
    fds.push_back({node_events_->fd(), POLLIN, 0});
    for (const auto& [k, p] : pods_) fds.push_back({p.events.fd(), POLLIN, 0});
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_full - Clock::now());
    wait = std::clamp(wait, std::chrono::milliseconds(0), kTick);
    // Newly attached endpoints, or the first event of a burst: let the CNI
    // verb that caused them finish before looking.
    bool woke = !pod_check.empty();
    if (!woke) woke = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count())) > 0;
    if (woke) std::this_thread::sleep_for(kSettle);
    if (stop.load()) break;

    std::set<int> host_ifs;
    std::string node_why;
    const bool lost = drain_node(host_ifs, node_why);
    drain_pods(pod_check, pod_why);

    std::string full;
    if (lost) {
      full = "events lost";
    } else if (Clock::now() >= next_full) {
      full = "periodic";
    }
    if (!full.empty()) next_full = Clock::now() + period_;
    if (full.empty() && host_ifs.empty() && pod_check.empty()) continue;

    for (const auto& rec : endpoints_.snapshot()) {
      Key k{rec.container_id, rec.ifname};
      std::string trigger = full;
      if (trigger.empty() && host_ifs.contains(rec.host_ifindex)) trigger = node_why;
      if (trigger.empty() && pod_check.contains(k)) trigger = pod_why[k];
      if (trigger.empty()) continue;
      reconcile(rec, trigger);
    }
  }
  log::info("repair watcher stopped");
}

void Watcher::reconcile(const EndpointRecord& rec, const std::string& trigger) {
  const int64_t t0 = mono_us();
  Key k{rec.container_id, rec.ifname};
  auto pit = pods_.find(k);
  netlink::Socket* pod = pit != pods_.end() && pit->second.pod_ifindex == rec.pod_ifindex ? &pit->second.requests : nullptr;
  auto seen = observe(rec, *node_requests_, pod);
  if (!seen) {
    log::warn("endpoint not checked", {{"pod", pod_of(rec)}, {"host_if", rec.host_ifname}, {"error", seen.error().message()}});
    return;
  }
  if (seen->host_link) {
    auto a = endpoints_.check(rec.container_id, rec.ifname);
    if (a) seen->attached = *a;
  }
  for (const auto& r : plan(rec, *seen)) {
    Result<bool> done = false;
    switch (r.kind) {
      case Kind::kEndpointGone:
        done = endpoints_.end_vanished(rec.container_id, rec.ifname, rec.host_ifindex);
        break;
      case Kind::kReattach:
        done = endpoints_.ensure_attached(rec.container_id, rec.ifname);
        break;
      case Kind::kHostRoute:
      case Kind::kHostNeighbour:
      case Kind::kPodNeighbour: {
        if (!endpoints_.is_current(rec.container_id, rec.ifname, rec.host_ifindex)) break;  // DELeted meanwhile
        Status st;
        if (r.kind == Kind::kHostRoute) {
          st = netlink::route_add(*node_requests_, *r.route, true);
        } else if (r.kind == Kind::kHostNeighbour) {
          st = netlink::neigh_add(*node_requests_, *r.neigh, true);
        } else if (pod) {
          st = netlink::neigh_add(*pod, *r.neigh, true);
        } else {
          break;
        }
        done = st ? Result<bool>(true) : Result<bool>(std::unexpected(st.error()));
        break;
      }
    }
    if (!done) {
      log::warn("repair failed", {{"kind", kind_name(r.kind)}, {"pod", pod_of(rec)}, {"what", r.what},
                                  {"why", r.why}, {"error", done.error().message()}});
      continue;
    }
    if (!*done) continue;
    counts_.add(kind_name(r.kind));
    log::info("repaired", {{"kind", kind_name(r.kind)},
                           {"pod", pod_of(rec)},
                           {"container", rec.container_id},
                           {"what", r.what},
                           {"why", r.why},
                           {"trigger", trigger},
                           {"us", std::to_string(mono_us() - t0)}});
  }
}

}  // namespace strand::agent::repair
