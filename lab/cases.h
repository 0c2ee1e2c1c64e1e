#pragma once
// NetworkPolicy truth-table cases (`strand-lab verify`; the format is
// documented in e2e/policy/README.md): parsing, expected grids, the
// {{ns/pod.ipv4}} templates and the diff a run prints. Pure: the runner
// (lab/verify.cpp) and the oracle test (tests/unit/policy_cases) share it.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace strand::lab {

// A reachability grid as a case writes it: one line per source pod,
// "ns/pod CELLS", one cell per destination in the order of the rows ('.'
// reachable, 'X' blocked; spaces between cells are ignored, '#' starts a
// comment line). The grid is square: the rows name the pods.
struct Grid {
  std::vector<std::string> pods;
  std::vector<std::string> cells;  // cells[i][j]: pods[i] -> pods[j]

  // nullopt when `from` or `to` is not in the grid.
  [[nodiscard]] std::optional<bool> reachable(std::string_view from, std::string_view to) const;
  bool operator==(const Grid&) const = default;
};

[[nodiscard]] Result<Grid> parse_grid(std::string_view text);
// The grid back as text, cells grouped by namespace ("x/a .XX ... ...").
[[nodiscard]] std::string grid_text(const Grid& g);

// One probed combination: address family, protocol and port.
struct Combo {
  int family = 4;  // 4 or 6
  std::string protocol = "TCP";
  int port = 80;
  bool operator==(const Combo&) const = default;
};
[[nodiscard]] std::string combo_name(const Combo& c);  // "v4 TCP/80"

// A key of `expect`: "[v4 |v6 ](TCP|UDP|*)/(PORT|*)", or "*" for everything.
// Unset parts (family 0, protocol "", port 0) match anything.
struct ExpectKey {
  int family = 0;
  std::string protocol;
  int port = 0;
  [[nodiscard]] bool matches(const Combo& c) const;
  [[nodiscard]] int specificity() const;  // number of set parts
};
[[nodiscard]] Result<ExpectKey> parse_expect_key(std::string_view key);

struct Expectation {
  std::vector<std::pair<std::string, ExpectKey>> keys;  // as written, parsed
  std::vector<Grid> grids;                              // grids[i] for keys[i]

  // The grid of the most specific key matching `c`; ENOENT when none does,
  // EINVAL when two keys of the same specificity match (ambiguous).
  [[nodiscard]] Result<const Grid*> for_combo(const Combo& c) const;
};

// A change a step makes before its expectation is checked, in this order:
// deletes, then recreate (pods of the baseline, as they were), then apply
// (Namespaces, NetworkPolicies, Pods; an existing Pod or Namespace gets the
// labels given, a NetworkPolicy is replaced).
struct Deletion {
  std::string kind;  // pod | namespace | networkpolicy
  std::string key;   // ns/name (namespace: name)
};

struct Step {
  std::string name;
  std::vector<Deletion> deletes;
  std::vector<std::string> recreate;  // ns/pod
  std::vector<nlohmann::json> apply;  // objects, templates not expanded
  Expectation expect;
};

struct Case {
  std::string name;
  std::string description;
  std::string source;  // file (and document) it came from
  std::vector<Step> steps;
};

// Every case of a YAML stream (one case per document). Errors name the
// source, case and field.
[[nodiscard]] Result<std::vector<Case>> parse_cases(std::string_view text, std::string_view source);

// Replaces "{{ns/pod.ipv4}}" and "{{ns/pod.ipv6}}" in every string of `obj`
// by what `lookup` returns for the pod and family (4 or 6).
using IpLookup = std::function<Result<std::string>(const std::string& pod, int family)>;
[[nodiscard]] Result<nlohmann::json> expand_templates(const nlohmann::json& obj, const IpLookup& lookup);

// One probed cell compared with its expectation.
struct CellResult {
  Combo combo;
  std::string from, to;  // "ns/pod" (from may be a node name)
  bool expected = false;
  bool got = false;
  std::string detail;  // why a probe failed ("timeout", "connection refused")
};

// The readable diff of the cells that differ: one line per cell ("v4 TCP/80
// x/a -> y/b: expected reachable, got blocked (timeout)"), at most `limit`
// lines, then how many more.
[[nodiscard]] std::string render_diff(const std::vector<CellResult>& cells, size_t limit = 60);

}  // namespace strand::lab
