#pragma once
// GET requests to the agent's HTTP API (cpp-httplib client). Errors say which
// address failed and why, in words an operator can act on.
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "ctl/address.h"

namespace strand::ctl {

using Params = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 0;
  std::string body;
};

// "/v1/flows?pod=default%2Fweb-1&after=17" (values percent-encoded).
[[nodiscard]] std::string build_target(const std::string& path, const Params& params);

// Why a TCP connection to addr cannot be made, in lower case: "connection
// refused", "connection timed out", "Name or service not known". httplib only
// says "Connection", so after a failed request this probes once to name it.
[[nodiscard]] std::string probe_connect_error(const AgentAddress& addr, int timeout_ms);

// An error body {"error": "..."} gives its message; anything else a short excerpt.
[[nodiscard]] std::string http_error_detail(int status, const std::string& body);

class AgentClient {
 public:
  explicit AgentClient(AgentAddress addr, int connect_timeout_ms = 3000, int read_timeout_ms = 10000);

  // Any HTTP response is a success here. Fails with op "cannot reach agent at
  // ADDR" when there is none (err is the errno when known).
  [[nodiscard]] Result<Response> get(const std::string& path, const Params& params = {}) const;

  // get() that also requires a 2xx status and a JSON body. An HTTP error fails
  // with op "agent at ADDR" and context "GET /v1/flows: HTTP 500: message".
  [[nodiscard]] Result<nlohmann::ordered_json> get_json(const std::string& path, const Params& params = {}) const;

  [[nodiscard]] const AgentAddress& address() const { return addr_; }

 private:
  AgentAddress addr_;
  int connect_timeout_ms_;
  int read_timeout_ms_;
};

// The one line strandctl prints for an error (without the "strandctl: " prefix).
[[nodiscard]] std::string describe(const Error& e);

}  // namespace strand::ctl
