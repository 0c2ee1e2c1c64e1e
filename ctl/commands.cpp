#include "ctl/commands.h"

#include <thread>
#include <vector>

#include "ctl/client.h"
#include "ctl/policies.h"
#include "ctl/render.h"
#include "ctl/table.h"
#include "ctl/why.h"

namespace strand::ctl {
namespace {

constexpr auto kJsonDumpErrors = json::error_handler_t::replace;

struct Kind {
  const char* path;
  Row (*headers)();
  Row (*row)(const json&, int64_t);
};

Row endpoint_row_at(const json& item, int64_t /*now_ms*/) { return endpoint_row(item); }

Kind kind_of(Command c) {
  switch (c) {
    case Command::kEndpoints: return {"/v1/endpoints", endpoint_headers, endpoint_row_at};
    case Command::kFlows: return {"/v1/flows", flow_headers, flow_row};
    case Command::kDrops: return {"/v1/drops", drop_headers, drop_row};
    case Command::kStatus:
    case Command::kPolicies:
    case Command::kWhy: break;
  }
  return {"", nullptr, nullptr};
}

Params base_params(const Options& opts) {
  Params p;
  if (opts.pod) p.emplace_back("pod", *opts.pod);
  return p;
}

int report(Io& io, const Error& e) {
  io.err << "strandctl: " << describe(e) << "\n";
  io.err.flush();
  return kExitAgent;
}

std::vector<Row> rows_of(const Kind& kind, const std::vector<json>& items, int64_t now_ms) {
  std::vector<Row> rows;
  rows.reserve(items.size());
  for (const json& it : items) rows.push_back(kind.row(it, now_ms));
  return rows;
}

int list_once(const Options& opts, Io& io, const Kind& kind, const AgentClient& client) {
  Params params = base_params(opts);
  if (opts.limit) params.emplace_back("limit", std::to_string(*opts.limit));
  auto body = client.get_json(kind.path, params);
  if (!body) return report(io, body.error());
  if (opts.output == Output::kJson) {
    io.out << body->dump(2, ' ', false, kJsonDumpErrors) << "\n";
  } else {
    io.out << render_table(kind.headers(), rows_of(kind, items_of(*body), io.now_ms()));
  }
  io.out.flush();
  return kExitOk;
}

// Sleeps one poll interval; false when stopped meanwhile.
bool wait_interval(Io& io) {
  const auto until = std::chrono::steady_clock::now() + io.poll_interval;
  while (std::chrono::steady_clock::now() < until) {
    if (io.stop.stop_requested()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
  }
  return !io.stop.stop_requested();
}

class Follower {
 public:
  Follower(const Options& opts, Io& io, const Kind& kind) : opts_(opts), io_(io), kind_(kind), table_(kind.headers()) {}

  void print(std::vector<json> items) {
    sort_by_seq(items);
    after_ = max_seq(items, after_);
    if (opts_.output == Output::kJson) {
      for (const json& it : items) io_.out << it.dump(-1, ' ', false, kJsonDumpErrors) << "\n";
    } else if (!items.empty() || first_) {
      io_.out << table_.render(rows_of(kind_, items, io_.now_ms()));
    }
    first_ = false;
    io_.out.flush();
  }

  [[nodiscard]] uint64_t after() const { return after_; }
  void reset() { after_ = 0; }

 private:
  const Options& opts_;
  Io& io_;
  const Kind& kind_;
  TableStream table_;
  uint64_t after_ = 0;
  bool first_ = true;
};

// The agent numbers items from 1 again when it restarts: its newest item then
// has a seq below the highest we saw, and polling with after= would hide
// everything it records until it catches up.
bool agent_restarted(const AgentClient& client, const Kind& kind, const Options& opts, uint64_t after) {
  Params params = base_params(opts);
  params.emplace_back("limit", "1");
  auto body = client.get_json(kind.path, params);
  if (!body) return false;
  const auto items = items_of(*body);
  return !items.empty() && max_seq(items, 0) < after;
}

int follow(const Options& opts, Io& io, const Kind& kind, const AgentClient& client) {
  Follower f(opts, io, kind);
  {
    Params params = base_params(opts);
    if (opts.limit) params.emplace_back("limit", std::to_string(*opts.limit));
    auto body = client.get_json(kind.path, params);
    if (!body) return report(io, body.error());
    f.print(items_of(*body));
  }
  bool failing = false;
  while (wait_interval(io)) {
    Params params = base_params(opts);
    params.emplace_back("after", std::to_string(f.after()));
    auto body = client.get_json(kind.path, params);
    if (!body) {
      // A restarting agent is expected under --follow: say so once, keep polling.
      if (!failing) io.err << "strandctl: " << describe(body.error()) << " (retrying)\n";
      io.err.flush();
      failing = true;
      continue;
    }
    if (failing) {
      io.err << "strandctl: agent at " << client.address().str() << " is back\n";
      io.err.flush();
      failing = false;
    }
    auto items = items_of(*body);
    // The agent filters by after= already; filtering again keeps an agent that
    // ignores the parameter from repeating rows every second.
    std::erase_if(items, [&](const json& it) { return max_seq({it}, 0) <= f.after(); });
    if (items.empty() && f.after() > 0 && agent_restarted(client, kind, opts, f.after())) {
      io.err << "strandctl: agent at " << client.address().str() << " restarted; following its new items\n";
      io.err.flush();
      f.reset();
      Params again = base_params(opts);
      again.emplace_back("after", "0");
      auto fresh = client.get_json(kind.path, again);
      if (!fresh) continue;
      items = items_of(*fresh);
    }
    f.print(std::move(items));
  }
  return kExitOk;
}

int status(const Options& opts, Io& io, const AgentClient& client) {
  StatusReport s;
  s.agent = client.address().str();
  auto health = client.get("/healthz");
  if (!health) return report(io, health.error());
  if (health->status != 200)
    return report(io, Error{"agent at " + s.agent, 0, "GET /healthz: " + http_error_detail(health->status, health->body)});
  s.health = health->body;
  while (!s.health.empty() && (s.health.back() == '\n' || s.health.back() == '\r')) s.health.pop_back();

  auto ready = client.get("/readyz");
  if (!ready) return report(io, ready.error());
  if (ready->status != 200 && ready->status != 503)
    return report(io, Error{"agent at " + s.agent, 0, "GET /readyz: " + http_error_detail(ready->status, ready->body)});
  s.ready_status = ready->status;
  s.ready = json::parse(ready->body, nullptr, false);
  if (s.ready.is_discarded()) s.ready = nullptr;

  auto eps = client.get_json("/v1/endpoints");
  if (!eps) return report(io, eps.error());
  s.endpoints = items_of(*eps).size();

  constexpr uint64_t kFlowLimit = 100000;
  auto flows = client.get_json("/v1/flows", {{"limit", std::to_string(kFlowLimit)}});
  if (!flows) return report(io, flows.error());
  const auto flow_items = items_of(*flows);
  for (const json& f : flow_items) {
    if (f.is_object() && f.value("active", false))
      ++s.flows_active;
    else
      ++s.flows_ended;
  }
  s.flows_truncated = flow_items.size() >= kFlowLimit;

  auto drops = client.get_json("/v1/drops", {{"limit", "1"}});
  if (!drops) return report(io, drops.error());
  if (auto it = drops->find("lost"); it != drops->end() && it->is_number_unsigned()) s.events_lost = it->get<uint64_t>();

  if (opts.output == Output::kJson)
    io.out << status_json(s).dump(2, ' ', false, kJsonDumpErrors) << "\n";
  else
    io.out << render_status(s);
  io.out.flush();
  return kExitOk;
}

int policies(const Options& opts, Io& io, const AgentClient& client) {
  auto body = client.get_json("/v1/policies");
  if (!body) return report(io, body.error());
  // The agent has no namespace filter: filter here, JSON included.
  const json shown = filter_policies(*body, opts.ns);
  if (opts.output == Output::kJson)
    io.out << shown.dump(2, ' ', false, kJsonDumpErrors) << "\n";
  else
    io.out << render_policies(shown);
  io.out.flush();
  return kExitOk;
}

int why(const Options& opts, Io& io, const AgentClient& client) {
  auto r = client.get("/v1/why", {{"from", opts.from}, {"to", opts.to}, {"port", opts.port}});
  if (!r) return report(io, r.error());
  // Errors name the question rather than the percent-encoded request.
  const std::string op = "agent at " + client.address().str();
  const std::string what = "why " + opts.from + " -> " + opts.to + " " + opts.port;
  if (r->status < 200 || r->status > 299)
    return report(io, Error{op, 0, what + ": " + http_error_detail(r->status, r->body)});
  const json body = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  const auto allowed = why_allowed(body);
  if (!allowed) return report(io, Error{op, 0, what + ": the body is not a verdict"});
  if (opts.output == Output::kJson)
    io.out << body.dump(2, ' ', false, kJsonDumpErrors) << "\n";
  else
    io.out << render_why(body);
  io.out.flush();
  return *allowed ? kExitOk : kExitDenied;
}

}  // namespace

int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int run_command(const Options& opts, Io& io) {
  const AgentClient client(opts.agent);
  if (opts.command == Command::kStatus) return status(opts, io, client);
  if (opts.command == Command::kPolicies) return policies(opts, io, client);
  if (opts.command == Command::kWhy) return why(opts, io, client);
  const Kind kind = kind_of(opts.command);
  if (opts.follow && opts.command != Command::kEndpoints) return follow(opts, io, kind, client);
  return list_once(opts, io, kind, client);
}

}  // namespace strand::ctl
