#pragma once
// Endpoints: the agent's side of the CNI handshake. "add" attaches the pod
// programs to the record's host veth and fills the endpoints map; "del" undoes
// it; "check" says whether it is in place. At start every "ready" record of the
// state dir is brought back to attached.
// Thread-safe: the CNI socket, the HTTP server and the netlink watcher all use it.
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/datapath/attach.h"
#include "agent/datapath/loader.h"
#include "agent/endpoint_policy.h"
#include "agent/repair_counts.h"
#include "common/endpoint_record.h"
#include "common/error.h"

namespace strand::agent {

class Endpoints {
 public:
  Endpoints(Datapath& dp, Attacher& attacher, std::string state_dir)
      : dp_(dp), attacher_(attacher), store_(std::move(state_dir)) {}

  [[nodiscard]] Status add(const EndpointRecord& rec);
  [[nodiscard]] Status del(const std::string& container_id, const std::string& ifname);
  [[nodiscard]] Result<bool> check(const std::string& container_id, const std::string& ifname);
  // Attaches every "ready" record; returns how many are attached (errors are logged).
  int restore();

  // The attached endpoints (records with host_ifindex filled), a copy.
  [[nodiscard]] std::vector<EndpointRecord> snapshot() const;
  // The attached endpoint whose host veth has `ifindex`, if any.
  [[nodiscard]] std::optional<EndpointRecord> by_ifindex(int ifindex) const;

  // For the netlink watcher (agent/repair/). Each acts only on an endpoint
  // still attached (not DELeted meanwhile), under the same lock as add/del.
  // Puts the datapath back when a hook or the endpoints entry is missing;
  // true when it had to.
  [[nodiscard]] Result<bool> ensure_attached(const std::string& container_id, const std::string& ifname);
  // The endpoint's host veth (ifindex) vanished: unpins its links, deletes its
  // endpoints and ep_stats entries and forgets it (the record stays: it is the
  // CNI's). True when it ended one.
  [[nodiscard]] Result<bool> end_vanished(const std::string& container_id, const std::string& ifname, int ifindex);
  // Whether (container_id, ifname) is attached with this host ifindex.
  [[nodiscard]] bool is_current(const std::string& container_id, const std::string& ifname, int ifindex) const;

  // Answers {"op":"repairs"} with {"ok":true,"repairs":{kind:n}} from `counts`.
  void set_repair_counts(const RepairCounts* counts) { repairs_ = counts; }

  // NetworkPolicy enforcement, consulted before an endpoint's entry is
  // written. Unset: entries carry no identity and no enforcement flags.
  void set_policy(EndpointPolicy* policy) { policy_ = policy; }

  // Called for a "del" that hands over its retired veth ("reap": true); the
  // reply then says "reaping": true. Unset: the CNI deletes the veth itself.
  void set_reap(std::function<void()> kick) { reap_ = std::move(kick); }

  // One request line in, one reply object out.
  [[nodiscard]] nlohmann::json handle(const std::string& line);
  // The same for a request already parsed (a verb the agent runs calls it
  // in process: common/agent_client.h's LocalAgent).
  [[nodiscard]] nlohmann::json handle(const nlohmann::json& req);

 private:
  // The endpoints map value for host ifindex `ifindex` as policy wants it now.
  [[nodiscard]] strand_endpoint entry_for(int ifindex) const;
  // Where an attachment lives: from add, or from its record after a restart.
  [[nodiscard]] Result<std::optional<EndpointRecord>> find(const std::string& container_id, const std::string& ifname);

  mutable std::recursive_mutex mu_;  // guards known_ and the kernel changes made for it
  std::function<void()> reap_;
  Datapath& dp_;
  Attacher& attacher_;
  EndpointStore store_;
  std::map<std::pair<std::string, std::string>, EndpointRecord> known_;  // (container, ifname)
  const RepairCounts* repairs_ = nullptr;
  EndpointPolicy* policy_ = nullptr;
};

// Removes the clsact filters of the host veths of every record in `state_dir`
// (tc mode keeps no pins; for --cleanup). Missing devices are skipped.
[[nodiscard]] Status detach_recorded_tc(const std::string& state_dir);

}  // namespace strand::agent
