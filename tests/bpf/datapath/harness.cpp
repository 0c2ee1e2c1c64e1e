#include "harness.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "strand_tc.skel.h"
#include "strand_xdp.skel.h"

namespace strand::test {
namespace {

[[noreturn]] void fail(const std::string& op, int err) {
  throw std::runtime_error(op + ": " + std::strerror(err < 0 ? -err : err));
}

// Per-CPU values of an all-__u64 struct, summed field by field.
template <typename T>
std::optional<T> lookup_percpu_sum(int fd, const void* key) {
  static_assert(sizeof(T) % 8 == 0);
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) fail("libbpf_num_possible_cpus", ncpu);
  std::vector<std::uint64_t> raw(static_cast<std::size_t>(ncpu) * (sizeof(T) / 8));
  if (bpf_map_lookup_elem(fd, key, raw.data()) != 0) {
    if (errno == ENOENT) return std::nullopt;
    fail("bpf_map_lookup_elem", errno);
  }
  std::vector<std::uint64_t> sum(sizeof(T) / 8, 0);
  for (std::size_t c = 0; c < static_cast<std::size_t>(ncpu); ++c) {
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += raw[c * sum.size() + i];
  }
  T out;
  std::memcpy(&out, sum.data(), sizeof(T));
  return out;
}

// BPF_PROG_TEST_RUN of prog over pkt, `repeat` times, with an __sk_buff
// context (ifindex kTestIfindex) when skb; the packet out into *out when
// given. Throws when the kernel refuses the run.
bpf_test_run_opts test_run(const bpf_program* prog, const Bytes& pkt, std::uint32_t repeat, bool skb, Bytes* out) {
  __sk_buff ctx{};
  ctx.ifindex = kTestIfindex;
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = pkt.data();
  opts.data_size_in = static_cast<std::uint32_t>(pkt.size());
  if (out != nullptr) {
    opts.data_out = out->data();
    opts.data_size_out = static_cast<std::uint32_t>(out->size());
  }
  opts.repeat = repeat;
  if (skb) {
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
  }
  if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts) != 0) {
    fail(std::string("bpf_prog_test_run_opts ") + bpf_program__name(prog), errno);
  }
  return opts;
}

// One test run of `repeat` runs; the kernel's average duration per run (ns).
std::uint32_t timed_prog(const bpf_program* prog, const Bytes& pkt, std::uint32_t repeat, std::uint32_t want) {
  const bpf_test_run_opts opts = test_run(prog, pkt, repeat, true, nullptr);
  if (opts.retval != want) {
    throw std::runtime_error(std::string(bpf_program__name(prog)) + " returned " + std::to_string(opts.retval) +
                             ", want " + std::to_string(want));
  }
  return opts.duration;
}

RunResult run_prog(const bpf_program* prog, const Bytes& pkt, bool skb) {
  Bytes out(pkt.size() + 256);
  const bpf_test_run_opts opts = test_run(prog, pkt, 1, skb, &out);
  out.resize(opts.data_size_out);
  return {opts.retval, std::move(out)};
}

std::vector<std::uint8_t> padded16(const std::vector<std::uint8_t>& addr) {
  std::vector<std::uint8_t> a = addr;
  a.resize(16, 0);
  return a;
}

}  // namespace

bool is_root() { return geteuid() == 0; }

strand_lpm_key lpm_key(const std::vector<std::uint8_t>& addr, std::uint32_t bits) {
  strand_lpm_key k{};
  k.prefixlen = STRAND_LPM_PREFIX(bits);
  k.family = addr.size() == 4 ? STRAND_FAMILY_IPV4 : STRAND_FAMILY_IPV6;
  std::memcpy(k.addr, addr.data(), addr.size());
  return k;
}

strand_policy_key policy_key(const PolicyEntry& e) {
  if (e.port_bits > 16) throw std::invalid_argument("policy_key: port_bits > 16");
  strand_policy_key k{};
  k.prefixlen = e.proto == 0 ? STRAND_POLICY_PREFIX_ANY_PROTO
                             : STRAND_POLICY_PREFIX_ANY_PORT + e.port_bits;
  k.ep_id = htonl(e.ep_id);
  k.remote_identity = htonl(e.remote_identity);
  k.dir = e.dir;
  k.proto = e.proto;
  k.dport = e.proto == 0 ? 0 : htons(e.port);
  return k;
}

strand_ct_key ct_key(const std::vector<std::uint8_t>& saddr,
                     const std::vector<std::uint8_t>& daddr, std::uint16_t sport,
                     std::uint16_t dport, std::uint8_t proto, std::uint8_t dir) {
  strand_ct_key k{};
  std::memcpy(k.saddr, padded16(saddr).data(), 16);
  std::memcpy(k.daddr, padded16(daddr).data(), 16);
  k.sport = htons(sport);
  k.dport = htons(dport);
  k.proto = proto;
  k.family = saddr.size() == 4 ? STRAND_FAMILY_IPV4 : STRAND_FAMILY_IPV6;
  k.dir = dir;
  return k;
}

TcDatapath::TcDatapath(const std::function<void(strand_tc_config&)>& tweak) {
  skel_ = strand_tc__open();
  if (!skel_) fail("strand_tc__open", errno);
  // .rodata is const volatile in BPF; between open and load it is ours.
  if (tweak) tweak(skel_->rodata->strand_cfg);
  if (int err = strand_tc__load(skel_); err != 0) {
    strand_tc__destroy(skel_);
    skel_ = nullptr;
    fail("strand_tc__load", err);
  }
}

TcDatapath::~TcDatapath() { strand_tc__destroy(skel_); }

RunResult TcDatapath::run(Hook hook, const Bytes& pkt) {
  return run_prog(hook == Hook::kFromPod ? skel_->progs.from_pod : skel_->progs.to_pod, pkt,
                  true);
}

std::uint32_t TcDatapath::run_timed(Hook hook, const Bytes& pkt, std::uint32_t repeat, std::uint32_t want) {
  return timed_prog(hook == Hook::kFromPod ? skel_->progs.from_pod : skel_->progs.to_pod, pkt, repeat, want);
}

bpf_object* TcDatapath::object() { return skel_->obj; }

void TcDatapath::set_endpoint(std::uint32_t ifindex, const strand_endpoint& ep) {
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.endpoints), &ifindex, &ep, BPF_ANY) != 0) {
    fail("update endpoints", errno);
  }
}

void TcDatapath::add_ipcache(const strand_lpm_key& key, std::uint32_t identity,
                             std::uint32_t cidr_identity) {
  strand_ipcache_value v{};
  v.identity = identity;
  v.cidr_identity = cidr_identity;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.ipcache), &key, &v, BPF_ANY) != 0) {
    fail("update ipcache", errno);
  }
}

void TcDatapath::add_policy(const PolicyEntry& e) {
  const strand_policy_key k = policy_key(e);
  strand_policy_value v{};
  v.verdict = STRAND_VERDICT_ALLOW;
  v.rule_id = e.rule_id;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.policy), &k, &v, BPF_ANY) != 0) {
    fail("update policy", errno);
  }
}

void TcDatapath::remove_policy(const PolicyEntry& e) {
  const strand_policy_key k = policy_key(e);
  if (bpf_map_delete_elem(bpf_map__fd(skel_->maps.policy), &k) != 0) {
    fail("delete policy", errno);
  }
}

std::uint64_t TcDatapath::policy_hits(std::uint32_t rule_id) {
  auto n = lookup_percpu_sum<std::uint64_t>(bpf_map__fd(skel_->maps.policy_hits), &rule_id);
  if (!n) fail("policy_hits lookup", ENOENT);
  return *n;
}

std::optional<strand_ep_stats> TcDatapath::ep_stats(std::uint32_t ep_id) {
  return lookup_percpu_sum<strand_ep_stats>(bpf_map__fd(skel_->maps.ep_stats), &ep_id);
}

std::vector<std::pair<strand_ct_key, strand_ct_entry>> TcDatapath::ct_entries() {
  const int fd = bpf_map__fd(skel_->maps.ct);
  std::vector<std::pair<strand_ct_key, strand_ct_entry>> out;
  strand_ct_key key{};
  strand_ct_key next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    strand_ct_entry e{};
    if (bpf_map_lookup_elem(fd, &next, &e) == 0) out.emplace_back(next, e);
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) fail("ct get_next_key", errno);
  return out;
}

std::optional<strand_ct_entry> TcDatapath::ct_lookup(const strand_ct_key& key) {
  strand_ct_entry e{};
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.ct), &key, &e) != 0) {
    if (errno == ENOENT) return std::nullopt;
    fail("ct lookup", errno);
  }
  return e;
}

Events TcDatapath::drain_events() {
  struct Sink {
    Events ev;
    std::string error;
  } sink;
  auto cb = [](void* ctx, void* data, size_t size) -> int {
    auto* s = static_cast<Sink*>(ctx);
    strand_event_hdr hdr;
    if (size < sizeof(hdr)) {
      s->error = "short event";
      return 0;
    }
    std::memcpy(&hdr, data, sizeof(hdr));
    if (hdr.type == STRAND_EV_DROP && size == sizeof(strand_drop_event)) {
      strand_drop_event e;
      std::memcpy(&e, data, sizeof(e));
      s->ev.drops.push_back(e);
    } else if (hdr.type == STRAND_EV_FLOW_END && size == sizeof(strand_flow_event)) {
      strand_flow_event e;
      std::memcpy(&e, data, sizeof(e));
      s->ev.flows.push_back(e);
    } else {
      s->error = "unexpected event type " + std::to_string(hdr.type) + " size " +
                 std::to_string(size);
    }
    return 0;
  };
  ring_buffer* rb = ring_buffer__new(bpf_map__fd(skel_->maps.events), cb, &sink, nullptr);
  if (!rb) fail("ring_buffer__new", errno);
  const int n = ring_buffer__consume(rb);
  ring_buffer__free(rb);
  if (n < 0) fail("ring_buffer__consume", n);
  if (!sink.error.empty()) throw std::runtime_error(sink.error);
  return sink.ev;
}

XdpDatapath::XdpDatapath() {
  skel_ = strand_xdp__open_and_load();
  if (!skel_) fail("strand_xdp__open_and_load", errno);
}

XdpDatapath::~XdpDatapath() { strand_xdp__destroy(skel_); }

bpf_object* XdpDatapath::object() { return skel_->obj; }

RunResult XdpDatapath::run(const Bytes& pkt) { return run_prog(skel_->progs.uplink, pkt, false); }

void XdpDatapath::deny(const strand_lpm_key& key) {
  strand_prefilter_value v{};
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.prefilter), &key, &v, BPF_ANY) != 0) {
    fail("update prefilter", errno);
  }
}

strand_node_stats XdpDatapath::node_stats() {
  const std::uint32_t zero = 0;
  auto s = lookup_percpu_sum<strand_node_stats>(bpf_map__fd(skel_->maps.node_stats), &zero);
  if (!s) fail("node_stats lookup", ENOENT);
  return *s;
}

std::optional<strand_prefilter_value> XdpDatapath::prefilter_hits(const strand_lpm_key& key) {
  strand_prefilter_value v{};
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.prefilter), &key, &v) != 0) {
    if (errno == ENOENT) return std::nullopt;
    fail("prefilter lookup", errno);
  }
  return v;
}

}  // namespace strand::test
