// bench_policy_apply: policy apply latency against a running strand-agent
// (--source-dir DIR, --http ADDR), by the agent's generation contract: after
// writing manifests, write the decimal `DIR/.generation` (temp + rename);
// GET /v1/policies answers a top-level "generation": N once everything written
// before it is applied to the datapath.
//
//   bench_policy_apply wait --dir DIR --http HOST:PORT [--timeout-ms 60000]
//       waits until the agent reports the generation in DIR/.generation;
//       prints {"generation":N,"ms":T}. Exit 3: the agent's /v1/policies has
//       no "generation" (the contract is not implemented by this agent).
//   bench_policy_apply latency --dir DIR --http HOST:PORT --count K [gen options]
//       K times: write one more policy (bench_policy_gen's policy number
//       --first-index + k, selecting the server, ten rules) as DIR/extra-<n>.json,
//       bump DIR/.generation, and poll /v1/policies (a connection per poll,
//       --poll-us between polls) until the agent reports it. t0 is
//       taken before the policy file is written, t1 when the answer naming the
//       generation has arrived. Prints one JSON object: samples, p50, p90,
//       p99, max (ms), the polls' own round-trip time and the body size.
//   bench_policy_apply latency ... --probe SERVER_IP --probe-base PORT
//       the same, but timed in the datapath instead of by the agent's report:
//       sample k's policy also allows the client on TCP PORT+k, and t1 is
//       when a TCP connect from here (run it in the client's netns) to
//       SERVER_IP:PORT+k completes. Attempts: non-blocking connect, 1 ms for
//       the SYN-ACK, else closed and retried (a dropped SYN leaves nothing
//       behind). Before writing, the port must be blocked. No HTTP.
//   bench_policy_apply listen --probe-base PORT --count K
//       (in the server's netns) accepts and closes on TCP PORT..PORT+K-1
//       until killed.
// --path: what to GET instead of /v1/policies (e.g. a query that keeps the
// body small: at 1000 policies the full list is large and rendering it for
// every poll loads the agent being measured).
#include <CLI/CLI.hpp>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/bench/policy/gen.h"

namespace {

using Clock = std::chrono::steady_clock;
using strand::bench::policy::GenSpec;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Writes `text` to dir/name through a temp file and rename (the agent never
// sees a half-written file).
bool write_atomic(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string tmp = dir + "/.tmp-" + name;
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!(f << text) || !f.flush()) return false;
  }
  return std::rename(tmp.c_str(), (dir + "/" + name).c_str()) == 0;
}

std::optional<uint64_t> read_generation(const std::string& dir) {
  std::ifstream f(dir + "/.generation");
  uint64_t g = 0;
  if (!(f >> g)) return std::nullopt;
  return g;
}

// The top-level "generation" of a /v1/policies body. Searched as text: the body
// is large at 1000 policies and only this member matters here.
enum class GenState { kOk, kAbsent, kBad };
GenState parse_generation(const std::string& body, uint64_t& out) {
  // nlohmann (the agent's JSON) writes object members in key order, so a
  // top-level "generation" precedes "items"; a "generation" inside an item
  // comes after "items" starts.
  const auto g = body.find("\"generation\":");
  const auto items = body.find("\"items\":");
  if (g == std::string::npos || (items != std::string::npos && items < g)) {
    // Fall back to a real parse: key order is not part of the contract.
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return GenState::kBad;
    if (!j.contains("generation")) return GenState::kAbsent;
    if (!j["generation"].is_number_unsigned()) return GenState::kBad;
    out = j["generation"].get<uint64_t>();
    return GenState::kOk;
  }
  size_t i = g + 13;
  while (i < body.size() && body[i] == ' ') ++i;
  if (i >= body.size() || body[i] < '0' || body[i] > '9') return GenState::kBad;
  uint64_t v = 0;
  while (i < body.size() && body[i] >= '0' && body[i] <= '9') v = v * 10 + static_cast<uint64_t>(body[i++] - '0');
  out = v;
  return GenState::kOk;
}

struct Poller {
  httplib::Client cli;
  std::vector<double> rtt_ms;
  size_t body_bytes = 0;

  std::string path;

  Poller(const std::string& host, int port, std::string p) : cli(host, port), path(std::move(p)) {
    // A new connection per poll: on a kept-alive connection Linux's delayed
    // ACK (the client) meets Nagle (the agent's server writes headers and body
    // separately) and every answer waits ~40 ms; a fresh connection starts in
    // quick-ACK mode. Connecting over loopback costs tens of microseconds.
    cli.set_keep_alive(false);
    cli.set_tcp_nodelay(true);
    cli.set_connection_timeout(2, 0);
    cli.set_read_timeout(10, 0);
  }
  // One GET; nullopt on a transport or HTTP error (message to stderr once).
  std::optional<std::string> get() {
    const auto t0 = Clock::now();
    auto res = cli.Get(path);
    if (!res || res->status != 200) return std::nullopt;
    rtt_ms.push_back(ms_since(t0));
    body_bytes = res->body.size();
    return res->body;
  }
};

// Polls until the agent reports >= want. 0: reached; 1: timeout or error; 3: no generation.
int wait_for(Poller& p, uint64_t want, std::chrono::microseconds period, double timeout_ms, uint64_t& seen) {
  const auto t0 = Clock::now();
  bool warned = false;
  for (;;) {
    if (auto body = p.get()) {
      uint64_t g = 0;
      switch (parse_generation(*body, g)) {
        case GenState::kOk:
          seen = g;
          if (g >= want) return 0;
          break;
        case GenState::kAbsent: return 3;
        case GenState::kBad:
          std::fprintf(stderr, "bench_policy_apply: /v1/policies: \"generation\" is not a number\n");
          return 1;
      }
    } else if (!warned) {
      std::fprintf(stderr, "bench_policy_apply: GET /v1/policies failed (retrying)\n");
      warned = true;
    }
    if (ms_since(t0) > timeout_ms) return 1;
    std::this_thread::sleep_for(period);
  }
}

// True when a TCP connection to `a` completes within `wait`.
bool try_connect(const sockaddr_in& a, std::chrono::microseconds wait) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = false;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0) {
    ok = true;
  } else if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    timespec ts{static_cast<time_t>(wait.count() / 1000000), static_cast<long>(wait.count() % 1000000) * 1000};
    if (::ppoll(&p, 1, &ts, nullptr) == 1) {
      int err = 0;
      socklen_t len = sizeof(err);
      ok = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
    }
  }
  ::close(fd);
  return ok;
}

int listen_ports(int base, size_t count) {
  std::vector<pollfd> fds;
  for (size_t i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(base + static_cast<int>(i)));
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, 64) != 0) {
      std::fprintf(stderr, "bench_policy_apply: listen on %zu: %s\n", base + i, std::strerror(errno));
      return 1;
    }
    fds.push_back({fd, POLLIN, 0});
  }
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return 1;
    for (auto& p : fds) {
      if ((p.revents & POLLIN) == 0) continue;
      int c = ::accept4(p.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) ::close(c);
    }
  }
}

double percentile(std::vector<double> v, double q) {  // nearest rank
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"policy apply latency against strand-agent"};
  app.require_subcommand(1);
  std::string dir, http = "127.0.0.1:9464", path = "/v1/policies?summary=true";
  double timeout_ms = 60000;
  int poll_us = 1000;
  size_t count = 50;
  int pause_ms = 20;
  GenSpec spec;
  spec.first_index = 1000;  // after a 1000-policy set (the generator allows indices up to 1637)
  auto* wait = app.add_subcommand("wait", "wait until the agent reports DIR/.generation");
  auto* lat = app.add_subcommand("latency", "K policies written one by one, time until enforced");
  auto* lis = app.add_subcommand("listen", "accept on TCP PORT..PORT+K-1 until killed");
  std::string probe;
  int probe_base = 0;
  lat->add_option("--probe", probe, "time by a TCP connect to this server address instead of the agent's report");
  for (auto* c : {lat, lis}) c->add_option("--probe-base", probe_base);
  lis->add_option("--count", count);
  for (auto* c : {wait, lat}) {
    c->add_option("--dir", dir)->required();
    c->add_option("--http", http);
    c->add_option("--timeout-ms", timeout_ms);
    c->add_option("--poll-us", poll_us);
    c->add_option("--path", path, "what to GET (a query that keeps the body small, when the agent has one)");
  }
  lat->add_option("--count", count);
  lat->add_option("--pause-ms", pause_ms, "pause between samples");
  lat->add_option("--first-index", spec.first_index);
  lat->add_option("--seed", spec.seed);
  lat->add_option("--remote-pods", spec.remote_pods);
  lat->add_option("--server-ip", spec.server_ip);
  lat->add_option("--client-ip", spec.client_ip);
  CLI11_PARSE(app, argc, argv);

  if (lis->parsed()) return listen_ports(probe_base, count);
  const auto colon = http.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "bench_policy_apply: --http wants HOST:PORT\n");
    return 2;
  }
  Poller poller(http.substr(0, colon), std::stoi(http.substr(colon + 1)), path);
  const auto period = std::chrono::microseconds(poll_us);

  auto current = read_generation(dir);
  if (!current) {
    std::fprintf(stderr, "bench_policy_apply: no readable %s/.generation\n", dir.c_str());
    return 2;
  }
  uint64_t seen = 0;
  if (wait->parsed()) {
    const auto t0 = Clock::now();
    int rc = wait_for(poller, *current, period, timeout_ms, seen);
    if (rc == 3) {
      std::printf("{\"generation\":null,\"contract\":false}\n");
      return 3;
    }
    if (rc != 0) {
      std::fprintf(stderr, "bench_policy_apply: generation %llu not reported within %.0f ms (last seen %llu)\n",
                   static_cast<unsigned long long>(*current), timeout_ms, static_cast<unsigned long long>(seen));
      return 1;
    }
    std::printf("{\"generation\":%llu,\"ms\":%.3f}\n", static_cast<unsigned long long>(seen), ms_since(t0));
    return 0;
  }

  sockaddr_in target{};
  if (!probe.empty()) {
    target.sin_family = AF_INET;
    if (::inet_pton(AF_INET, probe.c_str(), &target.sin_addr) != 1 || probe_base <= 0) {
      std::fprintf(stderr, "bench_policy_apply: --probe wants an IPv4 address and --probe-base a port\n");
      return 2;
    }
  }
  // latency: the agent must be at the current generation first.
  if (!probe.empty()) {
    // no HTTP in the client's netns: the caller waited
  } else if (int rc = wait_for(poller, *current, period, timeout_ms, seen); rc != 0) {
    if (rc == 3) std::printf("{\"contract\":false}\n");
    else std::fprintf(stderr, "bench_policy_apply: the agent is not at generation %llu\n",
                      static_cast<unsigned long long>(*current));
    return rc;
  }
  poller.rtt_ms.clear();
  std::vector<double> samples;
  uint64_t gen = *current;
  for (size_t k = 0; k < count; ++k) {
    GenSpec s = spec;
    s.policies = 1;
    s.first_index = spec.first_index + k;
    const uint16_t port = static_cast<uint16_t>(probe_base + static_cast<int>(k));
    s.allow_ports = {port};
    std::string text;
    try {
      text = strand::bench::policy::render_policies(strand::bench::policy::generate(s, !probe.empty()));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_policy_apply: %s\n", e.what());
      return 2;
    }
    if (!probe.empty()) {
      target.sin_port = htons(port);
      if (try_connect(target, std::chrono::milliseconds(100))) {
        std::fprintf(stderr, "bench_policy_apply: TCP %u is open before the policy allowing it\n", port);
        return 1;
      }
    }
    const std::string name = "extra-" + std::to_string(s.first_index) + ".json";
    const auto t0 = Clock::now();
    if (!write_atomic(dir, name, text) || !write_atomic(dir, ".generation", std::to_string(gen + 1) + "\n")) {
      std::fprintf(stderr, "bench_policy_apply: writing into %s failed\n", dir.c_str());
      return 1;
    }
    ++gen;
    if (!probe.empty()) {
      bool open = false;
      while (!(open = try_connect(target, std::chrono::milliseconds(1))) && ms_since(t0) < timeout_ms) {
      }
      if (!open) {
        std::fprintf(stderr, "bench_policy_apply: TCP %u still blocked %.0f ms after its policy\n", port, timeout_ms);
        return 1;
      }
    } else if (int rc = wait_for(poller, gen, period, timeout_ms, seen); rc != 0) {
      std::fprintf(stderr, "bench_policy_apply: generation %llu not reported within %.0f ms (last seen %llu)\n",
                   static_cast<unsigned long long>(gen), timeout_ms, static_cast<unsigned long long>(seen));
      return 1;
    }
    samples.push_back(ms_since(t0));
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
  }
  nlohmann::json out{{"count", samples.size()},
                     {"mode", probe.empty() ? "generation" : "datapath"},
                     {"generation", gen},
                     {"samples_ms", samples},
                     {"p50_ms", percentile(samples, 0.50)},
                     {"p90_ms", percentile(samples, 0.90)},
                     {"p99_ms", percentile(samples, 0.99)},
                     {"max_ms", percentile(samples, 1.0)},
                     {"poll_rtt_p50_ms", percentile(poller.rtt_ms, 0.50)},
                     {"poll_rtt_p99_ms", percentile(poller.rtt_ms, 0.99)},
                     {"polls", poller.rtt_ms.size()},
                     {"body_bytes", poller.body_bytes}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
