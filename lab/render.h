#pragma once
// What strand-lab prints: tables, the reachability grid and the JSON shapes of
// the command line contract (issue 4). Pure.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/state.h"

namespace strand::lab {

// JSON keys in the order the contract writes them.
// get pods -o json: {"items":[{"namespace","name","node","ips","labels"}]}
[[nodiscard]] nlohmann::ordered_json pods_json(const LabState& s);
// get nodes -o json: {"items":[{"name","ips","podCIDRs"}]}
[[nodiscard]] nlohmann::ordered_json nodes_json(const LabState& s);
[[nodiscard]] std::string pods_table(const LabState& s);
[[nodiscard]] std::string nodes_table(const LabState& s);

struct ProbeResult {
  std::string from, to;   // "ns/pod", and "ns/pod" or the IP as given
  int port = 0;
  std::string protocol = "TCP";
  bool reachable = false;
  double ms = 0;          // time to connect and get the echo back (or to give up)
  std::string detail;     // why it failed: "timeout", "connection refused", ...
};
// probe -o json: {"from","to","port","protocol","reachable","ms"}
[[nodiscard]] nlohmann::ordered_json probe_json(const ProbeResult& r);
[[nodiscard]] std::string probe_line(const ProbeResult& r);

// `strand-lab traffic`: what a steady stream of new flows (and optionally one
// long-lived TCP connection) from one pod to one destination saw.
struct TrafficFailure {
  double at_ms = 0;     // when the attempt started, from the start of the run
  int64_t time_ms = 0;  // the same as unix milliseconds (to line up with other logs)
  std::string detail;   // "timeout", "connection refused", "1 retransmission", ...
};
struct TrafficLoop {
  std::string protocol = "TCP";
  int port = 0;
  uint64_t attempts = 0;  // each a new flow: a TCP connection, a UDP socket with its own source port
  uint64_t ok = 0;        // echoed back within the timeout
  double max_ms = 0;      // the slowest successful attempt
  std::vector<TrafficFailure> failures;  // the first kMaxTrafficFailures; attempts - ok is the count
};
struct TrafficConnection {
  int port = 0;
  uint64_t exchanges = 0;        // messages echoed back
  uint64_t sent_bytes = 0;
  uint64_t echoed_bytes = 0;
  unsigned retransmits = 0;      // segments the kernel had to send again
  std::optional<TrafficFailure> failure;  // the connection broke (it is not reopened)
};
struct TrafficReport {
  std::string from, to;
  int interval_ms = 0;
  double duration_ms = 0;
  std::vector<TrafficLoop> loops;
  std::optional<TrafficConnection> connection;

  // Every attempt echoed, and the connection (if any) unbroken without a retransmission.
  [[nodiscard]] bool clean() const;
};
inline constexpr size_t kMaxTrafficFailures = 100;
// traffic -o json: {"from","to","intervalMs","durationMs","clean",
//   "loops":[{"protocol","port","attempts","ok","failed","maxMs","failures":[{"atMs","timeMs","detail"}]}],
//   "connection":{"port","exchanges","sentBytes","echoedBytes","retransmits","failure"}|null}
[[nodiscard]] nlohmann::ordered_json traffic_json(const TrafficReport& r);
[[nodiscard]] std::string traffic_text(const TrafficReport& r);

// Reachability, reachable[from][to], for `pods` in order (rows: `rows` when set).
struct Matrix {
  int port = 0;
  std::string protocol = "TCP";
  std::vector<std::string> pods;
  std::vector<std::string> rows;  // the "from" pods when only some are probed; empty: all of `pods`
  std::map<std::string, std::map<std::string, bool>> reachable;
};
// matrix -o json: {"port","protocol","pods":[...],"reachable":{"a":{"b":true}}}
[[nodiscard]] nlohmann::ordered_json matrix_json(const Matrix& m);
// Rows from, columns to; '.' reachable, 'X' blocked. Columns are numbered and
// the numbers are listed with the row names so wide names stay readable.
[[nodiscard]] std::string matrix_grid(const Matrix& m);

// The same grid compactly: "x/a .XX ... ..." (cells grouped by namespace, columns in the order of `pods`).
[[nodiscard]] std::string matrix_compact(const Matrix& m);

// A table with columns padded to their widest cell (two spaces apart).
[[nodiscard]] std::string table(const std::vector<std::vector<std::string>>& rows);

}  // namespace strand::lab
