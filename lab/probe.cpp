#include "lab/probe.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "common/fd.h"

namespace strand::lab {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kRetransmitOp = "retransmit";

int left_ms(Clock::time_point deadline) {
  auto l = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return l > 0 ? static_cast<int>(l) : 0;
}

socklen_t make_addr(const IpAddr& ip, int port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof(ss));
  if (ip.is_v4()) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&a->sin_addr, ip.bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(static_cast<uint16_t>(port));
  std::memcpy(&a->sin6_addr, ip.bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

std::string payload() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return "strand-lab probe " + std::to_string(rng()) + "\n";
}

// Waits for `events` on fd until the deadline; the error names what did not come.
Status wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, left_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return fail_errno("poll");
    if (rc == 0) return fail("probe", ETIMEDOUT, "timeout");
    if (p.revents & (POLLERR | POLLHUP) && !(p.revents & POLLIN)) {
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      return fail("probe", err ? err : ECONNRESET);
    }
    return {};
  }
}

Status exchange(int fd, const std::string& msg, Clock::time_point deadline, bool udp) {
  if (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) return fail_errno("send");
  std::string got;
  char buf[512];
  while (got.size() < msg.size()) {
    if (auto st = wait_for(fd, POLLIN, deadline); !st) return st;
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return fail_errno("recv");
    if (n == 0) return fail("recv", ECONNRESET, "closed before the echo");
    got.append(buf, static_cast<size_t>(n));
    if (udp && got != msg) got.clear();  // a stray datagram: keep waiting for ours
  }
  if (got.substr(0, msg.size()) != msg) return fail("probe", EBADMSG, "echo differs");
  return {};
}

// The kernel's count of retransmitted segments on a TCP socket (SYN included).
unsigned tcp_retransmits(int fd) {
  tcp_info ti{};
  socklen_t len = sizeof(ti);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return 0;
  return ti.tcpi_total_retrans;
}

Status retransmitted(unsigned n) {
  return fail(kRetransmitOp, EPROTO, std::to_string(n) + (n == 1 ? " retransmission" : " retransmissions"));
}

// A socket of t's protocol inside the calling thread's netns, bound to
// t.src_port when set, connected to t.ip:t.port (TCP: established).
Result<UniqueFd> connect_socket(const ProbeTarget& t, Clock::time_point deadline) {
  const bool udp = t.protocol == "UDP";
  UniqueFd fd(::socket(t.ip.is_v4() ? AF_INET : AF_INET6, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fail_errno("socket");
  sockaddr_storage ss;
  socklen_t len = 0;
  if (t.src_port != 0) {
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    IpAddr any;
    any.family = t.ip.family;
    len = make_addr(any, t.src_port, ss);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      return fail_errno("bind", "source port " + std::to_string(t.src_port));
    }
  }
  len = make_addr(t.ip, t.port, ss);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) return fail_errno("connect");
    if (auto st = wait_for(fd.get(), POLLOUT, deadline); !st) return std::unexpected(st.error());
    int err = 0;
    socklen_t elen = sizeof(err);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) return fail("connect", err);
  }
  return fd;
}

Status probe_socket(const ProbeTarget& t, Clock::time_point deadline) {
  const bool udp = t.protocol == "UDP";
  auto fd = connect_socket(t, deadline);
  if (!fd) return std::unexpected(fd.error());
  if (!udp) {
    if (auto st = exchange(fd->get(), payload(), deadline, false); !st) return st;
    if (unsigned n = t.strict ? tcp_retransmits(fd->get()) : 0; n != 0) return retransmitted(n);
    return {};
  }
  const std::string msg = payload();
  if (t.strict) return exchange(fd->get(), msg, deadline, true);
  // UDP: resend a few times within the timeout (a first packet may wait for neighbour resolution).
  for (int attempt = 0;; ++attempt) {
    auto slice = std::min(deadline, Clock::now() + std::chrono::milliseconds(200 << std::min(attempt, 3)));
    auto st = exchange(fd->get(), msg, slice, true);
    if (st || st.error().err != ETIMEDOUT || Clock::now() >= deadline) return st;
  }
}

// Why a probe failed, in a word or two.
std::string failure_detail(const Error& e) {
  if (e.op == kRetransmitOp) return e.context;
  return e.err == ETIMEDOUT ? "timeout" : std::strerror(e.err);
}

}  // namespace

ProbeResult probe(const ProbeTarget& t, int timeout_ms) {
  ProbeResult r{t.from, t.to, t.port, t.protocol, false, 0, {}};
  auto start = Clock::now();
  auto ns = Netns::open(t.from_ns_path);
  if (!ns) {
    r.detail = ns.error().message();
    return r;
  }
  auto guard = ns->enter();
  if (!guard) {
    r.detail = guard.error().message();
    return r;
  }
  auto st = probe_socket(t, start + std::chrono::milliseconds(timeout_ms));
  r.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  r.reachable = st.has_value();
  if (!st) r.detail = failure_detail(st.error());
  return r;
}

std::vector<ProbeResult> probe_all(const std::vector<ProbeTarget>& targets, int timeout_ms, unsigned parallel) {
  std::vector<ProbeResult> out(targets.size());
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  parallel = std::max(1u, std::min<unsigned>(parallel, static_cast<unsigned>(targets.size())));
  for (unsigned w = 0; w < parallel; ++w) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < targets.size(); i = next++) out[i] = probe(targets[i], timeout_ms);
    });
  }
  for (auto& t : workers) t.join();
  return out;
}

Result<EchoConnection> EchoConnection::open(const ProbeTarget& t, int timeout_ms) {
  if (t.protocol != "TCP") return fail("echo connection", EINVAL, "TCP only, not " + t.protocol);
  auto ns = Netns::open(t.from_ns_path);
  if (!ns) return std::unexpected(ns.error());
  auto guard = ns->enter();
  if (!guard) return std::unexpected(guard.error());
  auto fd = connect_socket(t, Clock::now() + std::chrono::milliseconds(timeout_ms));
  if (!fd) return std::unexpected(fd.error());
  return EchoConnection(std::move(*fd));
}

Status EchoConnection::exchange(const std::string& msg, int timeout_ms) {
  return lab::exchange(fd_.get(), msg, Clock::now() + std::chrono::milliseconds(timeout_ms), false);
}

unsigned EchoConnection::retransmits() const { return tcp_retransmits(fd_.get()); }

std::string EchoConnection::describe(const Error& e) { return failure_detail(e); }

}  // namespace strand::lab
