// strand-lab verify: the NetworkPolicy truth-table runner. For each case in
// order, each step: make its changes (every change ends with the agents
// caught up on .generation), probe every pod to every pod on TCP and UDP 80
// and 81 (IPv4, and IPv6 when the lab has it) plus every node to its own pods,
// compare with the expected grids and print the cells that differ. After a
// case the lab goes back to the baseline so cases are independent.
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/fs.h"
#include "lab/cases.h"
#include "lab/lab.h"
#include "lab/named_netns.h"
#include "lab/ops.h"
#include "lab/probe.h"

namespace strand::lab {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kProtocols = {"TCP", "UDP"};
const std::vector<int> kPorts = {80, 81};
constexpr size_t kMaxReprobes = 48;

// What the lab looks like before any case: restored after each one.
struct Baseline {
  std::map<std::string, Labels> namespaces;
  std::map<std::string, Labels> pod_labels;
  std::map<std::string, json> pod_bodies;  // as applied: no uid, no status (for recreate)
};

Result<Baseline> take_baseline(const LabState& s) {
  Baseline b;
  b.namespaces = s.namespaces;
  for (const auto& [k, p] : s.pods) {
    b.pod_labels[k] = p.labels;
    auto body = pod_manifest(s, k);
    if (!body) return std::unexpected(body.error());
    body->erase("status");
    (*body)["metadata"].erase("uid");
    b.pod_bodies[k] = *body;
  }
  return b;
}

Result<std::vector<Case>> load_cases(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> here;
      for (const auto& e : fs::directory_iterator(in, ec)) {
        if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") here.push_back(e.path());
      }
      std::sort(here.begin(), here.end());
      files.insert(files.end(), here.begin(), here.end());
    } else {
      files.push_back(in);
    }
  }
  std::vector<Case> all;
  for (const auto& f : files) {
    auto text = read_file(f);
    if (!text) return std::unexpected(text.error());
    auto cs = parse_cases(*text, f);
    if (!cs) return std::unexpected(cs.error());
    for (auto& c : *cs) {
      for (const auto& prev : all) {
        if (prev.name == c.name) return fail("load cases", EINVAL, "case '" + c.name + "' in " + c.source + " and " + prev.source);
      }
      all.push_back(std::move(c));
    }
  }
  return all;
}

Result<std::vector<Object>> to_objects(const std::vector<json>& docs, const std::string& where) {
  std::vector<Object> out;
  for (const auto& d : docs) {
    auto objs = parse_manifests(d.dump(), where);  // JSON is YAML
    if (!objs) return std::unexpected(objs.error());
    out.insert(out.end(), objs->begin(), objs->end());
  }
  return out;
}

Result<std::string> lab_ip(const LabState& s, const std::string& pod, int family) {
  auto it = s.pods.find(pod);
  if (it == s.pods.end()) return fail("template", ENOENT, "no pod " + pod);
  for (const auto& ip : it->second.ips) {
    if ((ip.find(':') == std::string::npos) == (family == 4)) return ip;
  }
  return fail("template", ENOENT, fmt::format("pod {} has no IPv{} address", pod, family));
}

// The step's changes: deletes, recreate, apply.
Status run_changes(LabState& s, const Baseline& b, const Step& step, std::ostream& log) {
  for (const auto& d : step.deletes) {
    if (auto st = delete_object(s, d.kind, d.key, log); !st) return st;
  }
  if (!step.recreate.empty()) {
    std::vector<json> bodies;
    for (const auto& k : step.recreate) {
      auto it = b.pod_bodies.find(k);
      if (it == b.pod_bodies.end()) return fail("recreate", ENOENT, k + " is not a pod of the baseline");
      if (s.pods.contains(k)) return fail("recreate", EEXIST, k + " still exists (delete it in an earlier step)");
      bodies.push_back(it->second);
    }
    auto objs = to_objects(bodies, "recreate");
    if (!objs) return std::unexpected(objs.error());
    if (auto st = apply_objects(s, *objs, log); !st) return st;
  }
  if (!step.apply.empty()) {
    std::vector<json> docs;
    for (const auto& o : step.apply) {
      auto e = expand_templates(o, [&](const std::string& pod, int fam) { return lab_ip(s, pod, fam); });
      if (!e) return std::unexpected(e.error());
      docs.push_back(std::move(*e));
    }
    auto objs = to_objects(docs, "step '" + step.name + "'");
    if (!objs) return std::unexpected(objs.error());
    if (auto st = apply_objects(s, *objs, log); !st) return st;
  }
  return {};
}

// Back to the baseline: policies and new pods and namespaces deleted, deleted
// pods re-created, labels restored; one sync at the end.
Status restore(LabState& s, const Baseline& b, std::ostream& log) {
  std::vector<std::string> policies;
  for (const auto& [k, _] : s.policies) policies.push_back(k);
  for (const auto& k : policies) {
    if (auto st = delete_object(s, "networkpolicy", k, log, false); !st) return st;
  }
  std::vector<std::string> extra_pods, extra_ns;
  for (const auto& [k, _] : s.pods) {
    if (!b.pod_labels.contains(k)) extra_pods.push_back(k);
  }
  for (const auto& k : extra_pods) {
    if (auto st = delete_object(s, "pod", k, log, false); !st) return st;
  }
  for (const auto& [k, _] : s.namespaces) {
    if (!b.namespaces.contains(k)) extra_ns.push_back(k);
  }
  for (const auto& k : extra_ns) {
    if (auto st = delete_object(s, "namespace", k, log, false); !st) return st;
  }
  std::vector<json> docs;
  for (const auto& [k, labels] : b.namespaces) {
    auto it = s.namespaces.find(k);
    if (it == s.namespaces.end() || it->second != labels) {
      docs.push_back({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", k}, {"labels", labels}}}});
    }
  }
  for (const auto& [k, labels] : b.pod_labels) {
    auto it = s.pods.find(k);
    if (it == s.pods.end()) {
      docs.push_back(b.pod_bodies.at(k));
    } else if (it->second.labels != labels) {
      json meta = {{"name", it->second.name}, {"namespace", it->second.ns}, {"labels", labels}};
      docs.push_back({{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}});
    }
  }
  auto objs = to_objects(docs, "restore");
  if (!objs) return std::unexpected(objs.error());
  return apply_objects(s, *objs, log);  // syncs, also for the deletes above
}

struct Probed {
  std::vector<CellResult> cells;
  size_t probes = 0;
  size_t retried = 0;    // blocked probes expected reachable, probed again with a longer timeout
  size_t recovered = 0;  // of those, reachable the second time
};

// Every cell of the step: pods to pods for each combination, nodes to their own pods.
Result<Probed> probe_step(const LabState& s, const Step& step, const std::vector<int>& families, int timeout_ms,
                          unsigned parallel) {
  std::vector<std::string> pods;
  for (const auto& [k, _] : s.pods) pods.push_back(k);
  {
    auto want = step.expect.grids.front().pods;
    std::sort(want.begin(), want.end());
    if (want != pods) {
      std::string a, b;
      for (const auto& p : want) a += " " + p;
      for (const auto& p : pods) b += " " + p;
      return fail("expectation", EINVAL, "the grids list the pods" + a + " but the lab has" + b);
    }
  }
  std::vector<ProbeTarget> targets;
  Probed out;
  for (int fam : families) {
    for (const auto& proto : kProtocols) {
      for (int port : kPorts) {
        Combo combo{fam, proto, port};
        auto grid = step.expect.for_combo(combo);
        if (!grid) return std::unexpected(grid.error());
        auto add = [&](const std::string& from, const std::string& from_ns, const PodState& to, bool expected) -> Status {
          auto ip = lab_ip(s, to.key(), fam);
          if (!ip) return std::unexpected(ip.error());
          ProbeTarget t;
          t.from_ns_path = netns_path(from_ns);
          t.from = from;
          t.to = to.key();
          t.ip = *IpAddr::parse(*ip);
          t.port = port;
          t.protocol = proto;
          targets.push_back(t);
          out.cells.push_back(CellResult{combo, from, to.key(), expected, false, {}});
          return {};
        };
        for (const auto& [fk, f] : s.pods) {
          for (const auto& [tk, t] : s.pods) {
            if (auto st = add(fk, f.netns, t, *(*grid)->reachable(fk, tk)); !st) return std::unexpected(st.error());
          }
        }
        // A node always reaches its own pods (kubelet probes), whatever the policies.
        for (const auto& n : s.nodes) {
          for (const auto& [tk, t] : s.pods) {
            if (t.node != n.name) continue;
            if (auto st = add(n.name, n.netns, t, true); !st) return std::unexpected(st.error());
          }
        }
      }
    }
  }
  auto results = probe_all(targets, timeout_ms, parallel);
  out.probes = results.size();
  // A reachable cell that timed out once on a loaded machine is probed again
  // with a longer timeout before it counts as blocked; the count is reported.
  std::vector<size_t> again;
  for (size_t i = 0; i < results.size(); ++i) {
    out.cells[i].got = results[i].reachable;
    out.cells[i].detail = results[i].detail;
    if (out.cells[i].expected && !results[i].reachable) again.push_back(i);
  }
  // Many such cells are no slow probes but a datapath that blocks: not re-probed.
  if (!again.empty() && again.size() <= kMaxReprobes) {
    std::vector<ProbeTarget> t2;
    for (size_t i : again) t2.push_back(targets[i]);
    auto r2 = probe_all(t2, std::max(1500, timeout_ms * 3), parallel);
    out.retried = again.size();
    for (size_t k = 0; k < again.size(); ++k) {
      if (r2[k].reachable) ++out.recovered;
      out.cells[again[k]].got = r2[k].reachable;
      out.cells[again[k]].detail = r2[k].detail;
    }
  }
  return out;
}

// Expected and probed grids side by side for the combinations where cells
// differ; combinations with the same pair of grids are shown once.
std::string grids_side_by_side(const std::vector<CellResult>& cells, const std::vector<std::string>& pods) {
  std::vector<std::pair<std::string, std::string>> shown;  // (combos, grids text)
  std::map<std::string, size_t> by_text;
  std::vector<std::string> order;
  std::map<std::string, std::pair<Grid, Grid>> grids;  // combo name -> (expected, got)
  for (const auto& c : cells) {
    const std::string name = combo_name(c.combo);
    auto [it, fresh] = grids.try_emplace(name);
    if (fresh) {
      order.push_back(name);
      for (Grid* g : {&it->second.first, &it->second.second}) {
        g->pods = pods;
        g->cells.assign(pods.size(), std::string(pods.size(), '?'));
      }
    }
    auto f = std::find(pods.begin(), pods.end(), c.from);
    auto t = std::find(pods.begin(), pods.end(), c.to);
    if (f == pods.end() || t == pods.end()) continue;  // node rows: in the cell list only
    it->second.first.cells[f - pods.begin()][t - pods.begin()] = c.expected ? '.' : 'X';
    it->second.second.cells[f - pods.begin()][t - pods.begin()] = c.got ? '.' : 'X';
  }
  for (const auto& name : order) {
    const auto& [exp, got] = grids.at(name);
    if (exp.cells == got.cells) continue;
    std::istringstream e(grid_text(exp)), g(grid_text(got));
    std::string text, le, lg;
    size_t width = 0;
    std::vector<std::pair<std::string, std::string>> lines;
    while (std::getline(e, le) && std::getline(g, lg)) {
      width = std::max(width, le.size());
      lines.emplace_back(le, lg.substr(lg.find(' ')));
    }
    text += fmt::format("    {:<{}}   got\n", "expected", width);
    for (const auto& [l, r] : lines) text += fmt::format("    {:<{}}  {}\n", l, width, r);
    if (auto it = by_text.find(text); it != by_text.end()) {
      shown[it->second].first += ", " + name;
    } else {
      by_text[text] = shown.size();
      shown.emplace_back(name, text);
    }
  }
  std::string out;
  for (const auto& [names, text] : shown) out += "  " + names + ":\n" + text;
  return out;
}

}  // namespace

int cmd_verify(const VerifyOptions& o) {
  auto cases = load_cases(o.cases);
  if (!cases) {
    std::cerr << "strand-lab: verify: " << cases.error().message() << "\n";
    return 2;
  }
  for (const auto& name : o.only) {
    if (std::none_of(cases->begin(), cases->end(), [&](const Case& c) { return c.name == name; })) {
      std::cerr << "strand-lab: verify: no case named " << name << "\n";
      return 2;
    }
  }
  // The cases are about the datapath: every change must be in it before probing.
  require_generation(true);
  auto lock = LabLock::take(o.name);
  if (!lock) {
    std::cerr << "strand-lab: lock: " << lock.error().message() << "\n";
    return 2;
  }
  auto s = load_state(o.name);
  if (!s) {
    std::cerr << "strand-lab: verify: " << s.error().message() << "\n";
    return 2;
  }
  std::ostringstream log;  // the changes' progress lines, shown when a step fails
  auto save = [&] { (void)save_state(*s); };
  if (!o.cluster.empty()) {
    auto text = read_file(o.cluster);
    auto objs = text ? parse_manifests(*text, o.cluster) : Result<std::vector<Object>>(std::unexpected(text.error()));
    if (!objs) {
      std::cerr << "strand-lab: verify: " << objs.error().message() << "\n";
      return 2;
    }
    auto st = apply_objects(*s, *objs, log);
    save();
    if (!st) {
      std::cerr << "strand-lab: verify: applying " << o.cluster << ": " << st.error().message() << "\n" << log.str();
      return 1;
    }
  }
  if (!s->policies.empty()) {
    std::cerr << "strand-lab: verify: the lab already has NetworkPolicies (" << s->policies.begin()->first
              << ", ...): the cases expect none but their own\n";
    return 2;
  }
  auto base = take_baseline(*s);
  if (!base) {
    std::cerr << "strand-lab: verify: " << base.error().message() << "\n";
    return 2;
  }
  std::vector<int> families;
  if (o.family != "6") families.push_back(4);
  if (o.family == "6" || (o.family == "all" && s->ipv6)) families.push_back(6);

  const auto t0 = Clock::now();
  size_t n_cases = 0, n_steps = 0, failed_steps = 0, probes = 0, retried = 0, recovered = 0;
  std::vector<std::string> failed_cases;
  for (const auto& c : *cases) {
    if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), c.name) == o.only.end()) continue;
    ++n_cases;
    std::cout << "== " << c.name << (c.description.empty() ? "" : ": " + c.description) << "\n";
    bool case_ok = true;
    for (const auto& step : c.steps) {
      ++n_steps;
      log.str("");
      const auto ts = Clock::now();
      auto st = run_changes(*s, *base, step, log);
      save();
      if (!st) {
        std::cout << fmt::format("  FAIL {}: {}\n{}", step.name, st.error().message(), log.str());
        ++failed_steps;
        case_ok = false;
        break;  // the later steps build on this one
      }
      const double apply_s = std::chrono::duration<double>(Clock::now() - ts).count();
      auto pr = probe_step(*s, step, families, o.timeout_ms, o.parallel);
      if (!pr) {
        std::cout << fmt::format("  FAIL {}: {}\n", step.name, pr.error().message());
        ++failed_steps;
        case_ok = false;
        continue;
      }
      probes += pr->probes;
      retried += pr->retried;
      recovered += pr->recovered;
      size_t differ = std::count_if(pr->cells.begin(), pr->cells.end(), [](const CellResult& x) { return x.expected != x.got; });
      const double total_s = std::chrono::duration<double>(Clock::now() - ts).count();
      std::string retry_note = pr->retried ? fmt::format(", {} re-probed, {} then reachable", pr->retried, pr->recovered) : "";
      if (differ == 0) {
        std::cout << fmt::format("  ok   {} ({} probes{}; changes {:.2f} s, total {:.2f} s)\n", step.name, pr->probes,
                                 retry_note, apply_s, total_s);
        continue;
      }
      ++failed_steps;
      case_ok = false;
      std::vector<std::string> pods;
      for (const auto& [k, _] : s->pods) pods.push_back(k);
      std::cout << fmt::format("  FAIL {}: {} of {} cells differ{}\n", step.name, differ, pr->probes, retry_note)
                << render_diff(pr->cells, 24) << grids_side_by_side(pr->cells, pods);
    }
    log.str("");
    auto st = restore(*s, *base, log);
    save();
    if (!st) {
      std::cout << "  FAIL restoring the baseline after " << c.name << ": " << st.error().message() << "\n" << log.str();
      std::cout << "verify: stopped (the lab is not at its baseline)\n";
      return 1;
    }
    if (!case_ok) failed_cases.push_back(c.name);
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::cout << fmt::format("verify: {} cases, {} steps, {} failed steps; {} probes ({} re-probed, {} then reachable) in {:.1f} s\n",
                           n_cases, n_steps, failed_steps, probes, retried, recovered, secs);
  if (!failed_cases.empty()) {
    std::string names;
    for (const auto& n : failed_cases) names += " " + n;
    std::cout << "failed cases:" << names << "\n";
    return 1;
  }
  return 0;
}

}  // namespace strand::lab
