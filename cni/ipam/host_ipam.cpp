#include "cni/ipam/host_ipam.h"

#include <set>
#include <utility>

#include "cni/ipam/allocator.h"
#include "cni/ipam/host_conf.h"
#include "cni/ipam/resolv_conf.h"
#include "cni/ipam/store.h"
#include "common/log.h"
#include "common/rollback.h"

namespace strand::cni::ipam {
namespace {

constexpr size_t kNoSet = static_cast<size_t>(-1);

std::unexpected<CniError> io_fail(const std::string& what, const Error& e) {
  return cni_fail(Code::kIoFailure, "strand-ipam: " + what, e.message());
}

// The container id and ifname name files, so they must be usable as names and
// must not break the address file's two-line format.
CniStatus check_attachment(const Attachment& a) {
  auto plain = [](const std::string& s, bool allow_colon) {
    if (s.empty() || s == "." || s == "..") return false;
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      if (c == '/' || u <= ' ' || u == 0x7f || (c == ':' && !allow_colon)) return false;
    }
    return true;
  };
  if (!plain(a.container_id, true) || a.container_id.size() > 200) {
    return cni_fail(Code::kInvalidEnv, "CNI_CONTAINERID '" + a.container_id + "' is not a usable container id");
  }
  if (!plain(a.ifname, false) || a.ifname.size() > 15) {
    return cni_fail(Code::kInvalidEnv, "CNI_IFNAME '" + a.ifname + "' is not a valid interface name");
  }
  return {};
}

struct Call {
  HostIpamConf conf;
  Attachment who;
};

CniResult<Call> prepare(const Request& req) {
  auto conf = parse_host_ipam_conf(req.netconf);
  if (!conf) return std::unexpected(conf.error());
  Attachment who{req.container_id, req.ifname};
  if (auto ok = check_attachment(who); !ok) return std::unexpected(ok.error());
  return Call{std::move(*conf), std::move(who)};
}

size_t set_of(const HostIpamConf& conf, const IpAddr& ip) {
  for (size_t i = 0; i < conf.range_sets.size(); ++i) {
    if (range_for(conf.range_sets[i], ip) != nullptr) return i;
  }
  return kNoSet;
}

std::string describe_set(const HostIpamConf& conf, size_t i) {
  return "range set " + std::to_string(i) + " (" + range_set_str(conf.range_sets[i]) + ") of network " + conf.network;
}

std::string describe(const Attachment& a) { return "container " + a.container_id + " ifname " + a.ifname; }

// Probing address files one by one is cheapest while free addresses come
// soon (round robin usually lands on one at once); past this many taken ones
// (a dense range after wrapping) one directory listing answers the rest.
constexpr int kProbesBeforeListing = 8;

strand::Result<std::optional<IpAddr>> free_address(Store& store, const HostIpamConf& conf, size_t set) {
  int probes = 0;
  std::optional<std::set<IpAddr>> listed;
  return find_free(conf.range_sets[set], store.last_reserved(set), [&](const IpAddr& ip) -> strand::Result<bool> {
    if (listed) return listed->contains(ip);
    if (++probes <= kProbesBeforeListing) return store.exists(ip);
    auto all = store.allocated();
    if (!all) return std::unexpected(all.error());
    listed.emplace(all->begin(), all->end());
    return listed->contains(ip);
  });
}

// The addresses `who` holds, one slot per range set, from its index or (no
// index: written by host-local or released) from every address file.
struct Holdings {
  std::vector<std::optional<IpAddr>> per_set;
  std::vector<IpAddr> elsewhere;  // held, but in no range set (or a second one in a set)
  bool index_exact = true;        // the index lists exactly per_set + elsewhere
  bool indexed = false;
};

strand::Result<Holdings> holdings(const Store& store, const HostIpamConf& conf, const Attachment& who,
                                  bool scan_without_index) {
  Holdings h;
  h.per_set.resize(conf.range_sets.size());
  auto place = [&](const IpAddr& ip) {
    size_t i = set_of(conf, ip);
    if (i == kNoSet || h.per_set[i]) {
      h.elsewhere.push_back(ip);
    } else {
      h.per_set[i] = ip;
    }
  };
  auto index = store.read_index(who);
  if (!index) return std::unexpected(index.error());
  if (*index) {
    h.indexed = true;
    for (const IpAddr& ip : **index) {
      auto owner = store.owner(ip);
      if (!owner) return std::unexpected(owner.error());
      if (*owner && (*owner)->holds(who)) {
        place(ip);
      } else {
        h.index_exact = false;  // a crash between index and address file
      }
    }
    return h;
  }
  if (scan_without_index) {
    auto all = store.reservations();
    if (!all) return std::unexpected(all.error());
    for (const auto& r : *all) {
      if (r.owner.holds(who)) place(r.ip);
    }
  }
  return h;
}

}  // namespace

CniResult<Result> HostIpam::add(const Request& req) {
  auto call = prepare(req);
  if (!call) return std::unexpected(call.error());
  const HostIpamConf& conf = call->conf;
  const Attachment& who = call->who;

  Result out;
  if (auto v = req.netconf.find("cniVersion"); v != req.netconf.end() && v->is_string()) out.cni_version = *v;
  if (!conf.resolv_conf.empty()) {
    auto dns = read_resolv_conf(conf.resolv_conf);
    if (!dns) return cni_fail(Code::kInvalidConfig, "ipam.resolvConf: cannot read " + conf.resolv_conf, dns.error().message());
    out.dns = std::move(*dns);
  }

  auto store = Store::open(conf.data_dir, conf.network, /*create=*/true);
  if (!store) return io_fail("cannot open the data directory", store.error());
  auto lock = store->lock();
  if (!lock) return io_fail("cannot lock the data directory", lock.error());

  auto held = holdings(*store, conf, who, /*scan_without_index=*/false);
  if (!held) return io_fail("cannot read the allocation of " + describe(who), held.error());

  // A failed ADD leaves the attachment holding nothing. Steps undo newest
  // first: the index goes after the addresses it lists.
  Rollback rollback;
  auto undo_release = [&store, &who](const IpAddr& ip) {
    return [&store, &who, ip] {
      if (auto r = store->release(ip, who); !r) log::warn("address release failed", {{"ip", ip.str()}, {"error", r.error().message()}});
    };
  };
  rollback.add("index", [&store, &who] {
    if (auto r = store->remove_index(who); !r) log::warn("index removal failed", {{"error", r.error().message()}});
  });
  for (const auto& ip : held->per_set) {
    if (ip) rollback.add("address " + ip->str(), undo_release(*ip));
  }
  // Addresses in no current range set (the configuration changed): let go.
  for (const IpAddr& ip : held->elsewhere) {
    if (auto r = store->release(ip, who); !r) return io_fail("cannot release " + ip.str(), r.error());
  }

  std::vector<std::pair<size_t, IpAddr>> picks;
  for (size_t i = 0; i < conf.range_sets.size(); ++i) {
    if (held->per_set[i]) continue;
    auto ip = free_address(*store, conf, i);
    if (!ip) return io_fail("cannot scan " + describe_set(conf, i), ip.error());
    if (!*ip) return cni_fail(Code::kTryAgainLater, "strand-ipam: no free address in " + describe_set(conf, i));
    held->per_set[i] = **ip;
    picks.emplace_back(i, **ip);
  }

  if (!picks.empty() || !held->elsewhere.empty() || !held->index_exact || !held->indexed) {
    std::vector<IpAddr> all;
    for (const auto& ip : held->per_set) all.push_back(*ip);
    // The index first: a crash from here on leaves addresses it lists.
    if (auto w = store->write_index(who, all); !w) return io_fail("cannot write the index of " + describe(who), w.error());
    for (const auto& [set, ip] : picks) {
      if (auto r = store->reserve(ip, who); !r) return io_fail("cannot reserve " + ip.str(), r.error());
      rollback.add("address " + ip.str(), undo_release(ip));
    }
    for (const auto& [set, ip] : picks) {
      // Only a round-robin hint: losing it costs nothing but fairness.
      if (auto w = store->set_last_reserved(set, ip); !w) log::warn("last reserved not saved", {{"error", w.error().message()}});
    }
  }
  rollback.commit();

  for (size_t i = 0; i < conf.range_sets.size(); ++i) {
    const IpAddr& ip = *held->per_set[i];
    const Range* r = range_for(conf.range_sets[i], ip);
    out.ips.push_back(IpConfig{IpPrefix{ip, r->subnet.len}, r->gateway, std::nullopt});
  }
  out.routes = conf.routes;
  return out;
}

CniStatus HostIpam::del(const Request& req) {
  auto call = prepare(req);
  if (!call) return std::unexpected(call.error());
  const HostIpamConf& conf = call->conf;
  const Attachment& who = call->who;

  auto store = Store::open(conf.data_dir, conf.network, /*create=*/false);
  if (!store && store.error().err == ENOENT) return {};  // nothing was ever allocated here
  if (!store) return io_fail("cannot open the data directory", store.error());
  auto lock = store->lock();
  if (!lock) return io_fail("cannot lock the data directory", lock.error());

  auto held = holdings(*store, conf, who, /*scan_without_index=*/true);
  if (!held) return io_fail("cannot read the allocation of " + describe(who), held.error());
  std::vector<IpAddr> ips = held->elsewhere;
  for (const auto& ip : held->per_set) {
    if (ip) ips.push_back(*ip);
  }
  // holdings() read each owner under this lock: no need to read it again. The
  // index goes last, once every address is gone, so a failed DEL can be retried.
  for (const IpAddr& ip : ips) {
    if (auto r = store->remove(ip); !r) return io_fail("cannot release " + ip.str(), r.error());
  }
  if (auto r = store->remove_index(who); !r) return io_fail("cannot remove the index of " + describe(who), r.error());
  return {};
}

CniStatus HostIpam::check(const Request& req) {
  auto call = prepare(req);
  if (!call) return std::unexpected(call.error());
  const HostIpamConf& conf = call->conf;
  const Attachment& who = call->who;

  auto none = [&] {
    return cni_fail(Code::kUnknownContainer, "strand-ipam: no address allocated to " + describe(who) + " in network " + conf.network);
  };
  auto store = Store::open(conf.data_dir, conf.network, /*create=*/false);
  if (!store && store.error().err == ENOENT) return none();
  if (!store) return io_fail("cannot open the data directory", store.error());
  auto lock = store->lock();
  if (!lock) return io_fail("cannot lock the data directory", lock.error());
  auto held = holdings(*store, conf, who, /*scan_without_index=*/true);
  if (!held) return io_fail("cannot read the allocation of " + describe(who), held.error());

  bool any = false;
  for (const auto& ip : held->per_set) any = any || ip.has_value();
  if (!any) return none();
  for (size_t i = 0; i < held->per_set.size(); ++i) {
    if (!held->per_set[i]) {
      return cni_fail(Code::kInternal, "strand-ipam: " + describe(who) + " holds no address of " + describe_set(conf, i));
    }
  }
  return {};
}

CniStatus HostIpam::gc(const Request& req, const std::vector<Attachment>& valid) {
  auto conf = parse_host_ipam_conf(req.netconf);
  if (!conf) return std::unexpected(conf.error());
  auto store = Store::open(conf->data_dir, conf->network, /*create=*/false);
  if (!store && store.error().err == ENOENT) return {};
  if (!store) return io_fail("cannot open the data directory", store.error());
  auto lock = store->lock();
  if (!lock) return io_fail("cannot lock the data directory", lock.error());

  const std::set<Attachment> keep(valid.begin(), valid.end());
  std::set<std::string> keep_ids;
  for (const Attachment& a : valid) keep_ids.insert(a.container_id);

  std::optional<CniError> first;
  auto note = [&first](std::unexpected<CniError> e) {
    log::warn("gc step failed", {{"error", e.error().msg}, {"details", e.error().details}});
    if (!first) first = std::move(e.error());
  };

  if (auto all = store->reservations(); !all) {
    note(io_fail("cannot list allocations", all.error()));
  } else {
    for (const auto& r : *all) {
      const Owner& o = r.owner;
      bool kept = !o.container_id.empty() &&
                  (o.ifname.empty() ? keep_ids.contains(o.container_id) : keep.contains({o.container_id, o.ifname}));
      if (kept) continue;
      if (auto rm = store->remove(r.ip); !rm) note(io_fail("cannot release " + r.ip.str(), rm.error()));
    }
  }
  // Indexes after the addresses they list, as DEL does.
  if (auto indexed = store->indexed(); !indexed) {
    note(io_fail("cannot list attachments", indexed.error()));
  } else {
    for (const Attachment& a : *indexed) {
      if (keep.contains(a)) continue;
      if (auto rm = store->remove_index(a); !rm) note(io_fail("cannot remove the index of " + describe(a), rm.error()));
    }
  }
  if (auto rm = store->tidy(); !rm) note(io_fail("cannot remove temporary files", rm.error()));

  if (first) return std::unexpected(*first);
  return {};
}

CniStatus HostIpam::status(const Request& req) {
  auto conf = parse_host_ipam_conf(req.netconf);
  if (!conf) return std::unexpected(conf.error());
  auto store = Store::open(conf->data_dir, conf->network, /*create=*/false);
  if (!store && store.error().err == ENOENT) return {};  // nothing allocated yet
  if (!store) return io_fail("cannot open the data directory", store.error());
  for (size_t i = 0; i < conf->range_sets.size(); ++i) {
    auto ip = free_address(*store, *conf, i);
    if (!ip) return io_fail("cannot scan " + describe_set(*conf, i), ip.error());
    if (!*ip) return cni_fail(Code::kPluginNotAvailable, "strand-ipam: no free address in " + describe_set(*conf, i));
  }
  return {};
}

}  // namespace strand::cni::ipam
