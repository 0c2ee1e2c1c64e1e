#pragma once
// The agent's unix socket: one JSON request per line, one JSON reply per line,
// served by a single thread polling the listener and its connections.
#include <atomic>
#include <functional>
#include <string>

#include "common/error.h"
#include "common/fd.h"

namespace strand::agent {

class Server {
 public:
  using Handler = std::function<std::string(const std::string& line)>;  // reply without '\n'
  // Offered each request line before `Handler`: returning true means it took
  // the connection (moved `fd` out, or answered and closed it) and the server
  // forgets it. For replies that come later from another thread.
  using Takeover = std::function<bool(const std::string& line, UniqueFd& fd)>;
  // A longer line closes the connection. The strand shim hands over no
  // larger verb (cni/shim/strand_shim.c, MAX_REQUEST).
  static constexpr size_t kMaxRequest = 64 * 1024;
  static constexpr size_t kMaxClients = 64;

  // Binds `path` (replacing a stale socket file), mode 0600.
  [[nodiscard]] static Result<Server> listen(const std::string& path);
  Server(Server&&) = default;
  ~Server();

  // Stops listening and removes the socket file: a plugin that connects
  // after this finds no agent and runs its verb itself.
  void close();

  // Serves until `stop` is set (checked at least every 200 ms).
  [[nodiscard]] Status run(const Handler& handle, const std::atomic<bool>& stop, const Takeover& takeover = {});

 private:
  Server(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

}  // namespace strand::agent
