#pragma once
// HostIpam: strand-ipam, the in-process address manager. Host-local's
// configuration (cni/ipam/host_conf.h) and on-disk layout (cni/ipam/store.h),
// so a node can switch between the two by changing "type" alone.
//
// Every verb reads its configuration from the request, so one instance serves
// any network; instances share nothing in memory. Changes run under the
// network directory's flock, which serialises separate processes (and
// separate instances in one process) as well as host-local.
//
//   add     one address per range set, round robin after the set's last one;
//           the same attachment gets its existing addresses back.
//   del     releases the attachment's addresses; success when it has none.
//   check   code 3 when the attachment holds no address.
//   gc      releases every address whose holder is not in `valid`.
//   status  code 50 when a range set has no free address.
// An attachment strand allocated has an index, so ADD and DEL read only its own
// files; DEL and CHECK of one without an index (host-local allocated it, or it
// is gone) read every address file.
// Configuration errors are code 7, bad CNI_CONTAINERID/CNI_IFNAME code 4, file
// system errors code 5, an exhausted range set on ADD code 11.
#include "cni/ipam/ipam.h"

namespace strand::cni::ipam {

class HostIpam final : public Ipam {
 public:
  [[nodiscard]] CniResult<Result> add(const Request& req) override;
  [[nodiscard]] CniStatus del(const Request& req) override;
  [[nodiscard]] CniStatus check(const Request& req) override;
  [[nodiscard]] CniStatus gc(const Request& req, const std::vector<Attachment>& valid) override;
  [[nodiscard]] CniStatus status(const Request& req) override;
};

}  // namespace strand::cni::ipam
