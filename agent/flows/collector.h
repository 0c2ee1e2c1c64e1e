#pragma once
// The flow collector: the agent's reader of the node datapath's maps.
//  - ct: active flows; idle entries past their timeout (the timeouts of
//    strand_tc_config) are deleted and kept as finished flows ("expired"),
//    since UDP and other protocols never send a FIN;
//  - events ringbuf: drop and flow-end records decoded into bounded stores;
//  - ep_stats: per-CPU counters summed per endpoint.
// A thread drains the ringbuf as records arrive and scans ct every period;
// every read (flows(), drops(), stats()) first does both, so answers are
// current. Thread-safe.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/flows/decode.h"
#include "agent/flows/histogram.h"
#include "agent/flows/store.h"
#include "common/error.h"

struct ring_buffer;

namespace strand::agent::flows {

struct CollectorMaps {
  int ct = -1;
  int ep_stats = -1;
  int events = -1;
  std::vector<std::pair<std::string, int>> counted;  // maps whose entries stats() counts, by name
  strand_tc_config cfg{};                            // the loaded program's timeouts
};

struct CollectorOptions {
  size_t drops_capacity = 4096;
  size_t flows_capacity = 4096;
  std::chrono::milliseconds period{1000};
};

struct CollectorStats {
  uint64_t flows_active = 0;
  Histogram handshake{handshake_buckets()};
  std::map<std::string, uint64_t> map_entries;
  uint64_t events_lost = 0;       // events_lost + events_limited of every endpoint
  uint64_t ct_expired = 0;        // entries the collector deleted as idle
  uint64_t decode_errors = 0;     // ringbuf records that did not decode
};

class Collector {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Collector>> create(CollectorMaps maps, CollectorOptions opt = {});
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  void start();  // the draining/scanning thread
  void stop();   // joins it; also done by the destructor

  // Drains the ringbuf and scans ct now.
  void refresh();
  // Active flows (ascending seq) then finished ones (ascending seq).
  [[nodiscard]] std::vector<Flow> flows();
  [[nodiscard]] std::vector<DropRecord> drops();
  [[nodiscard]] CollectorStats stats();
  // ep_stats summed over CPUs, per endpoint id.
  [[nodiscard]] std::map<uint32_t, strand_ep_stats> ep_stats() const;

 private:
  Collector(CollectorMaps maps, CollectorOptions opt);
  static int on_record(void* ctx, void* data, size_t size);
  void handle_record(std::span<const std::byte> data);
  void refresh_locked();
  void scan_locked();
  void record_end(const strand_ct_key& key, const strand_ct_entry& ct, FlowEnd end);
  void observe_rtt(const FlowId& id, const strand_ct_entry& ct, std::set<FlowId>& seen);
  void run();

  CollectorMaps maps_;
  CollectorOptions opt_;
  std::mutex mu_;
  ring_buffer* rb_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  // Guarded by mu_.
  uint64_t flow_seq_ = 0, drop_seq_ = 0;
  std::vector<Flow> active_;
  std::map<FlowId, uint64_t> active_seq_;      // seq of each active flow, kept while it lives
  BoundedStore<Flow> ended_;
  std::map<FlowId, uint64_t> ended_index_;     // FlowId -> seq in ended_
  BoundedStore<DropRecord> drops_;
  std::set<FlowId> rtt_observed_;              // flows already in the histogram
  CollectorStats stats_;
  int64_t last_scan_us_ = 0;
};

}  // namespace strand::agent::flows
