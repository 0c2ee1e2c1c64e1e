// The oracle of the NetworkPolicy truth-table suite (e2e/policy): for every
// case, the cluster strand-lab would have at each step (namespaces and pods
// of e2e/policy/cluster.yaml on two nodes, addresses from each node's
// PodCIDR, the case's changes applied as `strand-lab verify` applies them),
// every cell of every expected grid evaluated with agent/policy/evaluate.h.
// A disagreement means the case or the reference is wrong; the message shows
// the reference's reason for each cell.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "agent/policy/evaluate.h"
#include "agent/policy/k8s_json.h"
#include "common/fs.h"
#include "lab/cases.h"
#include "lab/manifest.h"
#include "lab/objects.h"

namespace strand::lab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kSuite = STRAND_POLICY_SUITE;
constexpr int kNodes = 2;

struct Loaded {
  std::string name;  // gtest-safe
  Case c;
  std::string error;  // a file that failed to parse
};

std::vector<Loaded> load_all() {
  std::vector<Loaded> out;
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kSuite + "/cases", ec)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) out.push_back({"no_cases", {}, "no case files in " + kSuite + "/cases"});
  for (const auto& f : files) {
    auto text = read_file(f);
    auto cases = text ? parse_cases(*text, f) : Result<std::vector<Case>>(std::unexpected(text.error()));
    if (!cases) {
      std::string n = fs::path(f).stem();
      std::replace_if(n.begin(), n.end(), [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)); }, '_');
      out.push_back({"file_" + n, {}, cases.error().message()});
      continue;
    }
    for (auto& c : *cases) {
      std::string n = c.name;
      std::replace_if(n.begin(), n.end(), [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)); }, '_');
      out.push_back({n, std::move(c), ""});
    }
  }
  return out;
}

NodeState node(int i) {
  NodeState n;
  n.name = fmt::format("node{}", i);
  n.index = i;
  n.ips = {fmt::format("10.100.0.{}", i), fmt::format("fd00:100::{:x}", i)};
  n.pod_cidrs = {fmt::format("10.244.{}.0/24", i), fmt::format("fd00:10:244:{:x}::/64", i)};
  return n;
}

// The lab as `strand-lab verify` drives it, without kernels: the same objects
// and semantics of apply and delete (lab/lab.cpp), addresses handed out per node.
class Sim {
 public:
  Status load_cluster() {
    auto text = read_file(kSuite + "/cluster.yaml");
    if (!text) return std::unexpected(text.error());
    auto objs = parse_manifests(*text, "cluster.yaml");
    if (!objs) return std::unexpected(objs.error());
    for (int i = 1; i <= kNodes; ++i) nodes_.push_back(node(i));
    if (auto st = apply(*objs); !st) return st;
    namespaces_["default"];  // strand-lab up makes it
    base_ = pods_;
    return {};
  }

  Status apply(const std::vector<Object>& objs) {
    for (const auto& o : objs) {
      if (o.kind == "Namespace") namespaces_[o.name] = *labels_of(o.body);
    }
    for (const auto& o : objs) {
      if (o.kind != "NetworkPolicy") continue;
      namespaces_[o.ns];
      policies_[o.key()] = o.body;
    }
    for (const auto& o : objs) {
      if (o.kind != "Pod") continue;
      namespaces_[o.ns];
      if (auto it = pods_.find(o.key()); it != pods_.end()) {
        it->second.labels = *labels_of(o.body);  // labels only
        continue;
      }
      auto n = o.body["spec"].value("nodeName", "");
      if (n.starts_with("node")) n = n.substr(4);
      int idx = n.empty() ? 0 : std::stoi(n);
      if (idx < 1 || idx > kNodes) return fail("sim", EINVAL, "pod " + o.key() + ": give spec.nodeName node1|node2");
      PodState p;
      p.ns = o.ns;
      p.name = o.name;
      p.uid = "uid-" + o.key();
      p.node = nodes_[idx - 1].name;
      p.labels = *labels_of(o.body);
      p.ports = *pod_ports(o.body);
      int host = ++next_host_[idx] + 1;  // .2, .3, ... as host-local hands them out
      p.ips = {fmt::format("10.244.{}.{}", idx, host), fmt::format("fd00:10:244:{:x}::{:x}", idx, host)};
      bodies_[o.key()] = o.body;
      pods_[o.key()] = p;
    }
    return {};
  }

  Status remove(const Deletion& d) {
    if (d.kind == "pod") {
      if (pods_.erase(d.key) == 0) return fail("delete", ENOENT, "no pod " + d.key);
    } else if (d.kind == "networkpolicy") {
      if (policies_.erase(d.key) == 0) return fail("delete", ENOENT, "no networkpolicy " + d.key);
    } else {
      if (namespaces_.erase(d.key) == 0) return fail("delete", ENOENT, "no namespace " + d.key);
      std::erase_if(pods_, [&](const auto& kv) { return kv.second.ns == d.key; });
      std::erase_if(policies_, [&](const auto& kv) { return kv.first.starts_with(d.key + "/"); });
    }
    return {};
  }

  Status step(const Step& s) {
    for (const auto& d : s.deletes) {
      if (auto st = remove(d); !st) return st;
    }
    std::vector<Object> objs;
    for (const auto& k : s.recreate) {
      if (!base_.contains(k)) return fail("recreate", ENOENT, k + " is not a pod of the baseline");
      if (pods_.contains(k)) return fail("recreate", EEXIST, k + " still exists");
      auto o = parse_manifests(bodies_.at(k).dump(), "recreate");
      if (!o) return std::unexpected(o.error());
      json b = bodies_.at(k);
      b["metadata"]["labels"] = base_.at(k).labels;
      objs.push_back(Object{"Pod", o->front().ns, o->front().name, b});
    }
    if (auto st = apply(objs); !st) return st;
    objs.clear();
    for (const auto& doc : s.apply) {
      auto e = expand_templates(doc, [&](const std::string& pod, int fam) -> Result<std::string> {
        auto it = pods_.find(pod);
        if (it == pods_.end()) return fail("template", ENOENT, "no pod " + pod);
        return it->second.ips[fam == 4 ? 0 : 1];
      });
      if (!e) return std::unexpected(e.error());
      auto o = parse_manifests(e->dump(), "step " + s.name);
      if (!o) return std::unexpected(o.error());
      objs.insert(objs.end(), o->begin(), o->end());
    }
    return apply(objs);
  }

  Result<policy::Cluster> cluster() const {
    policy::Cluster c;
    for (const auto& [name, labels] : namespaces_) {
      auto ns = policy::parse_namespace(namespace_object(name, labels));
      if (!ns) return std::unexpected(ns.error());
      c.namespaces.push_back(*ns);
    }
    for (const auto& [k, p] : pods_) {
      const NodeState* n = &nodes_[std::stoi(p.node.substr(4)) - 1];
      auto pod = policy::parse_pod(pod_object(bodies_.at(k), p, *n));
      if (!pod) return std::unexpected(pod.error());
      c.pods.push_back(*pod);
    }
    for (const auto& [k, body] : policies_) {
      json b = body;
      b["apiVersion"] = b.value("apiVersion", "networking.k8s.io/v1");
      auto np = policy::parse_network_policy(b);
      if (!np) return std::unexpected(np.error());
      c.policies.push_back(*np);
    }
    for (const auto& n : nodes_) {
      for (const auto& ip : n.ips) c.node_ips.push_back(*IpAddr::parse(ip));
    }
    return c;
  }

  const std::map<std::string, PodState>& pods() const { return pods_; }
  const NodeState& node_of(const PodState& p) const { return nodes_[std::stoi(p.node.substr(4)) - 1]; }

 private:
  std::vector<NodeState> nodes_;
  std::map<std::string, Labels> namespaces_;
  std::map<std::string, PodState> pods_, base_;
  std::map<std::string, json> bodies_;
  std::map<std::string, json> policies_;
  std::map<int, int> next_host_;
};

policy::Protocol proto_of(const std::string& p) { return p == "UDP" ? policy::Protocol::kUdp : policy::Protocol::kTcp; }

void PrintTo(const Loaded& l, std::ostream* os) { *os << l.name; }

class Oracle : public ::testing::TestWithParam<Loaded> {};

TEST_P(Oracle, ExpectedGridsAgreeWithTheReference) {
  const Loaded& l = GetParam();
  ASSERT_TRUE(l.error.empty()) << l.error;
  Sim sim;
  auto st = sim.load_cluster();
  ASSERT_TRUE(st) << st.error().message();
  for (const Step& step : l.c.steps) {
    SCOPED_TRACE(l.c.source + " step '" + step.name + "'");
    auto changed = sim.step(step);
    ASSERT_TRUE(changed) << changed.error().message();
    auto cluster = sim.cluster();
    ASSERT_TRUE(cluster) << cluster.error().message();
    std::vector<std::string> pods;
    for (const auto& [k, _] : sim.pods()) pods.push_back(k);
    auto listed = step.expect.grids.front().pods;
    std::sort(listed.begin(), listed.end());
    ASSERT_EQ(listed, pods) << "the grids must list exactly the pods the lab has at this step";
    std::vector<CellResult> cells;
    for (int fam : {4, 6}) {
      for (const char* proto : {"TCP", "UDP"}) {
        for (int port : {80, 81}) {
          Combo combo{fam, proto, port};
          auto grid = step.expect.for_combo(combo);
          ASSERT_TRUE(grid) << grid.error().message();
          for (const auto& [fk, f] : sim.pods()) {
            for (const auto& [tk, t] : sim.pods()) {
              auto v = policy::evaluate(*cluster, *IpAddr::parse(f.ips[fam == 4 ? 0 : 1]),
                                        *IpAddr::parse(t.ips[fam == 4 ? 0 : 1]), static_cast<uint16_t>(port),
                                        proto_of(proto));
              cells.push_back({combo, fk, tk, *(*grid)->reachable(fk, tk), v.allowed, v.reason});
            }
            // The node of the pod reaches it, whatever the policies.
            const NodeState& n = sim.node_of(f);
            auto v = policy::evaluate(*cluster, *IpAddr::parse(n.ips[fam == 4 ? 0 : 1]),
                                      *IpAddr::parse(f.ips[fam == 4 ? 0 : 1]), static_cast<uint16_t>(port),
                                      proto_of(proto));
            cells.push_back({combo, n.name, fk, true, v.allowed, v.reason});
          }
        }
      }
    }
    // "got" is the reference's verdict, with its reason.
    std::string diff;
    size_t n = 0;
    for (const auto& c : cells) {
      if (c.expected == c.got || n++ >= 40) continue;
      diff += fmt::format("  {} {} -> {}: case says {}, evaluate.h says {}: {}\n", combo_name(c.combo), c.from, c.to,
                          c.expected ? "reachable" : "blocked", c.got ? "reachable" : "blocked", c.detail);
    }
    EXPECT_EQ(n, 0u) << n << " cells disagree:\n" << diff;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, Oracle, ::testing::ValuesIn(load_all()),
                         [](const ::testing::TestParamInfo<Loaded>& i) { return i.param.name; });

}  // namespace
}  // namespace strand::lab
