// The policy benchmark's generator: deterministic, the client allowed by
// exactly the one rule in the last policy, and the iptables rendering meaning
// the same as the NetworkPolicies (per agent/policy/evaluate.h, the
// reference semantics) for every pod that exists and for addresses in and
// around every ipBlock.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <variant>

#include "agent/policy/evaluate.h"
#include "agent/sources/manifest.h"
#include "tests/bench/policy/gen.h"

namespace strand::bench::policy {
namespace {

GenSpec small(size_t policies, uint64_t seed = 7) {
  GenSpec s;
  s.policies = policies;
  s.remote_pods = 40;
  s.seed = seed;
  return s;
}

strand::policy::Cluster to_cluster(const RuleSet& rs) {
  strand::policy::Cluster c;
  for (const auto& text : {render_cluster(rs), render_policies(rs)}) {
    auto m = strand::sources::parse_manifest(text, "gen.json");
    EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().message());
    if (!m) continue;
    EXPECT_TRUE(m->ignored.empty());
    for (auto& obj : m->objects) {
      if (auto* n = std::get_if<model::Namespace>(&obj)) c.namespaces.push_back(n->base);
      if (auto* p = std::get_if<model::Pod>(&obj)) c.pods.push_back(p->base);
      if (auto* np = std::get_if<strand::policy::NetworkPolicy>(&obj)) c.policies.push_back(*np);
    }
  }
  return c;
}

uint32_t v4(const std::string& s) {
  in_addr a{};
  EXPECT_EQ(inet_pton(AF_INET, s.c_str(), &a), 1) << s;
  return ntohl(a.s_addr);
}

// A minimal iptables for the rules render_iptables writes: -A CHAIN -s A/L
// [-p P [-m P --dport X[:Y]]] -j T, "-m conntrack" and "-d" rules, ACCEPT,
// DROP, RETURN and jumps. Judges a NEW connection's first packet from `src`
// to the server.
class MiniIptables {
 public:
  explicit MiniIptables(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("-A ", 0) != 0) continue;
      std::istringstream w(line);
      std::string tok, chain;
      Rule r;
      w >> tok >> chain;
      while (w >> tok) {
        if (tok == "-s") {
          std::string v;
          w >> v;
          auto slash = v.find('/');
          r.len = std::stoi(v.substr(slash + 1));
          r.src = v4(v.substr(0, slash));
          r.has_src = true;
        } else if (tok == "-d") {
          std::string v;
          w >> v;
          r.dst = v4(v.substr(0, v.find('/')));
          r.has_dst = true;
        } else if (tok == "-p") {
          w >> r.proto;
        } else if (tok == "--dport") {
          std::string v;
          w >> v;
          auto c = v.find(':');
          r.lo = std::stoi(v.substr(0, c));
          r.hi = c == std::string::npos ? r.lo : std::stoi(v.substr(c + 1));
        } else if (tok == "--ctstate") {
          r.ct = true;
          w >> tok;
        } else if (tok == "-j") {
          w >> r.target;
        } else if (tok == "-m") {
          w >> tok;
        } else {
          ADD_FAILURE() << "unknown token " << tok << " in " << line;
        }
      }
      chains_[chain].push_back(r);
    }
  }

  // "ACCEPT" or "DROP" for the first packet of a new connection.
  std::string judge(uint32_t src, uint32_t dst, const std::string& proto, int port) const {
    std::string v = walk("FORWARD", src, dst, proto, port, 0);
    return v == "RETURN" || v.empty() ? "ACCEPT" : v;  // FORWARD's policy is ACCEPT
  }

  size_t size(const std::string& chain) const { return chains_.count(chain) ? chains_.at(chain).size() : 0; }

 private:
  struct Rule {
    bool has_src = false, has_dst = false, ct = false;
    uint32_t src = 0, dst = 0;
    int len = 32;
    std::string proto;
    int lo = -1, hi = -1;
    std::string target;
  };

  std::string walk(const std::string& chain, uint32_t src, uint32_t dst, const std::string& proto, int port,
                   int depth) const {
    EXPECT_LT(depth, 4);
    if (depth >= 4 || !chains_.count(chain)) return "";
    for (const auto& r : chains_.at(chain)) {
      if (r.ct) continue;  // a new connection is not ESTABLISHED
      if (r.has_src) {
        uint32_t mask = r.len == 0 ? 0 : ~uint32_t{0} << (32 - r.len);
        if ((src & mask) != (r.src & mask)) continue;
      }
      if (r.has_dst && dst != r.dst) continue;
      if (!r.proto.empty() && r.proto != proto) continue;
      if (r.lo >= 0 && (port < r.lo || port > r.hi)) continue;
      if (r.target == "ACCEPT" || r.target == "DROP") return r.target;
      if (r.target == "RETURN") return "RETURN";
      std::string v = walk(r.target, src, dst, proto, port, depth + 1);
      if (v == "ACCEPT" || v == "DROP") return v;
    }
    return "";
  }

  std::map<std::string, std::vector<Rule>> chains_;
};

TEST(PolicyGen, SameSeedSameOutputOtherSeedOther) {
  auto a = generate(small(30, 1));
  auto b = generate(small(30, 1));
  auto c = generate(small(30, 2));
  EXPECT_EQ(render_policies(a), render_policies(b));
  EXPECT_EQ(render_iptables(a), render_iptables(b));
  EXPECT_NE(render_policies(a), render_policies(c));
  EXPECT_EQ(render_cluster(a), render_cluster(c));  // the seed picks rules, not pods
}

TEST(PolicyGen, PolicyDependsOnItsIndexNotOnN) {
  auto a = generate(small(10));
  auto b = generate(small(20));
  // p3 is the same in both (only the last policy carries the allow rule).
  EXPECT_EQ(a.policies[3].ingress.size(), kRulesPerPolicy);
  EXPECT_EQ(render_policies({a.spec, {}, {}, {a.policies[3]}}), render_policies({b.spec, {}, {}, {b.policies[3]}}));
  GenSpec extra = small(1);
  extra.first_index = 3;
  auto e = generate(extra, false);
  EXPECT_EQ(render_policies({e.spec, {}, {}, {e.policies[0]}}), render_policies({a.spec, {}, {}, {a.policies[3]}}));
}

TEST(PolicyGen, TenIptablesRulesPerPolicyPlusTheAllowRule) {
  EXPECT_EQ(iptables_rule_count(generate(small(0))), 0u);
  EXPECT_EQ(iptables_rule_count(generate(small(1))), 12u);
  EXPECT_EQ(iptables_rule_count(generate(small(100))), 1002u);
  EXPECT_EQ(iptables_rule_count(generate(small(100), false)), 1000u);
  GenSpec big = small(1000);
  big.remote_pods = 1000;
  auto rs = generate(big);
  EXPECT_EQ(iptables_rule_count(rs), 10002u);
  MiniIptables ipt(render_iptables(rs));
  // ct rule + 10002 + DROP; one except chain per policy (rule 1).
  EXPECT_EQ(ipt.size("STRAND-BENCH"), 10004u);
  EXPECT_EQ(ipt.size("FORWARD"), 1u);
  EXPECT_EQ(ipt.size("SB-EXCEPT-999"), 2u);
  EXPECT_EQ(MiniIptables(render_iptables(rs, false)).size("STRAND-BENCH"), 10003u);
  // The policies of a 1000 set: 1000 objects, 10001 rules.
  size_t rules = 0;
  for (const auto& p : rs.policies) rules += p.ingress.size();
  EXPECT_EQ(rules, 10001u);
}

TEST(PolicyGen, ManifestsParseAndTheClientIsAllowedOnlyByTheLastPolicy) {
  auto rs = generate(small(25));
  auto c = to_cluster(rs);
  ASSERT_EQ(c.policies.size(), 25u);
  EXPECT_EQ(c.pods.size(), 42u);
  EXPECT_EQ(c.namespaces.size(), 11u);
  using strand::policy::PodRef;
  using strand::policy::Protocol;
  for (uint16_t port : {7001, 5201}) {
    auto v = evaluate(c, PodRef{"bench", "pod1"}, PodRef{"bench", "pod0"}, port, Protocol::kTcp);
    EXPECT_TRUE(v.allowed) << v.reason;
    ASSERT_TRUE(v.ingress.allowed_by.has_value()) << v.reason;
    EXPECT_EQ(v.ingress.allowed_by->policy, "bench/p24");
    EXPECT_EQ(v.ingress.allowed_by->index, 10u);
    EXPECT_EQ(v.ingress.isolated_by.size(), 25u);
  }
  for (uint16_t port : {7002, 7005, 443, 8000, 80}) {
    auto v = evaluate(c, PodRef{"bench", "pod1"}, PodRef{"bench", "pod0"}, port, Protocol::kTcp);
    EXPECT_FALSE(v.allowed) << port << ": " << v.reason;
  }
  // Without the allow rule the client is denied on the bench ports too.
  auto denied = to_cluster(generate(small(25), false));
  EXPECT_FALSE(evaluate(denied, PodRef{"bench", "pod1"}, PodRef{"bench", "pod0"}, 7001, Protocol::kTcp).allowed);
}

// Every pod and an address at the start, inside and just past every ipBlock
// and its excepts, on every port a rule names (and its neighbours): the
// iptables chain and the NetworkPolicies agree.
TEST(PolicyGen, IptablesMeansWhatThePoliciesMean) {
  for (bool allow : {true, false}) {
    auto rs = generate(small(20, 11), allow);
    auto c = to_cluster(rs);
    MiniIptables ipt(render_iptables(rs));
    const uint32_t server = v4(rs.spec.server_ip);

    std::set<std::pair<std::string, int>> ports = {{"TCP", 7001}, {"TCP", 5201}, {"TCP", 7002}, {"UDP", 7001}};
    std::set<uint32_t> addrs;
    for (const auto& pol : rs.policies) {
      for (const auto& r : pol.ingress) {
        for (const auto& p : r.ports) {
          for (int d : {-1, 0, 1}) ports.insert({p.protocol, p.port + d});
          if (p.end_port != 0) {
            for (int d : {-1, 0, 1}) ports.insert({p.protocol, p.end_port + d});
          }
        }
        for (const auto& peer : r.peers) {
          std::vector<std::string> blocks = peer.except;
          if (!peer.cidr.empty()) blocks.push_back(peer.cidr);
          for (const auto& b : blocks) {
            auto slash = b.find('/');
            uint32_t base = v4(b.substr(0, slash));
            uint32_t size = 1u << (32 - std::stoi(b.substr(slash + 1)));
            for (uint32_t a : {base - 1, base, base + size / 2, base + size - 1, base + size}) addrs.insert(a);
          }
        }
      }
    }
    size_t checked = 0, allowed = 0;
    auto check = [&](const strand::policy::Endpoint& from, uint32_t src) {
      for (const auto& [proto, port] : ports) {
        auto pr = proto == "UDP" ? strand::policy::Protocol::kUdp : strand::policy::Protocol::kTcp;
        auto v = evaluate(c, from, strand::policy::PodRef{"bench", "pod0"}, static_cast<uint16_t>(port), pr);
        std::string want = v.allowed ? "ACCEPT" : "DROP";
        std::string lower = proto == "UDP" ? "udp" : "tcp";
        ASSERT_EQ(ipt.judge(src, server, lower, port), want)
            << "from " << (src >> 24) << "." << ((src >> 16) & 255) << "." << ((src >> 8) & 255) << "."
            << (src & 255) << " " << proto << "/" << port << ": " << v.reason;
        ++checked;
        allowed += v.allowed;
      }
    };
    for (const auto& pod : rs.pods) {
      if (pod.name == rs.spec.server) continue;
      check(strand::policy::PodRef{pod.ns, pod.name}, v4(pod.ip));
    }
    for (uint32_t a : addrs) {
      auto ip = strand::IpAddr::v4(a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
      check(ip, a);
    }
    EXPECT_GT(checked, 10000u);
    // Not a vacuous agreement: many probes are allowed, many denied.
    EXPECT_GT(allowed, 200u);
    EXPECT_LT(allowed, checked / 2);
  }
}

}  // namespace
}  // namespace strand::bench::policy
