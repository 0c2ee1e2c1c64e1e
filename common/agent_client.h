#pragma once
// The CNI <-> agent handshake over the agent's unix socket: one JSON object per
// line each way. Requests:
//   {"op":"add","endpoint":{<endpoint record>}}   attach the datapath; reply when in place
//   {"op":"del","containerID":"..","ifname":"..","reap":true} detach and forget;
//       with reap, the agent also deletes the retired veth (common/retired_links.h)
//       and replies {"ok":true,"reaping":true}
//   {"op":"check","containerID":"..","ifname":".."} is the datapath attached?
//   {"op":"status"}                                 is the agent ready for ADDs?
// Reply: {"ok":true} or {"ok":false,"error":"why"} (more fields per op).
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace strand {

struct AgentReply {
  bool ok = false;
  std::string error;
  nlohmann::json body;  // the whole reply
};

// Sends one request and waits at most timeout_ms for the whole exchange.
// ENOENT / ECONNREFUSED: no agent listening; ETIMEDOUT: no reply in time;
// EBADMSG: a reply that is not a JSON object.
[[nodiscard]] Result<AgentReply> agent_call(const std::string& socket_path, const nlohmann::json& request,
                                            int timeout_ms);

// strand-agent running a verb a plugin handed it (cni/handoff_wire.h) is the
// agent that verb talks to: while a LocalAgent is alive on a thread, that
// thread's agent_call() to `socket_path` calls `handle` instead of the socket.
class LocalAgent {
 public:
  using Handle = std::function<nlohmann::json(const nlohmann::json& request)>;
  LocalAgent(std::string socket_path, Handle handle);
  ~LocalAgent();
  LocalAgent(const LocalAgent&) = delete;
  LocalAgent& operator=(const LocalAgent&) = delete;

 private:
  friend Result<AgentReply> agent_call(const std::string&, const nlohmann::json&, int);
  std::string path_;
  Handle handle_;
  LocalAgent* outer_;
};

// The framing, for the server side too: splits complete lines off `buffer`.
[[nodiscard]] bool take_line(std::string& buffer, std::string& line);

}  // namespace strand
