#pragma once
// What Endpoints asks of NetworkPolicy enforcement (agent/enforce/), so an
// endpoint's datapath entry is never written before its policy is in place:
// the CNI handshake returns only after admit(), so the pod's very first
// packet is already judged by its policy.
#include <cstdint>
#include <utility>
#include <vector>

#include "common/endpoint_record.h"
#include "common/error.h"
#include "datapath/bpf/include/strand_maps.h"

namespace strand::agent {

class EndpointPolicy {
 public:
  virtual ~EndpointPolicy() = default;
  // The endpoints an agent start is about to restore (record, host
  // ifindex), before the first of them is admitted: the first sync then
  // takes what is pinned to the policy of all of them in one change. The
  // caller forget()s those it could not restore.
  virtual void restoring(const std::vector<std::pair<EndpointRecord, uint32_t>>& eps) = 0;
  // A new (or restored) endpoint `rec` on host ifindex ep_id: puts its
  // policy entries and the ipcache entries of its addresses in place and
  // returns the endpoints map value to write for it.
  [[nodiscard]] virtual Result<strand_endpoint> admit(const EndpointRecord& rec, uint32_t ep_id) = 0;
  // The endpoint is gone (its endpoints map entry already deleted).
  virtual void forget(uint32_t ep_id) = 0;
  // The value its endpoints map entry must hold now (for repairs).
  [[nodiscard]] virtual strand_endpoint entry(uint32_t ep_id) const = 0;
};

}  // namespace strand::agent
