// strand-agent: wiring only. Load the datapath (maps pinned per node), bring
// every ready endpoint back to attached, then serve the CNI on the socket.
// --cleanup: detach and unpin everything of the node and exit.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <csignal>
#include <cstdarg>
#include <cstdio>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <thread>
#include <optional>

#include "agent/bpffs.h"
#include "agent/cni_handoff.h"
#include "agent/config.h"
#include "agent/datapath/attach.h"
#include "agent/datapath/loader.h"
#include "agent/datapath/xdp.h"
#include "agent/endpoints.h"
#include "agent/repair/watcher.h"
#include "agent/repair_counts.h"
#include "agent/reaper.h"
#include "agent/model/model.h"
#include "agent/enforce/enforcer.h"
#include "agent/enforce/view.h"
#include "agent/model/policies_json.h"
#include "agent/flows/collector.h"
#include "agent/http/server.h"
#include "agent/repair_counts.h"
#include "agent/server.h"
#include "agent/sources/k8s/source.h"
#include "agent/sources/localdir.h"
#include "common/log.h"

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

// libbpf's messages into our log (expected ENOENT/EEXIST answers included), at debug.
int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list ap) {
  char buf[1024];
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  std::string msg(buf);
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  (void)level;  // callers log the errors they act on; the rest is detail
  strand::log::debug("libbpf", {{"msg", msg}});
  return 0;
}

int cleanup(const strand::agent::Config& c) {
  using namespace strand::agent;
  int rc = 0;
  if (auto r = detach_uplink_xdp(c.link_pin_dir()); !r) {
    strand::log::error("uplink XDP link not removed", {{"error", r.error().message()}});
    rc = 1;
  }
  if (auto st = detach_all_pinned(c.link_pin_dir()); !st) {
    strand::log::error("links not removed", {{"error", st.error().message()}});
    rc = 1;
  }
  if (auto st = detach_recorded_tc(c.state_dir); !st) {
    strand::log::error("tc filters not removed", {{"error", st.error().message()}});
    rc = 1;
  }
  if (auto names = pin_names(c.map_pin_dir()); names) {
    for (const auto& n : *names) {
      if (auto st = unpin(c.map_pin_dir() + "/" + n); !st) rc = 1;
    }
  }
  for (const auto& d : {c.link_pin_dir(), c.map_pin_dir(), c.pin_root()}) {
    if (auto st = remove_dir(d); !st) {
      strand::log::error("pin directory not removed", {{"error", st.error().message()}});
      rc = 1;
    }
  }
  (void)remove_dir(c.bpffs + "/strand");  // only when no other node's pins are left
  strand::log::info("cleanup done", {{"pins", c.pin_root()}, {"rc", std::to_string(rc)}});
  return rc;
}

// The flow collector over the loaded datapath's maps, and the HTTP API over it.
struct Observability {
  std::unique_ptr<strand::agent::flows::Collector> collector;
  std::unique_ptr<strand::agent::http::HttpServer> http;
};
Observability start_observability(const strand::agent::Config& c, const strand::agent::Datapath& dp,
                                  strand::agent::Endpoints& eps, const strand::agent::RepairCounts& repairs,
                                  const strand::agent::HandoffCounts& handoffs,
                                  std::function<nlohmann::json()> policies, const std::atomic<bool>& socket_ready,
                                  std::function<bool()> sources_synced, const strand::model::Model& model,
                                  const strand::enforce::Enforcer* enforcer) {
  using namespace strand::agent;
  Observability o;
  flows::CollectorMaps maps{dp.ct_fd(), dp.ep_stats_fd(), dp.events_fd(), {}, dp.tc_config()};
  for (const char* m : {STRAND_MAP_CT, STRAND_MAP_ENDPOINTS, STRAND_MAP_EP_STATS, STRAND_MAP_IPCACHE,
                        STRAND_MAP_POLICY, STRAND_MAP_EV_LIMIT}) {
    maps.counted.emplace_back(m, dp.map_fd(m));
  }
  auto col = flows::Collector::create(std::move(maps));
  if (!col) {
    strand::log::error("flow collector not started", {{"error", col.error().message()}});
    return o;
  }
  o.collector = std::move(*col);
  o.collector->start();
  if (c.http.empty()) return o;
  http::Sources src;
  src.collector = o.collector.get();
  src.endpoints = [&eps] { return eps.snapshot(); };
  src.entry = [fd = dp.endpoints_fd()](int ifindex) -> std::optional<strand_endpoint> {
    __u32 key = static_cast<__u32>(ifindex);
    strand_endpoint ep{};
    if (bpf_map_lookup_elem(fd, &key, &ep) != 0) return std::nullopt;
    return ep;
  };
  src.policies = std::move(policies);
  if (enforcer != nullptr) {
    src.policies_summary = [&model, enforcer] { return strand::enforce::policies_summary_json(model, *enforcer); };
    src.policy_counts = [enforcer] {
      const auto st = enforcer->stats();
      return http::PolicyCounts{st.policies_enforced, st.policies_not_enforced};
    };
    src.rule = [enforcer](uint32_t rule, uint32_t ep, uint8_t dir) {
      return strand::enforce::rule_json(*enforcer, rule, ep, dir);
    };
    src.why = [&model, enforcer](const std::string& from, const std::string& to,
                                 const std::string& port) -> strand::Result<nlohmann::json> {
      auto pp = strand::enforce::parse_port_proto(port);
      if (!pp) return std::unexpected(pp.error());
      return strand::enforce::why_json(model, enforcer, {from, to, pp->first, pp->second});
    };
  }
  src.repairs = &repairs;
  src.handoffs = &handoffs;
  src.ready = [&socket_ready, sources_synced = std::move(sources_synced)] {
    const bool sock = socket_ready.load();
    const bool synced = sources_synced();
    return nlohmann::json{{"ready", sock && synced},
                          {"checks", {{"datapath", "ok"}, {"socket", sock ? "ok" : "not served"},
                                      {"sources", synced ? "ok" : "not synced"}}}};
  };
  auto srv = http::HttpServer::start(c.http, std::move(src));
  if (!srv) {
    strand::log::error("http not started", {{"error", srv.error().message()}});
  } else {
    o.http = std::move(*srv);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace strand::agent;
  int exit_code = 0;
  auto cfg = parse_config(argc, argv, exit_code);
  if (!cfg) return exit_code;
  strand::log::init("strand-agent", cfg->log_file, cfg->log_level);
  spdlog::flush_on(spdlog::level::trace);  // few lines, and a killed agent must leave them all
  libbpf_set_print(libbpf_log);

  if (auto st = ensure_bpffs(cfg->bpffs); !st) {
    strand::log::error("bpffs not available", {{"error", st.error().message()}});
    return 1;
  }
  if (cfg->cleanup) return cleanup(*cfg);

  auto dp = Datapath::load(cfg->map_pin_dir());
  if (!dp) {
    strand::log::error("datapath not loaded", {{"error", dp.error().message()}});
    return 1;
  }
  const AttachMode mode = cfg->attach_mode == "tc"    ? AttachMode::kTc
                          : cfg->attach_mode == "tcx" ? AttachMode::kTcx
                                                      : detect_attach_mode();
  strand::log::info("attach mode", {{"mode", attach_mode_name(mode)}, {"links", cfg->link_pin_dir()}});
  std::optional<UplinkXdp> uplink;  // pinned link: stays attached when the agent exits
  if (!cfg->uplink.empty()) {
    auto x = UplinkXdp::attach(cfg->uplink, cfg->map_pin_dir(), cfg->link_pin_dir());
    if (!x) {
      strand::log::error("uplink XDP not attached", {{"uplink", cfg->uplink}, {"error", x.error().message()}});
      return 1;
    }
    strand::log::info("uplink XDP attached",
                      {{"uplink", cfg->uplink}, {"mode", xdp_mode_name(x->mode())}, {"link", xdp_link_action_name(x->action())},
                       {"link_id", std::to_string(x->link_id())}, {"prog_id", std::to_string(x->prog_id())}});
    uplink.emplace(std::move(*x));
  } else if (auto r = detach_uplink_xdp(cfg->link_pin_dir()); !r) {
    strand::log::error("uplink XDP link not removed", {{"error", r.error().message()}});
    return 1;
  } else if (*r) {
    strand::log::info("uplink XDP detached", {{"reason", "no-uplink-configured"}});
  }
  Attacher attacher(mode, cfg->link_pin_dir());
  Endpoints endpoints(*dp, attacher, cfg->state_dir);

  // The cluster model, from --source-dir or the Kubernetes API. It is
  // complete (the directory's first scan is synchronous; the API's first
  // lists are waited for) before any endpoint is restored, so restored pods
  // are judged by their policies, not as unknown.
  strand::model::Model model;
  auto model_logged = model.subscribe([&model](uint64_t version, std::span<const strand::model::Change> changes) {
    bool policies = std::ranges::any_of(
        changes, [](const auto& c) { return c.key.kind == strand::model::Kind::kNetworkPolicy; });
    auto n = model.counts();
    strand::log::info(policies ? "policies changed" : "model changed",
                      {{"version", std::to_string(version)}, {"changes", std::to_string(changes.size())},
                       {"policies", std::to_string(n.policies)}, {"pods", std::to_string(n.pods)},
                       {"namespaces", std::to_string(n.namespaces)}, {"nodes", std::to_string(n.nodes)}});
  });
  // NetworkPolicy enforcement needs a source of policies; without one the
  // agent enforces nothing (plain CNI use).
  std::unique_ptr<strand::enforce::Enforcer> enforcer;
  std::unique_ptr<strand::sources::LocalDirSource> source;
  std::unique_ptr<strand::sources::k8s::K8sSource> k8s;
  if (!cfg->source_dir.empty() || !cfg->kubeconfig.empty() || cfg->in_cluster) {
    strand::enforce::MapFds fds{dp->map_fd(STRAND_MAP_POLICY), dp->map_fd(STRAND_MAP_IPCACHE), dp->endpoints_fd(),
                                dp->map_fd(STRAND_MAP_POLICY_HITS)};
    strand::enforce::EnforcerOptions eo;
    eo.audit = cfg->policy_audit;
    enforcer = std::make_unique<strand::enforce::Enforcer>(model, fds, eo);
  }
  if (!cfg->source_dir.empty()) {
    auto src = strand::sources::LocalDirSource::open(cfg->source_dir, model);
    if (!src) {
      strand::log::error("source dir not watched", {{"error", src.error().message()}});
      return 1;
    }
    source = std::move(*src);
    source->on_generation([e = enforcer.get()](uint64_t gen, uint64_t version) { e->note_generation(gen, version); });
    if (auto st = source->start(); !st) {
      strand::log::error("source not started", {{"error", st.error().message()}});
      return 1;
    }
  }
  // Or from the Kubernetes API (--kubeconfig / --in-cluster).
  if (!cfg->kubeconfig.empty() || cfg->in_cluster) {
    auto kc = cfg->in_cluster ? strand::sources::k8s::load_in_cluster()
                              : strand::sources::k8s::load_kubeconfig(cfg->kubeconfig);
    if (!kc) {
      strand::log::error("kubernetes config not loaded", {{"error", kc.error().message()}});
      return 1;
    }
    auto src = strand::sources::k8s::K8sSource::open(std::move(*kc), model);
    if (!src) {
      strand::log::error("kubernetes source not opened", {{"error", src.error().message()}});
      return 1;
    }
    k8s = std::move(*src);
    if (auto st = k8s->start(); !st) {
      strand::log::error("kubernetes source not started", {{"error", st.error().message()}});
      return 1;
    }
    // Pinned programs keep enforcing the last state meanwhile; the CNI
    // socket is not served, so new pods wait (ADD answers "try again").
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    for (int waited = 0; !k8s->synced() && !g_stop.load(); ++waited) {
      if (waited > 0 && waited % 100 == 0) {
        strand::log::warn("waiting for the kubernetes API's first lists", {{"seconds", std::to_string(waited / 10)}});
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (g_stop.load()) return 0;
  }
  if (enforcer) endpoints.set_policy(enforcer.get());
  endpoints.restore();
  if (enforcer) {
    if (auto st = enforcer->start(); !st) {
      strand::log::error("policy enforcement not started", {{"error", st.error().message()}});
      return 1;
    }
    strand::log::info("policy enforcement started", {{"audit", cfg->policy_audit ? "all" : "by namespace"}});
  }
  RepairCounts repairs;  // the netlink watcher's counts, shown by /metrics
  endpoints.set_repair_counts(&repairs);
  repair::Watcher watcher(endpoints, repairs, std::chrono::seconds(std::max(1, cfg->reconcile_seconds)));
  Reaper reaper;
  endpoints.set_reap([&reaper] { reaper.kick(); });

  std::atomic<bool> socket_ready{false};
  std::function<nlohmann::json()> policies = [&model] { return strand::model::policies_json(model); };
  if (enforcer) policies = [&model, e = enforcer.get()] { return strand::enforce::policies_json(model, *e); };
  HandoffCounts handoffs;  // verbs plugins offered, shown by /metrics
  auto obs = start_observability(*cfg, *dp, endpoints, repairs, handoffs, std::move(policies), socket_ready,
                                 [&k8s] { return k8s == nullptr || k8s->synced(); }, model, enforcer.get());

  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  auto server = Server::listen(cfg->socket);
  if (!server) {
    strand::log::error("socket not bound", {{"error", server.error().message()}});
    return 1;
  }
  if (auto st = watcher.start(g_stop); !st) {
    strand::log::error("repair watcher not started", {{"error", st.error().message()}});
    return 1;
  }
  socket_ready.store(true);
  strand::log::info("agent ready", {{"node", cfg->node}, {"socket", cfg->socket}});
  // Verbs a plugin hands over run on worker threads; their agent calls are
  // answered by `endpoints` in process.
  CniHandoff handoff(cfg->socket, [&endpoints](const nlohmann::json& req) { return endpoints.handle(req); });
  handoff.set_counts(&handoffs);
  auto st = server->run([&](const std::string& line) { return endpoints.handle(line).dump(); }, g_stop,
                        [&handoff](const std::string& line, strand::UniqueFd& fd) { return handoff.take(line, fd); });
  g_stop.store(true);
  server->close();
  handoff.drain();
  watcher.join();
  if (obs.http) obs.http->stop();
  if (obs.collector) obs.collector->stop();
  if (k8s) k8s->stop();
  if (source) source->stop();
  if (enforcer) enforcer->stop();
  if (!st) {
    strand::log::error("server failed", {{"error", st.error().message()}});
    return 1;
  }
  strand::log::info("agent stopped");
  return 0;
}
