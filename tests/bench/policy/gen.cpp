#include "tests/bench/policy/gen.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include <random>
#include <stdexcept>

namespace strand::bench::policy {
namespace {

using nlohmann::json;

uint32_t v4(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) throw std::invalid_argument("not an IPv4 address: " + s);
  return ntohl(a.s_addr);
}

std::string v4_str(uint32_t x) {
  return std::to_string(x >> 24) + "." + std::to_string((x >> 16) & 255) + "." + std::to_string((x >> 8) & 255) + "." +
         std::to_string(x & 255);
}

std::string cidr(uint32_t base, int len) { return v4_str(base) + "/" + std::to_string(len); }

constexpr uint32_t kBlockSpace = 0xAC100000;  // 172.16.0.0/12: one /26 per (policy, rule)
constexpr size_t kBlocks = (1u << 20) / 64;
constexpr uint32_t kRemoteBase = 0x0AD20000;  // 10.210.0.0/16: pods of other nodes
constexpr size_t kOtherNamespaces = 10;

// mt19937_64 is the same everywhere; the distributions of <random> are not,
// so draws are plain modulo (the bias is irrelevant here).
class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(g_() % n); }

 private:
  std::mt19937_64 g_;
};

std::string remote_ns(size_t i) { return i % 2 == 0 ? "bench" : "other-" + std::to_string((i / 2) % kOtherNamespaces); }

json labels_json(const std::vector<std::pair<std::string, std::string>>& l) {
  json o = json::object();
  for (const auto& [k, v] : l) o[k] = v;
  return o;
}

json peer_json(const GenPeer& p) {
  switch (p.kind) {
    case GenPeer::Kind::kIpBlock: {
      json b{{"cidr", p.cidr}};
      if (!p.except.empty()) b["except"] = p.except;
      return {{"ipBlock", b}};
    }
    case GenPeer::Kind::kPod:
      return {{"podSelector", {{"matchLabels", {{p.pod_key, p.pod_label}}}}}};
    case GenPeer::Kind::kPodExpr:
      return {{"podSelector",
               {{"matchExpressions", json::array({{{"key", p.pod_key}, {"operator", "In"}, {"values", {p.pod_label}}}})}}}};
    case GenPeer::Kind::kNsPod:
      return {{"namespaceSelector", {{"matchLabels", {{"team", p.ns_label}}}}},
              {"podSelector", {{"matchLabels", {{p.pod_key, p.pod_label}}}}}};
    case GenPeer::Kind::kNsOnly:
      return {{"namespaceSelector", {{"matchLabels", {{"team", p.ns_label}}}}}};
  }
  return json::object();
}

json port_json(const GenPort& p) {
  json o{{"protocol", p.protocol}};
  if (p.port != 0) o["port"] = p.port;
  if (p.end_port != 0) o["endPort"] = p.end_port;
  return o;
}

json list_json(json items) { return {{"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(items)}}; }

}  // namespace

RuleSet generate(const GenSpec& spec, bool allow) {
  if (spec.remote_pods < 2) throw std::invalid_argument("remote_pods must be at least 2");
  if (spec.remote_pods > 65000) throw std::invalid_argument("remote_pods must be at most 65000");
  if ((spec.first_index + spec.policies) * kRulesPerPolicy > kBlocks) {
    throw std::invalid_argument("at most " + std::to_string(kBlocks / kRulesPerPolicy) + " policies");
  }
  RuleSet rs;
  rs.spec = spec;
  rs.namespaces.push_back({"bench", {{"team", "bench"}}});
  for (size_t j = 0; j < kOtherNamespaces; ++j) {
    rs.namespaces.push_back({"other-" + std::to_string(j), {{"team", "t" + std::to_string(j)}}});
  }
  rs.pods.push_back({"bench", spec.server, {{"app", "bench-server"}, {"role", "server"}}, spec.server_ip, spec.node});
  rs.pods.push_back({"bench", spec.client, {{"role", "client"}}, spec.client_ip, spec.node});
  for (size_t i = 0; i < spec.remote_pods; ++i) {
    rs.pods.push_back({remote_ns(i), "r" + std::to_string(i), {{"decoy", "d" + std::to_string(i)}},
                       v4_str(kRemoteBase + 1 + static_cast<uint32_t>(i)), "remote-" + std::to_string(i % 4)});
  }
  const uint32_t client = v4(spec.client_ip);
  (void)v4(spec.server_ip);
  if ((client & 0xFFF00000) == kBlockSpace || (client & 0xFFFF0000) == kRemoteBase) {
    throw std::invalid_argument("client IP inside the generated address space");
  }

  // Seeded per policy index, so policy i is the same whatever N and first_index.
  const uint32_t n_bench = static_cast<uint32_t>((spec.remote_pods + 1) / 2);  // even i
  const uint32_t n_other = static_cast<uint32_t>(spec.remote_pods / 2);        // odd i
  for (size_t p = 0; p < spec.policies; ++p) {
    const size_t index = spec.first_index + p;
    Rng rng(spec.seed * 0x9E3779B97F4A7C15ull + index);
    auto bench_decoy = [&] {
      size_t i = 2 * static_cast<size_t>(rng.below(n_bench));
      GenPeer peer;
      peer.kind = GenPeer::Kind::kPod;
      peer.pod_label = "d" + std::to_string(i);
      peer.ips = {rs.pods[2 + i].ip};
      return peer;
    };
    GenPolicy pol;
    pol.name = "p" + std::to_string(index);
    for (size_t r = 0; r < kRulesPerPolicy; ++r) {
      const size_t k = index * kRulesPerPolicy + r;
      const uint32_t base = kBlockSpace + static_cast<uint32_t>(k) * 64;
      GenRule rule;
      GenPeer peer;
      switch (r) {
        case 0: {
          const int len = 28 + static_cast<int>(rng.below(5));
          const uint32_t step = 1u << (32 - len);
          peer.cidr = cidr(base + rng.below(64 / step) * step, len);
          rule.peers.push_back(peer);
          rule.ports.push_back({"TCP", static_cast<uint16_t>(1024 + rng.below(5976)), 0});
          break;
        }
        case 1:
          peer.cidr = cidr(base, 26);
          peer.except = {cidr(base + rng.below(4) * 16, 28)};
          rule.peers.push_back(peer);
          rule.ports.push_back({"TCP", 8000, static_cast<uint16_t>(8001 + rng.below(200))});
          break;
        case 2:
          rule.peers.push_back(bench_decoy());
          rule.ports.push_back({"TCP", 7001, 0});
          break;
        case 3: {
          const size_t i = 2 * static_cast<size_t>(rng.below(n_other)) + 1;
          peer.kind = GenPeer::Kind::kNsPod;
          peer.ns_label = "t" + std::to_string((i / 2) % kOtherNamespaces);
          peer.pod_label = "d" + std::to_string(i);
          peer.ips = {rs.pods[2 + i].ip};
          rule.peers.push_back(peer);
          rule.ports.push_back({"TCP", 5201, 0});
          break;
        }
        case 4:
          peer.kind = GenPeer::Kind::kNsOnly;
          peer.ns_label = "absent-" + std::to_string(k);
          rule.peers.push_back(peer);
          rule.ports.push_back({"UDP", 53, 0});
          break;
        case 5:
          peer.cidr = cidr(base + rng.below(16) * 4, 30);
          rule.peers.push_back(peer);
          rule.peers.push_back(bench_decoy());
          rule.ports.push_back({"TCP", 443, 0});
          break;
        case 6: {
          GenPeer d = bench_decoy();
          d.kind = GenPeer::Kind::kPodExpr;
          rule.peers.push_back(d);
          rule.ports.push_back({"UDP", static_cast<uint16_t>(1024 + rng.below(60000)), 0});
          break;
        }
        case 7:
          peer.cidr = cidr(base + rng.below(2) * 32, 27);
          rule.peers.push_back(peer);
          rule.ports.push_back({"UDP", 10000, static_cast<uint16_t>(10001 + rng.below(100))});
          break;
        case 8:
          peer.cidr = cidr(base + rng.below(64), 32);
          rule.peers.push_back(peer);
          break;
        case 9:
          rule.peers.push_back(bench_decoy());
          rule.ports.push_back({"TCP", 7001, static_cast<uint16_t>(7002 + rng.below(9))});
          break;
      }
      pol.ingress.push_back(std::move(rule));
    }
    rs.policies.push_back(std::move(pol));
  }
  if (allow && !rs.policies.empty()) {
    GenRule rule;
    GenPeer peer;
    peer.kind = GenPeer::Kind::kPod;
    peer.pod_key = "role";
    peer.pod_label = "client";
    peer.ips = {spec.client_ip};
    rule.peers.push_back(peer);
    for (uint16_t port : spec.allow_ports) rule.ports.push_back({"TCP", port, 0});
    rs.policies.back().ingress.push_back(std::move(rule));
  }
  return rs;
}

std::string render_cluster(const RuleSet& rs) {
  json items = json::array();
  for (const auto& n : rs.namespaces) {
    items.push_back({{"apiVersion", "v1"},
                     {"kind", "Namespace"},
                     {"metadata", {{"name", n.name}, {"labels", labels_json(n.labels)}}}});
  }
  for (const auto& p : rs.pods) {
    items.push_back({{"apiVersion", "v1"},
                     {"kind", "Pod"},
                     {"metadata", {{"name", p.name}, {"namespace", p.ns}, {"labels", labels_json(p.labels)}}},
                     {"spec", {{"nodeName", p.node}, {"containers", json::array({{{"name", "c"}}})}}},
                     {"status", {{"podIP", p.ip}, {"podIPs", json::array({{{"ip", p.ip}}})}}}});
  }
  return list_json(std::move(items)).dump(1) + "\n";
}

std::string render_policies(const RuleSet& rs) {
  json items = json::array();
  for (const auto& pol : rs.policies) {
    json ingress = json::array();
    for (const auto& r : pol.ingress) {
      json from = json::array();
      for (const auto& peer : r.peers) from.push_back(peer_json(peer));
      json rule{{"from", from}};
      if (!r.ports.empty()) {
        json ports = json::array();
        for (const auto& port : r.ports) ports.push_back(port_json(port));
        rule["ports"] = ports;
      }
      ingress.push_back(rule);
    }
    items.push_back({{"apiVersion", "networking.k8s.io/v1"},
                     {"kind", "NetworkPolicy"},
                     {"metadata", {{"name", pol.name}, {"namespace", pol.ns}}},
                     {"spec",
                      {{"podSelector", {{"matchLabels", {{"role", "server"}}}}},
                       {"policyTypes", {"Ingress"}},
                       {"ingress", ingress}}}});
  }
  return list_json(std::move(items)).dump(1) + "\n";
}

namespace {

// Calls f(source, port-or-null, except) for each iptables rule of `r`.
template <typename F>
void for_each_match(const GenRule& r, F f) {
  for (const auto& peer : r.peers) {
    std::vector<std::string> sources;
    if (peer.kind == GenPeer::Kind::kIpBlock) {
      sources = {peer.cidr};
    } else {
      for (const auto& ip : peer.ips) sources.push_back(ip + "/32");
    }
    for (const auto& s : sources) {
      if (r.ports.empty()) {
        f(s, static_cast<const GenPort*>(nullptr), peer.except);
      } else {
        for (const auto& port : r.ports) f(s, &port, peer.except);
      }
    }
  }
}

}  // namespace

std::string render_iptables(const RuleSet& rs, bool ct_first) {
  std::string chains = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:STRAND-BENCH - [0:0]\n";
  std::string rules = "-A FORWARD -d " + rs.spec.server_ip + "/32 -j STRAND-BENCH\n";
  if (ct_first) rules += "-A STRAND-BENCH -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n";
  std::string except_rules;
  size_t n_except = 0;
  for (const auto& pol : rs.policies) {
    for (const auto& r : pol.ingress) {
      for_each_match(r, [&](const std::string& src, const GenPort* port, const std::vector<std::string>& except) {
        std::string target = "ACCEPT";
        if (!except.empty()) {
          target = "SB-EXCEPT-" + std::to_string(n_except++);
          chains += ":" + target + " - [0:0]\n";
          for (const auto& e : except) except_rules += "-A " + target + " -s " + e + " -j RETURN\n";
          except_rules += "-A " + target + " -j ACCEPT\n";
        }
        rules += "-A STRAND-BENCH -s " + src;
        if (port != nullptr) {
          const std::string proto = port->protocol == "UDP" ? "udp" : "tcp";
          rules += " -p " + proto;
          if (port->port != 0) {
            rules += " -m " + proto + " --dport " + std::to_string(port->port);
            if (port->end_port != 0) rules += ":" + std::to_string(port->end_port);
          }
        }
        rules += " -j " + target + "\n";
      });
    }
  }
  rules += "-A STRAND-BENCH -j DROP\n";
  return chains + rules + except_rules + "COMMIT\n";
}

size_t iptables_rule_count(const RuleSet& rs) {
  size_t n = 0;
  for (const auto& pol : rs.policies) {
    for (const auto& r : pol.ingress) for_each_match(r, [&](const auto&, const auto*, const auto&) { ++n; });
  }
  return n;
}

}  // namespace strand::bench::policy
