// GC: every endpoint of this network whose attachment is not in
// cni.dev/valid-attachments is released like a DEL (agent, veth, addresses,
// record), retired veths nobody deleted go, the temporary files of killed writers go, then the IPAM collects
// what it holds beyond that. Carries on past errors and reports the first.
#include <algorithm>

#include "cni/ipam/ipam.h"
#include "cni/error_json.h"
#include "cni/plugin.h"
#include "cni/release.h"
#include "common/endpoint_record.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/retired_links.h"
#include "netlink/ops.h"

namespace strand::cni {

CniStatus cmd_gc(const Env& env, const NetConf& conf) {
  std::vector<Attachment> valid = conf.valid_attachments;
  std::sort(valid.begin(), valid.end());
  auto host = netlink::Socket::open();
  if (!host) return std::unexpected(to_cni_error(host.error(), "open netlink socket"));
  auto ipam = ipam::make_ipam(conf.raw);
  if (!ipam) return std::unexpected(ipam.error());

  std::optional<CniError> first;
  EndpointStore store(conf.state_dir);
  auto records = store.list();
  if (!records) {
    first = to_cni_error(records.error(), "list endpoint records");
  } else {
    for (const auto& rec : *records) {
      if (!rec.network.empty() && rec.network != conf.name) continue;
      Attachment a{rec.container_id, rec.ifname};
      if (std::binary_search(valid.begin(), valid.end(), a)) continue;
      ipam::Request req{rec.container_id, rec.ifname, rec.netns, "", env.path_raw, conf.raw};
      if (auto st = release_attachment(conf, *host, **ipam, req); !st) {
        log::warn("gc release failed", {{"container", rec.container_id}, {"ifname", rec.ifname}, {"error", st.error().msg}});
        if (!first) first = st.error();
        continue;
      }
      log::info("gc released", {{"container", rec.container_id}, {"ifname", rec.ifname}});
    }
  }
  // Retired veths no agent deleted (it was down, or killed mid-way).
  if (auto st = netlink::link_del_group(*host, kRetiredLinkGroup); !st) {
    log::warn("gc could not delete retired links", {{"error", st.error().message()}});
    if (!first) first = to_cni_error(st.error(), "delete retired links");
  }
  // Records a killed ADD was still writing (<record>.tmp.<pid>): DEL removes
  // those of its own attachment; these are the ones no DEL came for.
  if (auto st = remove_dead_temporaries(conf.state_dir); !st) {
    log::warn("gc could not remove temporary files", {{"error", st.error().message()}});
    if (!first) first = to_cni_error(st.error(), "remove temporary files in " + conf.state_dir);
  }
  ipam::Request req{"", "", "", "", env.path_raw, conf.raw};
  if (auto st = (*ipam)->gc(req, conf.valid_attachments); !st && !first) first = st.error();
  if (first) return std::unexpected(*first);
  return {};
}

}  // namespace strand::cni
