#pragma once
// The truth-table cluster: namespaces x, y, z (label ns=<name>), each with
// pods a, b, c (label pod=<name>). Pod <ns>/<p> has 10.0.<n>.<i> and
// fd00::<n>:<i> (x=1, y=2, z=3; a=1, b=2, c=3) and container ports
// serve-80-tcp, serve-80-udp, serve-81-tcp, serve-81-udp, plus "web": 8080/TCP
// on c and 8081/TCP on a and b.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "agent/policy/evaluate.h"
#include "agent/policy/k8s_json.h"

namespace strand::policy::testing {

inline IpAddr ip(std::string_view s) { return IpAddr::parse(s).value(); }

inline Cluster make_cluster() {
  Cluster c;
  const char* nss[] = {"x", "y", "z"};
  const char* pods[] = {"a", "b", "c"};
  for (int n = 0; n < 3; ++n) {
    c.namespaces.push_back({nss[n], {{"ns", nss[n]}}});
    for (int i = 0; i < 3; ++i) {
      Pod p{nss[n], pods[i], {{"pod", pods[i]}}, {}, {}};
      p.ips = {ip("10.0." + std::to_string(n + 1) + "." + std::to_string(i + 1)),
               ip("fd00::" + std::to_string(n + 1) + ":" + std::to_string(i + 1))};
      p.ports = {{"serve-80-tcp", 80, Protocol::kTcp},
                 {"serve-80-udp", 80, Protocol::kUdp},
                 {"serve-81-tcp", 81, Protocol::kTcp},
                 {"serve-81-udp", 81, Protocol::kUdp},
                 {"web", static_cast<uint16_t>(i == 2 ? 8080 : 8081), Protocol::kTcp}};
      c.pods.push_back(std::move(p));
    }
  }
  return c;
}

inline Cluster with_policies(std::string_view yaml) {
  Cluster c = make_cluster();
  auto policies = parse_network_policies_yaml(yaml);
  EXPECT_TRUE(policies.has_value()) << (policies ? "" : policies.error().message());
  if (policies) c.policies = std::move(*policies);
  return c;
}

// One row per source ("xa ... ... ..."), one column per destination; '.'
// allowed, 'X' denied, destinations grouped by namespace.
inline std::string matrix(const Cluster& c, uint16_t port, Protocol proto) {
  std::string out;
  for (const char* sn : {"x", "y", "z"}) {
    for (const char* sp : {"a", "b", "c"}) {
      out += std::string(sn) + sp;
      for (const char* dn : {"x", "y", "z"}) {
        out += ' ';
        for (const char* dp : {"a", "b", "c"}) {
          out += evaluate(c, PodRef{sn, sp}, PodRef{dn, dp}, port, proto).allowed ? '.' : 'X';
        }
      }
      out += '\n';
    }
  }
  return out;
}

// The expected grid as written in a test: a raw string starting with a newline.
inline std::string grid(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return std::string(text);
}

}  // namespace strand::policy::testing
