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

// The framing, for the server side too: splits complete lines off `buffer`.
[[nodiscard]] bool take_line(std::string& buffer, std::string& line);

}  // namespace strand
