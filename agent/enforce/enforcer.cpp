#include "agent/enforce/enforcer.h"

#include <algorithm>
#include <optional>

#include "agent/enforce/host_addrs.h"
#include "common/log.h"

namespace strand::enforce {

namespace {

uint64_t now_us() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// Namespaces whose annotation asks for audit mode.
std::set<std::string> audit_namespaces(const model::Model& m) {
  return m.read([](uint64_t, const model::Model::Objects& objs) {
    std::set<std::string> out;
    for (auto it = objs.lower_bound(model::Key{model::Kind::kNamespace, "", ""});
         it != objs.end() && it->first.kind == model::Kind::kNamespace; ++it) {
      const auto& ns = std::get<model::Namespace>(it->second);
      if (auto a = ns.annotations.find(std::string(kAuditAnnotation)); a != ns.annotations.end() && a->second == "true") {
        out.insert(ns.base.name);
      }
    }
    return out;
  });
}

policy::LocalEndpoint local_endpoint(const EndpointRecord& rec, uint32_t ep_id) {
  policy::LocalEndpoint ep;
  ep.ep_id = ep_id;
  ep.ns = rec.pod_namespace;
  ep.name = rec.pod_name;
  for (const auto& p : rec.ips) ep.ips.push_back(p.addr);
  return ep;
}

}  // namespace

Enforcer::Enforcer(model::Model& model, MapFds fds, EnforcerOptions opts)
    : model_(model),
      fds_(fds),
      opts_(opts),
      // Not what an earlier agent left in the pinned entries (its policy may
      // have changed while no agent ran): start from the clock.
      rev_(static_cast<uint32_t>(std::chrono::system_clock::now().time_since_epoch().count())) {
  sub_ = model_.subscribe([this](uint64_t, std::span<const model::Change>) {
    {
      std::lock_guard lock(sig_mu_);
      dirty_ = true;
    }
    cv_.notify_all();
  });
}

Enforcer::~Enforcer() { stop(); }

Status Enforcer::start() {
  {
    std::lock_guard lock(mu_);
    if (auto st = sync_locked(); !st) return st;
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void Enforcer::stop() {
  {
    std::lock_guard lock(sig_mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  sub_ = model::Subscription();
}

void Enforcer::run() {
  bool retry = false;
  std::vector<IpAddr> hosts;
  if (auto h = host_addresses()) hosts = std::move(*h);
  while (true) {
    {
      std::unique_lock lock(sig_mu_);
      // Woken by a model change; otherwise every host_poll the node's
      // addresses are compared (HOST identity follows them: an address
      // added to the node must not be denied as WORLD).
      cv_.wait_for(lock, retry ? opts_.retry : opts_.host_poll, [&] { return dirty_ || stop_; });
      if (stop_) return;
      if (auto h = host_addresses(); h && *h != hosts) {
        hosts = std::move(*h);
        dirty_ = true;
      }
      if (!dirty_ && !retry) continue;
      dirty_ = false;
    }
    std::lock_guard lock(mu_);
    retry = !sync_locked().has_value();
  }
}

Status Enforcer::sync_locked() {
  const uint64_t t0 = now_us();
  // The version first: the cluster read after it is at least as new.
  const uint64_t version = model_.version();
  const policy::Cluster cluster = model_.cluster();
  const std::set<std::string> audit = audit_namespaces(model_);
  auto hosts = host_addresses();
  if (!hosts) {
    ++stats_.errors;
    log::error("policy sync failed", {{"error", hosts.error().message()}});
    return std::unexpected(hosts.error());
  }
  policy::CompileInput in;
  in.cluster = &cluster;
  in.host_ips = std::move(*hosts);
  in.endpoints.reserve(endpoints_.size());
  for (auto [id, ep] : endpoints_) {
    ep.audit = opts_.audit || audit.contains(ep.ns);
    in.endpoints.push_back(std::move(ep));
  }
  // Resuming, the difference is taken from what the maps hold, not from
  // what this compiler last wrote: an earlier agent's entries (numbered by
  // its own compiler) or a delta written in part.
  const bool resuming = resume_;
  policy::Delta delta;
  std::optional<PinnedMaps> pinned;
  if (resuming) {
    auto read = read_pinned(fds_);
    if (!read) {
      ++stats_.errors;
      log::error("policy sync failed", {{"error", read.error().message()}});
      return std::unexpected(read.error());
    }
    pinned = std::move(*read);
    delta = compiler_.resume(pinned->state, in);
  } else {
    delta = compiler_.update(in);
  }
  note_statuses_locked();
  std::set<uint32_t> attached;
  for (const auto& [id, ep] : endpoints_) attached.insert(id);
  auto n = write_delta(fds_, delta, attached, rev_);
  ++stats_.syncs;
  if (!n) {
    ++stats_.errors;
    log::error("policy sync failed", {{"error", n.error().message()}});
    // The compiler believes the delta is written: next time, from what is.
    resume_ = true;
    return std::unexpected(n.error());
  }
  if (pinned) {
    // Keys the writer does not make: the delta does not know them.
    auto pruned = delete_strays(fds_, *pinned);
    if (!pruned) {
      ++stats_.errors;
      log::error("stale policy entries not removed", {{"error", pruned.error().message()}});
      resume_ = true;
      return std::unexpected(pruned.error());
    }
    stats_.pruned += *pruned;
    resume_ = false;
    log::info("policy resumed from the pinned maps", {{"written", std::to_string(n->written)},
                                                      {"deleted", std::to_string(n->deleted + *pruned)},
                                                      {"endpoints", std::to_string(endpoints_.size())}});
  }
  if (!delta.empty()) {
    // Last: tracked connections are judged again by what is in the maps now.
    ++rev_;
    if (auto st = write_revision(fds_, compiler_.state(), attached, rev_); !st) {
      ++stats_.errors;
      log::error("policy revision not written", {{"error", st.error().message()}});
      return st;
    }
  }
  stats_.written += n->written;
  stats_.deleted += n->deleted;
  stats_.applied_version = std::max(stats_.applied_version, version);
  stats_.last_sync_us = now_us() - t0;
  if (!delta.empty()) {
    log::debug("policy synced", {{"version", std::to_string(version)},
                                 {"written", std::to_string(n->written)},
                                 {"deleted", std::to_string(n->deleted)},
                                 {"us", std::to_string(stats_.last_sync_us)}});
  }
  publish_locked();
  return {};
}

void Enforcer::note_statuses_locked() {
  const auto statuses = compiler_.policy_statuses();
  std::map<std::string, std::string> now;
  for (const auto& [id, st] : statuses) {
    if (st.enforced) continue;
    now.emplace(id, st.reason);
    auto it = not_enforced_.find(id);
    if (it == not_enforced_.end() || it->second != st.reason) {
      log::warn("policy not enforced, the pods it selects fail closed", {{"policy", id}, {"reason", st.reason}});
    }
  }
  for (const auto& [id, reason] : not_enforced_) {
    // A policy deleted while not enforced did not recover: nothing to say.
    if (!now.contains(id) && statuses.contains(id)) log::info("policy enforced again", {{"policy", id}});
  }
  not_enforced_ = std::move(now);
  stats_.policies_not_enforced = not_enforced_.size();
  stats_.policies_enforced = statuses.size() - not_enforced_.size();
}

void Enforcer::publish_locked() {
  for (auto it = pending_gens_.begin(); it != pending_gens_.end();) {
    if (it->second <= stats_.applied_version) {
      stats_.generation = std::max(stats_.generation, it->first);
      it = pending_gens_.erase(it);
    } else {
      ++it;
    }
  }
}

void Enforcer::note_generation(uint64_t generation, uint64_t model_version) {
  std::lock_guard lock(mu_);
  pending_gens_.emplace_back(generation, model_version);
  publish_locked();
}

void Enforcer::restoring(const std::vector<std::pair<EndpointRecord, uint32_t>>& eps) {
  std::lock_guard lock(mu_);
  for (const auto& [rec, ep_id] : eps) endpoints_[ep_id] = local_endpoint(rec, ep_id);
}

Result<strand_endpoint> Enforcer::admit(const EndpointRecord& rec, uint32_t ep_id) {
  // The pod object usually reaches the model before the runtime calls ADD
  // (kubelet only creates sandboxes of pods the API server has); allow the
  // source a moment to catch up before judging the pod as unknown.
  const auto deadline = std::chrono::steady_clock::now() + opts_.pod_wait;
  while (!model_.pod_labels(rec.pod_namespace, rec.pod_name)) {
    std::unique_lock lock(sig_mu_);
    if (stop_ || cv_.wait_until(lock, deadline) == std::cv_status::timeout) break;
  }
  std::lock_guard lock(mu_);
  const policy::LocalEndpoint ep = local_endpoint(rec, ep_id);
  auto old = endpoints_.find(ep_id);
  std::optional<policy::LocalEndpoint> before;
  if (old != endpoints_.end()) before = old->second;
  endpoints_[ep_id] = ep;
  if (auto st = sync_locked(); !st) {
    if (before) {
      endpoints_[ep_id] = *before;
    } else {
      endpoints_.erase(ep_id);
    }
    return std::unexpected(st.error());
  }
  if (!model_.pod_labels(rec.pod_namespace, rec.pod_name)) {
    log::warn("pod not in the model: its endpoint fails closed until it is",
              {{"pod", rec.pod_namespace + "/" + rec.pod_name}, {"ep", std::to_string(ep_id)}});
  }
  const auto& eps = compiler_.state().endpoints;
  auto it = eps.find(ep_id);
  return endpoint_value(ep_id, it == eps.end() ? policy::EndpointState{} : it->second, rev_);
}

void Enforcer::forget(uint32_t ep_id) {
  std::lock_guard lock(mu_);
  if (endpoints_.erase(ep_id) == 0) return;
  if (sync_locked()) return;
  {  // logged; the thread tries again
    std::lock_guard s(sig_mu_);
    dirty_ = true;
  }
  cv_.notify_all();
}

strand_endpoint Enforcer::entry(uint32_t ep_id) const {
  std::lock_guard lock(mu_);
  const auto& eps = compiler_.state().endpoints;
  auto it = eps.find(ep_id);
  return endpoint_value(ep_id, it == eps.end() ? policy::EndpointState{} : it->second, rev_);
}

EnforcerStats Enforcer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace strand::enforce
