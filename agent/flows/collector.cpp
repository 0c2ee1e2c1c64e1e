#include "agent/flows/collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <poll.h>
#include <time.h>

#include <cstring>

#include "common/clock.h"
#include "common/log.h"

namespace strand::agent::flows {
namespace {

uint64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// Every key of a hash-like map; a key deleted while we walk restarts nothing
// (get_next_key of a missing key returns the first key: bounded by a cap).
template <typename K>
std::vector<K> map_keys(int fd, size_t cap) {
  std::vector<K> keys;
  K key{}, next{};
  const K* prev = nullptr;
  while (keys.size() < cap && bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
  }
  return keys;
}

size_t count_entries(int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return 0;
  std::vector<std::byte> key(info.key_size), next(info.key_size);
  size_t n = 0;
  const void* prev = nullptr;
  while (n < info.max_entries && bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    ++n;
    key.swap(next);
    prev = key.data();
  }
  return n;
}

FlowEnd end_of_state(uint8_t state) { return state == STRAND_CT_CLOSED ? FlowEnd::kRst : FlowEnd::kFin; }

}  // namespace

Collector::Collector(CollectorMaps maps, CollectorOptions opt)
    : maps_(std::move(maps)), opt_(opt), ended_(opt.flows_capacity), drops_(opt.drops_capacity) {}

Result<std::unique_ptr<Collector>> Collector::create(CollectorMaps maps, CollectorOptions opt) {
  if (maps.ct < 0 || maps.ep_stats < 0 || maps.events < 0) return fail("collector", EBADF, "map fds missing");
  std::unique_ptr<Collector> c(new Collector(std::move(maps), opt));
  c->rb_ = ring_buffer__new(c->maps_.events, &Collector::on_record, c.get(), nullptr);
  if (!c->rb_) return fail_errno("ring_buffer__new", "events map");
  return c;
}

Collector::~Collector() {
  stop();
  if (rb_) ring_buffer__free(rb_);
}

void Collector::start() {
  if (thread_.joinable()) return;
  stop_.store(false);
  thread_ = std::thread([this] { run(); });
}

void Collector::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void Collector::run() {
  const int efd = ring_buffer__epoll_fd(rb_);
  while (!stop_.load()) {
    pollfd p{efd, POLLIN, 0};
    (void)::poll(&p, 1, 200);
    std::lock_guard lock(mu_);
    (void)ring_buffer__consume(rb_);
    if (mono_us() - last_scan_us_ >= std::chrono::microseconds(opt_.period).count()) scan_locked();
  }
}

int Collector::on_record(void* ctx, void* data, size_t size) {
  static_cast<Collector*>(ctx)->handle_record({static_cast<const std::byte*>(data), size});
  return 0;
}

// Called from ring_buffer__consume, with mu_ held.
void Collector::handle_record(std::span<const std::byte> data) {
  auto ev = decode_event(data);
  if (!ev) {
    if (stats_.decode_errors++ == 0) log::warn("event not decoded", {{"error", ev.error().message()}});
    return;
  }
  if (const auto* d = std::get_if<strand_drop_event>(&*ev)) {
    (void)drops_.push(DropRecord{++drop_seq_, *d});
    return;
  }
  const auto& f = std::get<strand_flow_event>(*ev);
  const auto end = static_cast<FlowEnd>(f.hdr.reason);
  record_end(f.key, f.ct, end == FlowEnd::kActive || f.hdr.reason > STRAND_FLOW_END_POLICY ? FlowEnd::kFin : end);
}

// A finished flow: a new item, or fresher counters for one already recorded
// (the last ACK after both FINs arrives after the flow-end event).
void Collector::record_end(const strand_ct_key& key, const strand_ct_entry& ct, FlowEnd end) {
  const FlowId id = flow_id(key, ct);
  if (auto it = ended_index_.find(id); it != ended_index_.end()) {
    if (Flow* f = ended_.find(it->second); f && ct.last_seen_ns >= f->ct.last_seen_ns) f->ct = ct;
    return;
  }
  if (ct.rtt_ns != 0 && rtt_observed_.insert(id).second) {
    stats_.handshake.observe(static_cast<double>(ct.rtt_ns) / 1e9);
  }
  const uint64_t seq = ++flow_seq_;
  ended_index_[id] = seq;
  if (auto old = ended_.push(Flow{seq, key, ct, end})) ended_index_.erase(flow_id(old->key, old->ct));
}

void Collector::observe_rtt(const FlowId& id, const strand_ct_entry& ct, std::set<FlowId>& seen) {
  if (ct.rtt_ns == 0) return;
  seen.insert(id);
  if (rtt_observed_.insert(id).second) stats_.handshake.observe(static_cast<double>(ct.rtt_ns) / 1e9);
}

void Collector::scan_locked() {
  last_scan_us_ = mono_us();
  const uint64_t now = mono_ns();
  const auto keys = map_keys<strand_ct_key>(maps_.ct, 1u << 20);
  std::vector<Flow> active;
  std::map<FlowId, uint64_t> active_seq;
  std::set<FlowId> rtt_seen;
  for (const auto& key : keys) {
    strand_ct_entry ct{};
    if (bpf_map_lookup_elem(maps_.ct, &key, &ct) != 0) continue;  // gone since the walk
    const FlowId id = flow_id(key, ct);
    observe_rtt(id, ct, rtt_seen);
    if (ct_expired(ct, key.proto, maps_.cfg, now)) {
      if (bpf_map_delete_elem(maps_.ct, &key) == 0) ++stats_.ct_expired;
      record_end(key, ct, (ct.flags & STRAND_CT_F_ENDED) ? end_of_state(ct.state) : FlowEnd::kExpired);
      continue;
    }
    if (ct.flags & STRAND_CT_F_ENDED) {
      // Ended (FIN/RST) but still tracked for its last packets: a finished flow.
      record_end(key, ct, end_of_state(ct.state));
      continue;
    }
    auto it = active_seq_.find(id);
    const uint64_t seq = it != active_seq_.end() ? it->second : ++flow_seq_;
    active_seq[id] = seq;
    active.push_back(Flow{seq, key, ct, FlowEnd::kActive});
  }
  std::sort(active.begin(), active.end(), [](const Flow& a, const Flow& b) { return a.seq < b.seq; });
  active_ = std::move(active);
  active_seq_ = std::move(active_seq);
  // Forget histogram membership of flows neither tracked nor stored any more.
  std::erase_if(rtt_observed_, [&](const FlowId& id) { return !rtt_seen.contains(id) && !ended_index_.contains(id); });
  stats_.flows_active = active_.size();
  for (const auto& [name, fd] : maps_.counted) stats_.map_entries[name] = name == "ct" ? keys.size() : count_entries(fd);
}

void Collector::refresh_locked() {
  (void)ring_buffer__consume(rb_);
  scan_locked();
}

void Collector::refresh() {
  std::lock_guard lock(mu_);
  refresh_locked();
}

std::vector<Flow> Collector::flows() {
  std::lock_guard lock(mu_);
  refresh_locked();
  std::vector<Flow> out = active_;
  auto ended = ended_.items();
  out.insert(out.end(), ended.begin(), ended.end());
  return out;
}

std::vector<DropRecord> Collector::drops() {
  std::lock_guard lock(mu_);
  (void)ring_buffer__consume(rb_);
  return drops_.items();
}

std::map<uint32_t, strand_ep_stats> Collector::ep_stats() const {
  std::map<uint32_t, strand_ep_stats> out;
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return out;
  std::vector<strand_ep_stats> per_cpu(static_cast<size_t>(ncpu));
  for (uint32_t ep : map_keys<uint32_t>(maps_.ep_stats, 1u << 20)) {
    if (bpf_map_lookup_elem(maps_.ep_stats, &ep, per_cpu.data()) != 0) continue;
    strand_ep_stats sum{};
    for (const auto& s : per_cpu) {
      for (int d = 0; d < 2; ++d) {
        sum.packets[d] += s.packets[d];
        sum.bytes[d] += s.bytes[d];
        sum.non_ip[d] += s.non_ip[d];
        sum.fragments[d] += s.fragments[d];
      }
      sum.events_sent += s.events_sent;
      sum.events_limited += s.events_limited;
      sum.events_lost += s.events_lost;
      for (int d = 0; d < 2; ++d) {
        for (int r = 0; r < STRAND_DROP_SLOTS; ++r) sum.drops[d][r] += s.drops[d][r];
      }
    }
    out[ep] = sum;
  }
  return out;
}

CollectorStats Collector::stats() {
  auto eps = ep_stats();
  std::lock_guard lock(mu_);
  refresh_locked();
  CollectorStats s = stats_;
  s.events_lost = 0;
  for (const auto& [ep, st] : eps) s.events_lost += st.events_lost + st.events_limited;
  return s;
}

}  // namespace strand::agent::flows
