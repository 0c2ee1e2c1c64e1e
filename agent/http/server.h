#pragma once
// The agent's HTTP API (docs/api.md): /healthz, /readyz, /metrics,
// /v1/endpoints, /v1/flows, /v1/drops, /v1/policies. cpp-httplib on its own
// listener thread (plus a small worker pool); stop() or the destructor ends it.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/flows/collector.h"
#include "agent/http/render.h"
#include "agent/repair_counts.h"
#include "common/endpoint_record.h"
#include "common/error.h"

namespace httplib {
class Server;
}

namespace strand::agent::http {

// Where the handlers read from; every function is called from HTTP worker threads.
struct Sources {
  flows::Collector* collector = nullptr;
  std::function<std::vector<EndpointRecord>()> endpoints;              // attached endpoints
  std::function<std::optional<strand_endpoint>(int ifindex)> entry;    // endpoints map lookup
  std::function<nlohmann::json()> policies;                           // {"items": [...]}
  // GET /v1/policies?summary=true: the top-level fields only (generation,
  // versions), cheap to poll. Unset: {}.
  std::function<nlohmann::json()> policies_summary;
  const RepairCounts* repairs = nullptr;
  const HandoffCounts* handoffs = nullptr;
  std::function<PolicyCounts()> policy_counts;  // for /metrics; unset: zeros
  std::function<nlohmann::json()> ready;  // {"ready": bool, "checks": {...}}
  // What a rule id of a flow or a policy drop stands for (unset: no
  // enforcement; items carry "policy": null).
  std::function<nlohmann::json(uint32_t rule_id, uint32_t ep_id, uint8_t dir)> rule;
  // GET /v1/why?from=&to=&port=: the answer, or an error whose errno picks
  // the status (EINVAL 400, ENOENT 404, else 500). Unset: 404.
  std::function<Result<nlohmann::json>(const std::string& from, const std::string& to, const std::string& port)> why;
};

class HttpServer {
 public:
  // Binds `listen` ("HOST:PORT") and serves on a thread.
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> start(const std::string& listen, Sources src);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void stop();
  [[nodiscard]] int port() const { return port_; }

 private:
  HttpServer(Sources src);
  void routes();
  [[nodiscard]] flows::PodIndex pod_index(const std::vector<EndpointRecord>& eps) const;

  Sources src_;
  std::unique_ptr<httplib::Server> svr_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace strand::agent::http
