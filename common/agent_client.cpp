#include "common/agent_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "common/clock.h"
#include "common/fd.h"

namespace strand {

namespace {

// Waits for `events` on fd until the deadline; ETIMEDOUT when it passes.
Status wait_for(int fd, short events, int64_t deadline, const std::string& path) {
  for (;;) {
    int64_t left = deadline - mono_ms();
    if (left <= 0) return fail("agent call", ETIMEDOUT, path);
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll", path);
    }
    if (n > 0) return {};
  }
}

thread_local LocalAgent* t_local_agent = nullptr;

}  // namespace

LocalAgent::LocalAgent(std::string socket_path, Handle handle)
    : path_(std::move(socket_path)), handle_(std::move(handle)), outer_(t_local_agent) {
  t_local_agent = this;
}

LocalAgent::~LocalAgent() { t_local_agent = outer_; }

bool take_line(std::string& buffer, std::string& line) {
  auto nl = buffer.find('\n');
  if (nl == std::string::npos) return false;
  line = buffer.substr(0, nl);
  buffer.erase(0, nl + 1);
  return true;
}

Result<AgentReply> agent_call(const std::string& socket_path, const nlohmann::json& request, int timeout_ms) {
  for (const LocalAgent* l = t_local_agent; l != nullptr; l = l->outer_) {
    if (l->path_ != socket_path) continue;
    nlohmann::json j = l->handle_(request);
    if (!j.is_object()) return fail("agent call", EBADMSG, socket_path + ": reply is not a JSON object");
    return AgentReply{j.value("ok", false), j.value("error", ""), std::move(j)};
  }
  int64_t deadline = mono_ms() + timeout_ms;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) return fail("agent call", ENAMETOOLONG, socket_path);
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fail_errno("socket", "unix");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) return fail_errno("connect", socket_path);
    if (auto st = wait_for(fd.get(), POLLOUT, deadline, socket_path); !st) return std::unexpected(st.error());
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr != 0) return fail("connect", soerr, socket_path);
  }

  std::string out = request.dump() + "\n";
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::send(fd.get(), out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        if (auto st = wait_for(fd.get(), POLLOUT, deadline, socket_path); !st) return std::unexpected(st.error());
        continue;
      }
      return fail_errno("send", socket_path);
    }
    off += static_cast<size_t>(n);
  }

  std::string in;
  std::string line;
  char buf[4096];
  while (!take_line(in, line)) {
    if (auto st = wait_for(fd.get(), POLLIN, deadline, socket_path); !st) return std::unexpected(st.error());
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return fail_errno("recv", socket_path);
    }
    if (n == 0) return fail("agent call", ECONNRESET, socket_path + ": closed before replying");
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > (1u << 20)) return fail("agent call", EMSGSIZE, socket_path);
  }

  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("agent call", EBADMSG, socket_path + ": reply is not a JSON object");
  AgentReply reply;
  reply.ok = j.value("ok", false);
  reply.error = j.value("error", "");
  reply.body = std::move(j);
  return reply;
}

}  // namespace strand
