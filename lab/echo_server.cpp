#include "lab/echo_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "common/fd.h"

namespace strand::lab {

namespace {

// One dual-stack socket ([::], IPV6_V6ONLY off), or IPv4 when the netns has no IPv6.
Result<UniqueFd> bind_port(int port, int type) {
  UniqueFd fd(::socket(AF_INET6, type | SOCK_CLOEXEC, 0));
  int one = 1, zero = 0;
  if (fd) {
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    a.sin6_addr = in6addr_any;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) return fd;
  }
  fd = UniqueFd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket", "port " + std::to_string(port));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    return fail_errno("bind", "port " + std::to_string(port));
  }
  return fd;
}

void echo_conn(int fd) {
  UniqueFd c(fd);
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(c.get(), buf, sizeof(buf));
    if (n <= 0) return;
    ssize_t off = 0;
    while (off < n) {
      ssize_t w = ::write(c.get(), buf + off, static_cast<size_t>(n - off));
      if (w <= 0) return;
      off += w;
    }
  }
}

void serve_tcp(UniqueFd l) {
  for (;;) {
    int c = ::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::thread(echo_conn, c).detach();
  }
}

void serve_udp(UniqueFd s) {
  char buf[65536];
  for (;;) {
    sockaddr_storage from{};
    socklen_t len = sizeof(from);
    ssize_t n = ::recvfrom(s.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) continue;
    ::sendto(s.get(), buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

}  // namespace

Status run_echo_servers(const std::vector<ContainerPort>& ports, int ready_fd) {
  std::vector<std::thread> threads;
  std::vector<std::pair<UniqueFd, bool>> socks;  // fd, tcp
  for (const auto& p : ports) {
    bool tcp = p.protocol == "TCP";
    if (!tcp && p.protocol != "UDP") continue;
    auto fd = bind_port(p.port, tcp ? SOCK_STREAM : SOCK_DGRAM);
    if (!fd) return std::unexpected(fd.error());
    if (tcp && ::listen(fd->get(), 128) != 0) return fail_errno("listen", "port " + std::to_string(p.port));
    socks.emplace_back(std::move(*fd), tcp);
  }
  for (auto& [fd, tcp] : socks) threads.emplace_back(tcp ? serve_tcp : serve_udp, std::move(fd));
  if (ready_fd >= 0) {
    (void)!::write(ready_fd, "ready\n", 6);
    ::close(ready_fd);
  }
  std::fprintf(stderr, "echo servers ready ports=%zu\n", socks.size());
  for (auto& t : threads) t.join();
  if (socks.empty()) {
    for (;;) ::pause();
  }
  return {};
}

}  // namespace strand::lab
