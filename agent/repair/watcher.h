#pragma once
// The netlink repair watcher: a thread that keeps what the CNI and the agent
// put in the kernel for every attached endpoint in place.
//
// It listens to RTNLGRP_LINK, NEIGH, IPV4_ROUTE, IPV6_ROUTE and TC in the node
// netns and to RTNLGRP_NEIGH in each pod's netns (events reach only sockets of
// their own netns). A notification only says which endpoint to look at
// (events.h); the endpoint is then checked in full (observe.h) and the
// difference planned (plan.h) and applied here. Every `period` all endpoints
// are checked, and at once when the kernel dropped events (ENOBUFS). Each
// repair is logged and counted in RepairCounts by kind.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "agent/endpoints.h"
#include "agent/repair_counts.h"
#include "common/error.h"
#include "netlink/socket.h"

namespace strand::agent::repair {

class Watcher {
 public:
  Watcher(Endpoints& endpoints, RepairCounts& counts, std::chrono::milliseconds period)
      : endpoints_(endpoints), counts_(counts), period_(period) {}
  ~Watcher() { join(); }
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Opens the node netns sockets (the calling thread's netns) and starts the
  // thread; it runs until `stop` is set.
  [[nodiscard]] Status start(const std::atomic<bool>& stop);
  void join();

 private:
  using Key = std::pair<std::string, std::string>;  // (container id, ifname)
  struct PodSockets {
    int pod_ifindex = 0;
    std::string netns;
    netlink::Socket events;
    netlink::Socket requests;
  };

  void run(const std::atomic<bool>& stop);
  // Subscribes to each attached endpoint's pod netns and drops the sockets of
  // endpoints that ended; endpoints newly subscribed are added to `check`.
  void refresh_pods(std::set<Key>& check);
  // Drains the event sockets into the endpoints to check; true on ENOBUFS.
  bool drain_node(std::set<int>& host_ifindexes, std::string& why);
  void drain_pods(std::set<Key>& check, std::map<Key, std::string>& why);
  // Checks and repairs one endpoint; `trigger` says why it is looked at.
  void reconcile(const EndpointRecord& rec, const std::string& trigger);

  Endpoints& endpoints_;
  RepairCounts& counts_;
  std::chrono::milliseconds period_;
  std::unique_ptr<netlink::Socket> node_events_;
  std::unique_ptr<netlink::Socket> node_requests_;
  std::map<Key, PodSockets> pods_;
  std::thread thread_;
};

}  // namespace strand::agent::repair
