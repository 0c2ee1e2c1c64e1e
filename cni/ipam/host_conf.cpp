#include "cni/ipam/host_conf.h"

#include <optional>
#include <utility>

namespace strand::cni::ipam {
namespace {

using nlohmann::json;

std::unexpected<CniError> bad(const std::string& field, const std::string& what) {
  return cni_fail(Code::kInvalidConfig, field + ": " + what);
}

// A string member; absent, null and "" read as nullopt (as host-local does).
CniResult<std::optional<std::string>> opt_string(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return bad(path + "." + key, "must be a string");
  auto s = it->get<std::string>();
  if (s.empty()) return std::nullopt;
  return s;
}

CniResult<std::optional<int>> opt_int(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) return bad(path + "." + key, "must be an integer");
  return it->get<int>();
}

// An address member that must lie in `subnet`.
CniResult<std::optional<IpAddr>> opt_addr_in(const json& obj, const char* key, const std::string& path,
                                             const IpPrefix& subnet) {
  auto text = opt_string(obj, key, path);
  if (!text) return std::unexpected(text.error());
  if (!*text) return std::nullopt;
  const std::string field = path + "." + key;
  auto a = IpAddr::parse(**text);
  if (!a) return bad(field, "'" + **text + "' is not an IP address");
  if (!subnet.contains(*a)) return bad(field, a->str() + " is outside subnet " + subnet.str());
  return *a;
}

// The last address host-local hands out by default: IPv4 keeps the broadcast.
IpAddr default_end(const IpPrefix& subnet) {
  IpAddr end = subnet.last();
  if (end.is_v4()) end.bytes[3] -= 1;  // host bits are all ones (>= 2 of them): no borrow
  return end;
}

CniResult<Range> parse_range(const json& j, const std::string& path) {
  if (!j.is_object()) return bad(path, "must be an object");
  auto subnet_text = opt_string(j, "subnet", path);
  if (!subnet_text) return std::unexpected(subnet_text.error());
  if (!*subnet_text) return bad(path + ".subnet", "missing");
  auto subnet = IpPrefix::parse(**subnet_text);
  if (!subnet) {
    return bad(path + ".subnet", "'" + **subnet_text + "' is not a subnet (address/length)");
  }
  Range r;
  r.subnet = subnet->network();
  if (r.subnet.len + 2u > r.subnet.addr.max_prefix()) {
    return bad(path + ".subnet", r.subnet.str() + " is too small to allocate from (IPv4 needs /30 or shorter, IPv6 /126)");
  }

  auto gateway = opt_addr_in(j, "gateway", path, r.subnet);
  if (!gateway) return std::unexpected(gateway.error());
  auto start = opt_addr_in(j, "rangeStart", path, r.subnet);
  if (!start) return std::unexpected(start.error());
  auto end = opt_addr_in(j, "rangeEnd", path, r.subnet);
  if (!end) return std::unexpected(end.error());

  r.gateway = gateway->value_or(r.subnet.addr.next());
  r.start = start->value_or(r.subnet.addr.next());
  r.end = end->value_or(default_end(r.subnet));
  if (r.end < r.start) {
    return bad(path, "rangeStart " + r.start.str() + " is after rangeEnd " + r.end.str());
  }
  if (!r.has_allocatable()) {
    return bad(path, "no allocatable address in " + r.str() + " (gateway " + r.gateway.str() +
                         ", network and IPv4 broadcast are never handed out)");
  }
  return r;
}

CniResult<RangeSet> parse_range_set(const json& j, const std::string& path) {
  if (!j.is_array()) return bad(path, "must be a list of ranges");
  if (j.empty()) return bad(path, "empty range set");
  RangeSet set;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    auto r = parse_range(j[i], p);
    if (!r) return std::unexpected(r.error());
    if (!set.empty() && r->subnet.family() != set.front().subnet.family()) {
      return bad(p, "mixes address families with " + path + "[0] (one family per range set)");
    }
    set.push_back(*r);
  }
  return set;
}

CniResult<Route> parse_route(const json& j, const std::string& path) {
  if (!j.is_object()) return bad(path, "must be an object");
  auto dst_text = opt_string(j, "dst", path);
  if (!dst_text) return std::unexpected(dst_text.error());
  if (!*dst_text) return bad(path + ".dst", "missing");
  auto dst = IpPrefix::parse(**dst_text);
  if (!dst) return bad(path + ".dst", "'" + **dst_text + "' is not a prefix (address/length)");
  Route route;
  route.dst = dst->network();
  auto gw_text = opt_string(j, "gw", path);
  if (!gw_text) return std::unexpected(gw_text.error());
  if (*gw_text) {
    auto gw = IpAddr::parse(**gw_text);
    if (!gw) return bad(path + ".gw", "'" + **gw_text + "' is not an IP address");
    if (gw->family != route.dst.family()) return bad(path + ".gw", gw->str() + " is not of dst's family");
    route.gw = *gw;
  }
  std::pair<const char*, std::optional<int>*> ints[] = {{"mtu", &route.mtu},
                                                         {"advmss", &route.advmss},
                                                         {"priority", &route.priority},
                                                         {"table", &route.table},
                                                         {"scope", &route.scope}};
  for (auto [key, out] : ints) {
    auto v = opt_int(j, key, path);
    if (!v) return std::unexpected(v.error());
    *out = *v;
  }
  return route;
}

}  // namespace

CniResult<HostIpamConf> parse_host_ipam_conf(const json& netconf) {
  if (!netconf.is_object()) return bad("netconf", "must be an object");
  HostIpamConf conf;
  auto name = opt_string(netconf, "name", "netconf");
  if (!name) return bad("name", "must be a string");
  if (!*name) return bad("name", "missing (strand-ipam keeps a directory per network name)");
  if (**name == "." || **name == ".." || (*name)->find('/') != std::string::npos) {
    return bad("name", "'" + **name + "' cannot be a directory name");
  }
  conf.network = **name;

  auto it = netconf.find("ipam");
  if (it == netconf.end() || !it->is_object()) return bad("ipam", "missing or not an object");
  const json& ipam = *it;

  auto data_dir = opt_string(ipam, "dataDir", "ipam");
  if (!data_dir) return std::unexpected(data_dir.error());
  if (*data_dir) conf.data_dir = **data_dir;
  auto resolv = opt_string(ipam, "resolvConf", "ipam");
  if (!resolv) return std::unexpected(resolv.error());
  if (*resolv) conf.resolv_conf = **resolv;

  // The legacy single range comes first, as in host-local.
  if (ipam.contains("subnet") && !ipam["subnet"].is_null()) {
    auto r = parse_range(ipam, "ipam");
    if (!r) return std::unexpected(r.error());
    conf.range_sets.push_back(RangeSet{*r});
  }
  if (auto rs = ipam.find("ranges"); rs != ipam.end() && !rs->is_null()) {
    if (!rs->is_array()) return bad("ipam.ranges", "must be a list of range sets");
    for (size_t i = 0; i < rs->size(); ++i) {
      auto set = parse_range_set((*rs)[i], "ipam.ranges[" + std::to_string(i) + "]");
      if (!set) return std::unexpected(set.error());
      conf.range_sets.push_back(std::move(*set));
    }
  }
  if (conf.range_sets.empty()) return bad("ipam.ranges", "no IP ranges given (ranges or subnet)");

  // No address may belong to two ranges, within a set or across sets.
  std::vector<std::pair<std::string, const Range*>> all;
  for (size_t i = 0; i < conf.range_sets.size(); ++i) {
    for (size_t j = 0; j < conf.range_sets[i].size(); ++j) {
      all.emplace_back("range set " + std::to_string(i) + " range " + std::to_string(j), &conf.range_sets[i][j]);
    }
  }
  for (size_t a = 0; a < all.size(); ++a) {
    for (size_t b = a + 1; b < all.size(); ++b) {
      if (all[a].second->overlaps(*all[b].second)) {
        return bad("ipam.ranges", all[b].first + " (" + all[b].second->str() + ") overlaps " + all[a].first + " (" +
                                      all[a].second->str() + ")");
      }
    }
  }

  if (auto rt = ipam.find("routes"); rt != ipam.end() && !rt->is_null()) {
    if (!rt->is_array()) return bad("ipam.routes", "must be a list");
    for (size_t i = 0; i < rt->size(); ++i) {
      auto route = parse_route((*rt)[i], "ipam.routes[" + std::to_string(i) + "]");
      if (!route) return std::unexpected(route.error());
      conf.routes.push_back(*route);
    }
  }
  return conf;
}

}  // namespace strand::cni::ipam
