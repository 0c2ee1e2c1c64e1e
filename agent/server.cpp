#include "agent/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "common/agent_client.h"
#include "common/fs.h"
#include "common/log.h"

namespace strand::agent {
namespace {

struct Client {
  UniqueFd fd;
  std::string in;
  std::string out;
};

}  // namespace

Result<Server> Server::listen(const std::string& path) {
  sockaddr_un a{};
  if (path.size() >= sizeof(a.sun_path)) return fail("bind", ENAMETOOLONG, path);
  if (auto parent = std::filesystem::path(path).parent_path(); !parent.empty()) {
    if (auto st = make_dirs(parent.string()); !st) return std::unexpected(st.error());
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fail_errno("socket AF_UNIX");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail_errno("unlink", path);
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return fail_errno("bind", path);
  if (::chmod(path.c_str(), 0600) != 0) return fail_errno("chmod", path);
  if (::listen(fd.get(), 64) != 0) return fail_errno("listen", path);
  return Server(std::move(fd), path);
}

Server::~Server() { close(); }

void Server::close() {
  if (!fd_) return;
  ::unlink(path_.c_str());
  fd_.reset();
}

Status Server::run(const Handler& handle, const std::atomic<bool>& stop, const Takeover& takeover) {
  std::vector<Client> clients;
  while (!stop.load()) {
    std::vector<pollfd> pfds;
    pfds.push_back({fd_.get(), static_cast<short>(clients.size() < kMaxClients ? POLLIN : 0), 0});
    for (const auto& c : clients) {
      pfds.push_back({c.fd.get(), static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
    }
    int n = ::poll(pfds.data(), pfds.size(), 200);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll", path_);
    }
    std::vector<bool> drop(clients.size(), false);
    for (size_t i = 0; i < clients.size(); ++i) {
      const short re = pfds[i + 1].revents;
      if (re == 0) continue;
      Client& c = clients[i];
      if (re & POLLOUT) {
        ssize_t w = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
          drop[i] = true;
        } else if (w > 0) {
          c.out.erase(0, static_cast<size_t>(w));
        }
        continue;
      }
      if (re & (POLLIN | POLLHUP | POLLERR)) {
        char buf[4096];
        ssize_t r = ::recv(c.fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
          drop[i] = true;
          continue;
        }
        if (r > 0) c.in.append(buf, static_cast<size_t>(r));
        std::string line;
        while (take_line(c.in, line)) {
          if (takeover && takeover(line, c.fd)) {
            drop[i] = true;
            break;
          }
          c.out += handle(line) + "\n";
        }
        if (drop[i]) continue;
        if (c.in.size() > kMaxRequest) {
          log::warn("request too long, connection closed", {{"bytes", std::to_string(c.in.size())}});
          drop[i] = true;
        }
      }
    }
    std::vector<Client> kept;
    for (size_t i = 0; i < clients.size(); ++i) {
      if (!drop[i]) kept.push_back(std::move(clients[i]));
    }
    clients = std::move(kept);
    if (pfds[0].revents & POLLIN) {
      int c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c >= 0) clients.push_back(Client{UniqueFd(c), {}, {}});
    }
  }
  return {};
}

}  // namespace strand::agent
