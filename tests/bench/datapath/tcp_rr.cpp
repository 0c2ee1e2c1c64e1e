// tcp_rr: TCP request/response rate, netperf TCP_RR style. One connection,
// TCP_NODELAY, 1-byte request, 1-byte response, for a fixed time.
//
//   tcp_rr server --port P [--once]
//   tcp_rr client --host IPv4 --port P --seconds S
//
// The server answers every byte it reads with one byte (--once: exits after
// its first connection ends). The client connects (retrying for up to 5 s
// while the server starts), runs S seconds and prints one JSON line:
//   {"transactions":N,"seconds":T,"tps":R}
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "common/fd.h"

namespace {

using strand::UniqueFd;
using Clock = std::chrono::steady_clock;

int usage() {
  std::fprintf(stderr,
               "usage: tcp_rr server --port P [--once]\n"
               "       tcp_rr client --host IPv4 --port P --seconds S\n");
  return 2;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "tcp_rr: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

void set_nodelay(int fd) {
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) die("setsockopt TCP_NODELAY");
}

// One byte each way; false when the peer closed.
bool read_byte(int fd, char& c) {
  for (;;) {
    ssize_t n = ::read(fd, &c, 1);
    if (n == 1) return true;
    if (n == 0) return false;
    if (errno != EINTR) die("read");
  }
}
void write_byte(int fd, char c) {
  for (;;) {
    if (::write(fd, &c, 1) == 1) return;
    if (errno != EINTR) die("write");
  }
}

int serve(int port, bool once) {
  UniqueFd ls(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!ls) die("socket");
  int one = 1;
  (void)::setsockopt(ls.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(ls.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) die("bind");
  if (::listen(ls.get(), 4) != 0) die("listen");
  do {
    UniqueFd c(::accept4(ls.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) {
      if (errno == EINTR) continue;
      die("accept");
    }
    set_nodelay(c.get());
    char b = 0;
    while (read_byte(c.get(), b)) write_byte(c.get(), b);
  } while (!once);
  return 0;
}

int client(const std::string& host, int port, double seconds) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    std::fprintf(stderr, "tcp_rr: bad IPv4 address %s\n", host.c_str());
    return 2;
  }
  UniqueFd fd;
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    fd = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) die("socket");
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) break;
    if (errno != ECONNREFUSED || Clock::now() > give_up) die("connect");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  set_nodelay(fd.get());
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  uint64_t n = 0;
  char b = 'x';
  auto now = start;
  while (now < end) {
    write_byte(fd.get(), b);
    if (!read_byte(fd.get(), b)) {
      std::fprintf(stderr, "tcp_rr: server closed the connection\n");
      return 1;
    }
    ++n;
    now = Clock::now();
  }
  const double took = std::chrono::duration<double>(now - start).count();
  std::printf("{\"transactions\":%llu,\"seconds\":%.3f,\"tps\":%.1f}\n", static_cast<unsigned long long>(n), took,
              static_cast<double>(n) / took);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  std::string host;
  int port = 0;
  double seconds = 0;
  bool once = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--once") {
      once = true;
    } else if (a == "--host" && (v = value())) {
      host = v;
    } else if (a == "--port" && (v = value())) {
      port = std::atoi(v);
    } else if (a == "--seconds" && (v = value())) {
      seconds = std::atof(v);
    } else {
      return usage();
    }
  }
  if (port <= 0 || port > 65535) return usage();
  if (mode == "server") return serve(port, once);
  if (mode == "client" && !host.empty() && seconds > 0) return client(host, port, seconds);
  return usage();
}
