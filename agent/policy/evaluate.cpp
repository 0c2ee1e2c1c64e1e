#include "agent/policy/evaluate.h"

#include <algorithm>

#include "agent/policy/selector.h"

namespace strand::policy {

namespace {

// An endpoint resolved against the cluster: a known pod, or bare addresses.
struct Resolved {
  const Pod* pod = nullptr;
  const Labels* ns_labels = nullptr;
  std::vector<IpAddr> ips;
  std::string label;  // for explanations: "x/a" or "192.0.2.1"
  bool unknown = false;  // a PodRef naming no pod of the cluster
  const Pod* finished = nullptr;  // a PodRef naming a finished pod
  std::string not_pod = "not a pod";  // why an endpoint without pod has no policy
};

const Labels kNoLabels;

Resolved resolve(const Cluster& c, const Endpoint& e) {
  Resolved r;
  if (const auto* ref = std::get_if<PodRef>(&e)) {
    r.label = ref->ns + "/" + ref->name;
    r.pod = c.find_pod(ref->ns, ref->name);
    if (r.pod != nullptr && r.pod->host_network) {
      // Its traffic is its node's: judged as the node's addresses.
      r.ips = r.pod->ips;
      r.pod = nullptr;
      r.not_pod = "hostNetwork pod: its node's traffic";
      return r;
    }
    if (r.pod != nullptr && r.pod->finished()) {
      r.finished = r.pod;
      r.pod = nullptr;
      return r;
    }
    if (r.pod != nullptr) {
      r.ips = r.pod->ips;
      const Namespace* ns = c.find_namespace(ref->ns);
      r.ns_labels = ns != nullptr ? &ns->labels : &kNoLabels;
    } else {
      r.unknown = true;
    }
    return r;
  }
  const auto& ip = std::get<IpAddr>(e);
  r.label = ip.str();
  // An address that belongs to a pod is that pod (not a hostNetwork pod's:
  // the node's; not a finished pod's: it may be another pod's by now).
  for (const Pod& p : c.pods) {
    if (p.owns_ips() && std::ranges::find(p.ips, ip) != p.ips.end()) {
      Resolved byip = resolve(c, PodRef{p.ns, p.name});
      byip.ips = {ip};
      return byip;
    }
  }
  r.ips = {ip};
  return r;
}

bool block_matches(const IpBlock& b, const std::vector<IpAddr>& ips) {
  return std::ranges::any_of(ips, [&](const IpAddr& ip) {
    if (ip.family != b.cidr.family() || !b.cidr.contains(ip)) return false;
    return std::ranges::none_of(b.except, [&](const IpPrefix& x) { return x.contains(ip); });
  });
}

// `peer` of a rule in `np` against the other end of the traffic.
bool peer_matches(const NetworkPolicy& np, const Peer& peer, const Resolved& other) {
  if (peer.ip_block) return block_matches(*peer.ip_block, other.ips);
  if (other.pod == nullptr) return false;  // selectors only ever select pods
  if (peer.namespace_selector) {
    if (!matches(*peer.namespace_selector, *other.ns_labels)) return false;
  } else if (other.pod->ns != np.ns) {
    return false;  // podSelector alone: the policy's own namespace
  }
  return !peer.pod_selector || matches(*peer.pod_selector, other.pod->labels);
}

// Ports are always the destination's: a named port resolves against the
// destination pod's container ports, and never matches an outside address.
bool port_matches(const PolicyPort& pp, uint16_t port, Protocol proto, const Resolved& dst) {
  if (pp.protocol != proto) return false;
  if (std::holds_alternative<std::monostate>(pp.port)) return true;
  if (const auto* n = std::get_if<uint16_t>(&pp.port)) {
    return pp.end_port ? (port >= *n && port <= *pp.end_port) : port == *n;
  }
  if (dst.pod == nullptr) return false;
  const auto& name = std::get<std::string>(pp.port);
  return std::ranges::any_of(dst.pod->ports, [&](const ContainerPort& cp) {
    return cp.name == name && cp.protocol == proto && cp.port == port;
  });
}

bool rule_matches(const NetworkPolicy& np, const Rule& r, const Resolved& peer,
                  const Resolved& dst, uint16_t port, Protocol proto) {
  bool peer_ok = r.peers.empty() ||
                 std::ranges::any_of(r.peers, [&](const Peer& p) { return peer_matches(np, p, peer); });
  if (!peer_ok) return false;
  return r.ports.empty() ||
         std::ranges::any_of(r.ports, [&](const PolicyPort& pp) { return port_matches(pp, port, proto, dst); });
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// `self` is the pod whose policies apply; `peer` the other end; `dst` the
// destination (self on ingress, peer on egress).
SideVerdict judge(const Cluster& c, bool ingress, const Resolved& self, const Resolved& peer, const Resolved& dst,
                  uint16_t port, Protocol proto) {
  SideVerdict v;
  const char* dir = ingress ? "ingress" : "egress";
  if (self.pod == nullptr) {
    v.reason = std::string("no ") + dir + " policy (" + self.not_pod + ")";
    return v;
  }
  for (const NetworkPolicy& np : c.policies) {
    if (np.ns != self.pod->ns || !(ingress ? np.ingress_type : np.egress_type)) continue;
    if (!matches(np.pod_selector, self.pod->labels)) continue;
    v.isolated_by.push_back(np.id());
    if (!np.not_enforced.empty()) {
      v.not_enforced.push_back({np.id(), np.not_enforced});
      continue;  // fails closed: none of its rules allows
    }
    if (v.allowed_by) continue;
    const auto& rules = ingress ? np.ingress : np.egress;
    for (size_t i = 0; i < rules.size(); ++i) {
      if (rule_matches(np, rules[i], peer, dst, port, proto)) {
        v.allowed_by = RuleRef{np.id(), i};
        break;
      }
    }
  }
  if (v.isolated_by.empty()) {
    v.reason = std::string(dir) + " of " + self.label + " not isolated";
  } else if (v.allowed_by) {
    v.reason = std::string(dir) + " of " + self.label + " allowed by " + v.allowed_by->policy + " " + dir + "[" +
               std::to_string(v.allowed_by->index) + "]";
  } else {
    v.allowed = false;
    v.reason = std::string(dir) + " of " + self.label + " isolated by " + join(v.isolated_by) + ", no rule allows";
    for (const NotEnforced& ne : v.not_enforced) {
      v.reason += "; " + ne.policy + " is not enforced, fails closed (" + ne.reason + ")";
    }
  }
  return v;
}

bool is_node(const Cluster& c, const Resolved& r) {
  return r.pod == nullptr &&
         std::ranges::any_of(r.ips, [&](const IpAddr& ip) { return std::ranges::find(c.node_ips, ip) != c.node_ips.end(); });
}

}  // namespace

Verdict evaluate(const Cluster& c, const Endpoint& from, const Endpoint& to, uint16_t port, Protocol proto) {
  Resolved src = resolve(c, from);
  Resolved dst = resolve(c, to);
  Verdict out;
  if (src.unknown || dst.unknown) {
    // Nothing is known about the pod's labels or ports: judge nothing.
    out.allowed = false;
    out.reason = "unknown pod " + (src.unknown ? src.label : dst.label);
    (src.unknown ? out.egress : out.ingress) = SideVerdict{false, {}, std::nullopt, out.reason};
    return out;
  }
  if (src.finished != nullptr || dst.finished != nullptr) {
    // Its containers are gone and its addresses are no longer its own.
    const Resolved& f = src.finished != nullptr ? src : dst;
    out.allowed = false;
    out.reason = "pod " + f.label + " has finished (" + f.finished->phase + ")";
    (src.finished != nullptr ? out.egress : out.ingress) = SideVerdict{false, {}, std::nullopt, out.reason};
    return out;
  }
  if (src.pod != nullptr && src.pod == dst.pod) {
    // A pod reaching itself goes over loopback, never through policy.
    out.allowed = true;
    out.egress.reason = out.ingress.reason = "loopback";
    out.reason = "loopback: " + src.label + " to itself";
    return out;
  }
  if ((src.pod != nullptr && is_node(c, dst)) || (dst.pod != nullptr && is_node(c, src))) {
    out.allowed = true;
    out.egress.reason = out.ingress.reason = "node";
    out.reason = "node traffic: " + src.label + " to " + dst.label + " always passes";
    return out;
  }
  out.egress = judge(c, false, src, dst, dst, port, proto);
  out.ingress = judge(c, true, dst, src, dst, port, proto);
  out.allowed = out.egress.allowed && out.ingress.allowed;
  out.reason = std::string(out.allowed ? "allowed" : "denied") + " " + src.label + " -> " + dst.label + " " +
               std::to_string(port) + "/" + std::string(protocol_name(proto)) + ": " + out.egress.reason + "; " +
               out.ingress.reason;
  return out;
}

}  // namespace strand::policy
