#include "agent/http/server.h"

#include <httplib.h>

#include <chrono>

#include "agent/http/query.h"
#include "agent/http/render.h"
#include "common/log.h"

namespace strand::agent::http {
namespace {

constexpr const char* kJson = "application/json";

void json_reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", kJson);
}

// The request's query, or a 400 already written.
std::optional<Query> query_of(const httplib::Request& req, httplib::Response& res) {
  std::multimap<std::string, std::string> params(req.params.begin(), req.params.end());
  auto q = parse_query(params);
  if (!q) {
    json_reply(res, 400, {{"error", q.error()}});
    return std::nullopt;
  }
  return *q;
}

}  // namespace

HttpServer::HttpServer(Sources src) : src_(std::move(src)), svr_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() {
  if (svr_) svr_->stop();
  if (thread_.joinable()) thread_.join();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen, Sources src) {
  auto addr = parse_listen(listen);
  if (!addr) return fail("http listen", EINVAL, addr.error());
  std::unique_ptr<HttpServer> s(new HttpServer(std::move(src)));
  s->svr_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  s->routes();
  const auto& [host, port] = *addr;
  if (port == 0) {
    s->port_ = s->svr_->bind_to_any_port(host);
    if (s->port_ < 0) return fail_errno("bind", listen);
  } else {
    if (!s->svr_->bind_to_port(host, port)) return fail_errno("bind", listen);
    s->port_ = port;
  }
  s->thread_ = std::thread([srv = s->svr_.get()] { srv->listen_after_bind(); });
  // stop() is a no-op until the listener runs: wait for it, so that a stop
  // right after start cannot leave the thread listening forever.
  for (int i = 0; i < 200 && !s->svr_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  log::info("http listening", {{"addr", host + ":" + std::to_string(s->port_)}});
  return s;
}

flows::PodIndex HttpServer::pod_index(const std::vector<EndpointRecord>& eps) const {
  flows::PodIndex idx;
  for (const auto& r : eps) {
    auto e = src_.entry(r.host_ifindex);
    const uint32_t ep_id = e ? e->ep_id : static_cast<uint32_t>(r.host_ifindex);
    idx[ep_id] = flows::PodRef{r.pod_namespace, r.pod_name};
  }
  return idx;
}

void HttpServer::routes() {
  auto& s = *svr_;
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    json_reply(res, 500, {{"error", what}});
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string what = res.status == 404 ? "no such endpoint: " : "request failed: ";
    json_reply(res, res.status, nlohmann::json{{"error", what + req.path}});
  });

  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });

  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    auto body = src_.ready();
    json_reply(res, body.value("ready", false) ? 200 : 503, body);
  });

  s.Get("/v1/endpoints", [this](const httplib::Request& req, httplib::Response& res) {
    auto q = query_of(req, res);
    if (!q) return;
    const auto eps = src_.endpoints();
    const auto stats = src_.collector->ep_stats();
    std::vector<nlohmann::json> items;
    for (const auto& r : eps) {
      auto e = src_.entry(r.host_ifindex);
      const strand_ep_stats* st = nullptr;
      if (e) {
        if (auto it = stats.find(e->ep_id); it != stats.end()) st = &it->second;
      }
      items.push_back(endpoint_json(r, e, st));
    }
    json_reply(res, 200, {{"items", select_items(std::move(items), *q, nullptr)}});
  });

  s.Get("/v1/flows", [this](const httplib::Request& req, httplib::Response& res) {
    auto q = query_of(req, res);
    if (!q) return;
    const auto pods = pod_index(src_.endpoints());
    const auto tb = flows::TimeBase::now();
    std::vector<nlohmann::json> items;
    for (const auto& f : src_.collector->flows()) {
      auto j = flows::flow_json(f, pods, tb);
      j["policy"] = src_.rule ? src_.rule(f.ct.rule_id, f.ct.ep_id, f.key.dir) : nlohmann::json(nullptr);
      items.push_back(std::move(j));
    }
    json_reply(res, 200, {{"items", select_items(std::move(items), *q, "lastSeenMs")}});
  });

  s.Get("/v1/drops", [this](const httplib::Request& req, httplib::Response& res) {
    auto q = query_of(req, res);
    if (!q) return;
    const auto pods = pod_index(src_.endpoints());
    const auto tb = flows::TimeBase::now();
    std::vector<nlohmann::json> items;
    for (const auto& d : src_.collector->drops()) {
      auto j = flows::drop_json(d, pods, tb);
      const bool by_policy = d.ev.hdr.reason == STRAND_DROP_POLICY_DENIED || d.ev.hdr.reason == STRAND_DROP_POLICY_AUDIT;
      j["policy"] = by_policy && src_.rule ? src_.rule(d.ev.rule_id, d.ev.hdr.ep_id, d.ev.hdr.dir)
                                           : nlohmann::json(nullptr);
      items.push_back(std::move(j));
    }
    const uint64_t lost = src_.collector->stats().events_lost;
    json_reply(res, 200, {{"items", select_items(std::move(items), *q, "timeMs")}, {"lost", lost}});
  });

  s.Get("/v1/policies", [this](const httplib::Request& req, httplib::Response& res) {
    auto q = query_of(req, res);
    if (!q) return;
    if (req.get_param_value("summary") == "true") {
      json_reply(res, 200, src_.policies_summary ? src_.policies_summary() : nlohmann::json::object());
      return;
    }
    json_reply(res, 200, src_.policies ? src_.policies() : nlohmann::json{{"items", nlohmann::json::array()}});
  });

  s.Get("/v1/why", [this](const httplib::Request& req, httplib::Response& res) {
    for (const char* p : {"from", "to", "port"}) {
      if (!req.has_param(p)) {
        json_reply(res, 400, {{"error", std::string("missing query parameter ") + p}});
        return;
      }
    }
    if (!src_.why) {
      json_reply(res, 404, {{"error", "this agent has no cluster model (no source configured)"}});
      return;
    }
    auto a = src_.why(req.get_param_value("from"), req.get_param_value("to"), req.get_param_value("port"));
    if (!a) {
      const int code = a.error().err == EINVAL ? 400 : a.error().err == ENOENT ? 404 : 500;
      json_reply(res, code, {{"error", a.error().message()}});
      return;
    }
    json_reply(res, 200, *a);
  });

  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    MetricsInput in;
    const auto eps = src_.endpoints();
    const auto stats = src_.collector->ep_stats();
    for (const auto& r : eps) {
      auto e = src_.entry(r.host_ifindex);
      if (!e) continue;
      MetricsInput::Endpoint me{flows::PodRef{r.pod_namespace, r.pod_name}, {}};
      if (auto it = stats.find(e->ep_id); it != stats.end()) me.stats = it->second;
      in.endpoints.push_back(me);
    }
    in.collector = src_.collector->stats();
    if (src_.repairs) in.repairs = src_.repairs->snapshot();
    if (src_.handoffs) in.handoffs = src_.handoffs->snapshot();
    if (src_.policy_counts) in.policies = src_.policy_counts();
    res.set_content(render_metrics(in), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace strand::agent::http
