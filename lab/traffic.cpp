#include "lab/traffic.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

namespace strand::lab {

namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::duration<double, std::milli>;

// UDP source ports: one per attempt, from a random start, so no attempt
// reuses a 5-tuple (and with it an earlier attempt's conntrack entry).
constexpr int kFirstSrcPort = 20000;
constexpr int kEndSrcPort = 61000;

struct Schedule {
  Clock::time_point start;
  Clock::time_point end;
  std::chrono::milliseconds interval;
  const std::atomic<bool>& stop;

  // Sleeps until slot k of the schedule; false when the run is over first.
  [[nodiscard]] bool wait_slot(uint64_t k) const {
    const auto at = start + interval * static_cast<int64_t>(k);
    if (at >= end) return false;
    while (!stop.load()) {
      const auto now = Clock::now();
      if (now >= at) return true;
      std::this_thread::sleep_for(std::min<Clock::duration>(at - now, std::chrono::milliseconds(20)));
    }
    return false;
  }

  [[nodiscard]] TrafficFailure failure(Clock::time_point began, std::string detail) const {
    const auto wall = std::chrono::system_clock::now() - (Clock::now() - began);
    return {Ms(began - start).count(),
            std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count(), std::move(detail)};
  }
};

// New flows to t, one per slot, from enough workers that slow attempts do not
// hold the schedule back (it slips only when all of them wait at once).
void run_loop(const ProbeTarget& target, const Schedule& sched, int timeout_ms, TrafficLoop& out) {
  const bool udp = target.protocol == "UDP";
  const int first = static_cast<int>(std::random_device{}() % (kEndSrcPort - kFirstSrcPort));
  const auto interval = std::max<int64_t>(1, sched.interval.count());
  const unsigned workers = static_cast<unsigned>(std::clamp<int64_t>(timeout_ms / interval + 2, 2, 256));
  std::atomic<uint64_t> next{0};
  std::mutex mu;
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (uint64_t k = next++; sched.wait_slot(k); k = next++) {
        ProbeTarget t = target;
        t.strict = true;
        if (udp) t.src_port = kFirstSrcPort + static_cast<int>((first + k) % (kEndSrcPort - kFirstSrcPort));
        const auto began = Clock::now();
        const ProbeResult r = probe(t, timeout_ms);
        std::lock_guard lock(mu);
        ++out.attempts;
        if (r.reachable) {
          ++out.ok;
          out.max_ms = std::max(out.max_ms, r.ms);
        } else if (out.failures.size() < kMaxTrafficFailures) {
          out.failures.push_back(sched.failure(began, r.detail));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::ranges::sort(out.failures, {}, &TrafficFailure::at_ms);
}

// The long-lived connection: one message per slot, each echoed before the next.
void run_connection(const ProbeTarget& target, const Schedule& sched, int timeout_ms, TrafficConnection& out) {
  const auto opened = Clock::now();
  auto conn = EchoConnection::open(target, timeout_ms);
  if (!conn) {
    out.failure = sched.failure(opened, "connect: " + EchoConnection::describe(conn.error()));
    return;
  }
  for (uint64_t k = 0; sched.wait_slot(k); ++k) {
    // 64 bytes that differ per message: an echo of the wrong one is caught.
    const std::string msg = fmt::format("{:<63}\n", fmt::format("strand-lab traffic {} seq {}", target.from, k));
    const auto began = Clock::now();
    out.sent_bytes += msg.size();
    if (auto st = conn->exchange(msg, timeout_ms); !st) {
      out.failure = sched.failure(began, EchoConnection::describe(st.error()));
      break;
    }
    out.echoed_bytes += msg.size();
    ++out.exchanges;
  }
  out.retransmits = conn->retransmits();
}

}  // namespace

TrafficReport run_traffic(const TrafficPlan& plan, const std::atomic<bool>& stop) {
  TrafficReport r;
  const ProbeTarget& any = plan.connection ? *plan.connection : plan.loops.front();
  r.from = any.from;
  r.to = any.to;
  r.interval_ms = plan.interval_ms;
  const auto start = Clock::now();
  const Schedule sched{start, start + std::chrono::milliseconds(plan.duration_ms),
                       std::chrono::milliseconds(plan.interval_ms), stop};
  r.loops.resize(plan.loops.size());
  if (plan.connection) r.connection.emplace().port = plan.connection->port;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < plan.loops.size(); ++i) {
    r.loops[i].protocol = plan.loops[i].protocol;
    r.loops[i].port = plan.loops[i].port;
    threads.emplace_back(run_loop, std::cref(plan.loops[i]), std::cref(sched), plan.timeout_ms, std::ref(r.loops[i]));
  }
  if (plan.connection) {
    threads.emplace_back(run_connection, std::cref(*plan.connection), std::cref(sched), plan.timeout_ms,
                         std::ref(*r.connection));
  }
  for (auto& t : threads) t.join();
  r.duration_ms = Ms(Clock::now() - start).count();
  return r;
}

}  // namespace strand::lab
