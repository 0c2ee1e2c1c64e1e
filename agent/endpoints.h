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

  // Called for a "del" that hands over its retired veth ("reap": true); the
  // reply then says "reaping": true. Unset: the CNI deletes the veth itself.
  void set_reap(std::function<void()> kick) { reap_ = std::move(kick); }

  // One request line in, one reply object out.
  [[nodiscard]] nlohmann::json handle(const std::string& line);

 private:
  // Where an attachment lives: from add, or from its record after a restart.
  [[nodiscard]] Result<std::optional<EndpointRecord>> find(const std::string& container_id, const std::string& ifname);

  mutable std::recursive_mutex mu_;  // guards known_ and the kernel changes made for it
  std::function<void()> reap_;
  Datapath& dp_;
  Attacher& attacher_;
  EndpointStore store_;
  std::map<std::pair<std::string, std::string>, EndpointRecord> known_;  // (container, ifname)
};

// Removes the clsact filters of the host veths of every record in `state_dir`
// (tc mode keeps no pins; for --cleanup). Missing devices are skipped.
[[nodiscard]] Status detach_recorded_tc(const std::string& state_dir);

}  // namespace strand::agent
