// Flow accounting end to end: the real agent in a node netns, two pods ADDed
// through the real plugin, TCP and UDP of known sizes between them, a frame
// the datapath must drop. /v1/flows, /v1/drops, /v1/endpoints and /metrics
// must show exactly what a packet capture on the pod's eth0 saw.
//
// Accounting (docs/api.md): bytes are skb->len at the pod's host veth, the
// whole Ethernet frame (14-byte header, no FCS). The capture (AF_PACKET on the
// pod's eth0) sees the same frames, so its lengths are the expected counts;
// the test also checks those frames carry exactly the payload it sent, so the
// expected counts are "payload + headers", not whatever the capture saw.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "tests/netns/agent/agent_fixture.h"

namespace strand::test {
namespace {

constexpr int kHttpPort = 9464;
constexpr uint16_t kUdpPort = 7000, kTcpPort = 7001;
constexpr int kUdpCount = 10, kUdpReq = 200, kUdpResp = 100;
constexpr int kTcpMsgs = 5, kTcpReq = 1000, kTcpResp = 300;

// Runs fn on a thread inside the netns at `path`.
template <typename F>
auto in_netns(const std::string& path, F fn) {
  using R = decltype(fn());
  std::packaged_task<R()> task([&] {
    auto ns = Netns::open(path);
    if (!ns) throw std::runtime_error(ns.error().message());
    auto g = ns->enter();
    if (!g) throw std::runtime_error(g.error().message());
    return fn();
  });
  auto fut = task.get_future();
  std::thread t(std::move(task));
  t.join();
  return fut.get();
}

struct Frame {
  bool outgoing = false;  // sent by the pod
  uint32_t len = 0;       // the whole frame
  std::vector<uint8_t> head;
};

// Every frame on the pod's eth0, both ways, while running.
class Capture {
 public:
  void start(const std::string& ns_path) {
    std::promise<bool> ready;
    auto ready_f = ready.get_future();
    thread_ = std::thread([this, ns_path, &ready] {
      auto ns = Netns::open(ns_path);
      if (!ns) {
        ready.set_value(false);
        return;
      }
      auto g = ns->enter();
      UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
      sockaddr_ll sll{};
      sll.sll_family = AF_PACKET;
      sll.sll_protocol = htons(ETH_P_ALL);
      sll.sll_ifindex = static_cast<int>(::if_nametoindex("eth0"));
      timeval tv{0, 50000};
      const bool ok = g && fd && sll.sll_ifindex > 0 &&
                      ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) == 0 &&
                      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0;
      ready.set_value(ok);
      if (!ok) return;
      uint8_t buf[128];
      while (true) {
        sockaddr_ll from{};
        socklen_t fl = sizeof(from);
        ssize_t n = ::recvfrom(fd.get(), buf, sizeof(buf), MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n < 0) {
          if (stop_.load()) return;  // drained: nothing more within 50 ms of the stop
          continue;
        }
        Frame f;
        f.outgoing = from.sll_pkttype == PACKET_OUTGOING;
        f.len = static_cast<uint32_t>(n);
        f.head.assign(buf, buf + std::min<size_t>(static_cast<size_t>(n), sizeof(buf)));
        frames_.push_back(std::move(f));
      }
    });
    ASSERT_TRUE(ready_f.get()) << "packet capture not started";
  }
  std::vector<Frame> stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    return frames_;
  }
  ~Capture() { (void)stop(); }

 private:
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::vector<Frame> frames_;
};

struct Tuple {
  uint8_t proto;
  std::string src, dst;
  uint16_t sport, dport;
};

// IPv4 + TCP/UDP of a frame; nullopt for anything else.
std::optional<Tuple> tuple_of(const Frame& f, size_t* l4_payload = nullptr) {
  if (f.head.size() < 14 + 20 + 8 || f.head[12] != 0x08 || f.head[13] != 0x00) return std::nullopt;
  const uint8_t* ip = &f.head[14];
  const size_t ihl = (ip[0] & 0x0f) * 4u;
  char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, ip + 12, s, sizeof(s));
  ::inet_ntop(AF_INET, ip + 16, d, sizeof(d));
  const uint8_t* l4 = ip + ihl;
  Tuple t{ip[9], s, d, static_cast<uint16_t>(l4[0] << 8 | l4[1]), static_cast<uint16_t>(l4[2] << 8 | l4[3])};
  const size_t ip_len = static_cast<size_t>(ip[2] << 8 | ip[3]);
  if (l4_payload) {
    size_t l4_hdr = 8;
    if (t.proto == IPPROTO_TCP) l4_hdr = static_cast<size_t>(l4[12] >> 4) * 4;
    *l4_payload = ip_len - ihl - l4_hdr;
  }
  return t;
}

struct Counts {
  uint64_t tx_packets = 0, tx_bytes = 0, rx_packets = 0, rx_bytes = 0, tx_payload = 0, rx_payload = 0;
};

// What the capture saw of one connection (either way).
Counts count_flow(const std::vector<Frame>& frames, uint8_t proto, const std::string& pod_ip, uint16_t pod_port,
                  const std::string& peer_ip, uint16_t peer_port) {
  Counts c;
  for (const auto& f : frames) {
    size_t payload = 0;
    auto t = tuple_of(f, &payload);
    if (!t || t->proto != proto) continue;
    const bool out = t->src == pod_ip && t->sport == pod_port && t->dst == peer_ip && t->dport == peer_port;
    const bool in = t->dst == pod_ip && t->dport == pod_port && t->src == peer_ip && t->sport == peer_port;
    if (out && f.outgoing) {
      ++c.tx_packets;
      c.tx_bytes += f.len;
      c.tx_payload += payload;
    } else if (in && !f.outgoing) {
      ++c.rx_packets;
      c.rx_bytes += f.len;
      c.rx_payload += payload;
    }
  }
  return c;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}
bool read_all(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

sockaddr_in sin_of(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t l = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
  return ntohs(a.sin_port);
}

// A value of the metric line starting with `series` ("name{labels}").
std::optional<double> metric(const std::string& body, const std::string& series) {
  size_t pos = 0;
  while ((pos = body.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || body[pos - 1] == '\n') return std::stod(body.substr(pos + series.size() + 1));
    pos += series.size();
  }
  return std::nullopt;
}

uint16_t ip_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::array<uint8_t, 6> mac_of(const std::string& s) {
  std::array<uint8_t, 6> m{};
  unsigned v[6] = {};
  std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);
  for (int i = 0; i < 6; ++i) m[i] = static_cast<uint8_t>(v[i]);
  return m;
}

class FlowsTest : public AgentFixture {
 protected:
  std::pair<int, std::string> get(const std::string& path) {
    return in_netns(node_->path(), [&] {
      httplib::Client c("127.0.0.1", kHttpPort);
      c.set_read_timeout(5, 0);
      auto r = c.Get(path.c_str());
      return r ? std::pair<int, std::string>{r->status, r->body} : std::pair<int, std::string>{-1, ""};
    });
  }
  nlohmann::json get_json(const std::string& path) {
    auto [status, body] = get(path);
    EXPECT_EQ(status, 200) << path << ": " << body;
    return status == 200 ? nlohmann::json::parse(body) : nlohmann::json::object();
  }
  std::string pod_path(int i) const { return "/run/netns/" + prefix() + "p" + std::to_string(i); }

  // No IPv6 on either end of a pod's veth: no router solicitations or MLD
  // reports, so the only frames are the test's (neighbours are permanent).
  void quiet(int pod, const std::string& host_if) {
    std::string out;
    ASSERT_EQ(ns_exec(prefix() + "p" + std::to_string(pod), "sh -c 'echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6'", &out), 0) << out;
    ASSERT_EQ(ns_exec(node_->name(), "sh -c 'echo 1 > /proc/sys/net/ipv6/conf/" + host_if + "/disable_ipv6'", &out), 0) << out;
  }
};

TEST_F(FlowsTest, TcpAndUdpCountedExactlyAndDropsReported) {
  ASSERT_NO_FATAL_FAILURE(start_agent({"--http", "127.0.0.1:" + std::to_string(kHttpPort)}));
  auto a = add("c1", 1);
  ASSERT_EQ(a.exit_code, 0) << a.out << agent_log();
  auto b = add("c2", 2);
  ASSERT_EQ(b.exit_code, 0) << b.out << agent_log();
  const auto ra = record("c1"), rb = record("c2");
  const std::string ip_a = ip_of(a), ip_b = ip_of(b);
  ASSERT_NO_FATAL_FAILURE(quiet(1, ra.host_ifname));
  ASSERT_NO_FATAL_FAILURE(quiet(2, rb.host_ifname));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // anything in flight has passed

  EXPECT_EQ(get("/healthz"), (std::pair<int, std::string>{200, "ok\n"}));
  auto ready = get_json("/readyz");
  EXPECT_EQ(ready["ready"], true) << ready;
  auto eps = get_json("/v1/endpoints?pod=default/c1");
  ASSERT_EQ(eps["items"].size(), 1u) << eps;
  EXPECT_EQ(eps["items"][0]["hostIfname"], ra.host_ifname);
  EXPECT_EQ(eps["items"][0]["attached"], true);
  EXPECT_EQ(eps["items"][0]["ips"], nlohmann::json::array({ip_a}));

  const std::string m0 = get("/metrics").second;
  const std::string series_a = "{namespace=\"default\",pod=\"c1\",direction=\"";
  auto val = [&](const std::string& body, const std::string& name, const char* dir) {
    return metric(body, name + series_a + dir + "\"}").value_or(-1);
  };

  Capture cap;
  ASSERT_NO_FATAL_FAILURE(cap.start(pod_path(1)));

  // Servers in pod 2: UDP answers every datagram, TCP answers every message.
  UniqueFd udp_srv = in_netns(pod_path(2), [] { return UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)); });
  UniqueFd tcp_srv = in_netns(pod_path(2), [] { return UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); });
  const auto ua = sin_of(ip_b, kUdpPort), ta = sin_of(ip_b, kTcpPort);
  ASSERT_EQ(::bind(udp_srv.get(), reinterpret_cast<const sockaddr*>(&ua), sizeof(ua)), 0) << std::strerror(errno);
  int one = 1;
  ::setsockopt(tcp_srv.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ASSERT_EQ(::bind(tcp_srv.get(), reinterpret_cast<const sockaddr*>(&ta), sizeof(ta)), 0) << std::strerror(errno);
  ASSERT_EQ(::listen(tcp_srv.get(), 4), 0);
  timeval srv_tv{10, 0};  // a failed client must not hang the servers
  ::setsockopt(udp_srv.get(), SOL_SOCKET, SO_RCVTIMEO, &srv_tv, sizeof(srv_tv));
  ::setsockopt(tcp_srv.get(), SOL_SOCKET, SO_RCVTIMEO, &srv_tv, sizeof(srv_tv));
  std::jthread udp_server([&] {
    char buf[2048];
    for (int i = 0; i < kUdpCount; ++i) {
      sockaddr_in from{};
      socklen_t fl = sizeof(from);
      if (::recvfrom(udp_srv.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &fl) != kUdpReq) return;
      ::sendto(udp_srv.get(), buf, kUdpResp, 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  });
  std::jthread tcp_server([&] {
    UniqueFd c(::accept4(tcp_srv.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) return;
    ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &srv_tv, sizeof(srv_tv));
    ::setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::vector<char> buf(kTcpReq, 'r');
    for (int i = 0; i < kTcpMsgs; ++i) {
      if (!read_all(c.get(), buf.data(), kTcpReq) || !write_all(c.get(), buf.data(), kTcpResp)) return;
    }
    char end;
    (void)::recv(c.get(), &end, 1, 0);  // the client's FIN; then ours on close
  });

  // Clients in pod 1 (sockets made there, used from this thread).
  UniqueFd udp = in_netns(pod_path(1), [] { return UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)); });
  UniqueFd tcp = in_netns(pod_path(1), [] { return UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); });
  timeval tv{5, 0};
  ::setsockopt(udp.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(tcp.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ASSERT_EQ(::connect(udp.get(), reinterpret_cast<const sockaddr*>(&ua), sizeof(ua)), 0) << std::strerror(errno);
  std::vector<char> msg(kTcpReq, 'q');
  for (int i = 0; i < kUdpCount; ++i) {
    ASSERT_EQ(::send(udp.get(), msg.data(), kUdpReq, 0), kUdpReq);
    char buf[2048];
    ASSERT_EQ(::recv(udp.get(), buf, sizeof(buf), 0), kUdpResp) << "reply " << i;
  }
  const uint16_t udp_port = local_port(udp.get());
  ::setsockopt(tcp.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ASSERT_EQ(::connect(tcp.get(), reinterpret_cast<const sockaddr*>(&ta), sizeof(ta)), 0) << std::strerror(errno);
  const uint16_t tcp_port = local_port(tcp.get());
  for (int i = 0; i < kTcpMsgs; ++i) {
    ASSERT_TRUE(write_all(tcp.get(), msg.data(), kTcpReq));
    std::vector<char> resp(kTcpResp);
    ASSERT_TRUE(read_all(tcp.get(), resp.data(), kTcpResp)) << "response " << i;
  }
  ::shutdown(tcp.get(), SHUT_WR);
  char end;
  EXPECT_EQ(::recv(tcp.get(), &end, 1, 0), 0) << "the server's FIN";
  tcp.reset();
  udp_server.join();
  tcp_server.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the last ACK
  const auto frames = cap.stop();

  const std::string m1 = get("/metrics").second;
  auto flows_a = get_json("/v1/flows?pod=default/c1");
  auto flows_b = get_json("/v1/flows?pod=default/c2");
  auto flows_all = get_json("/v1/flows");

  // What crossed pod 1's eth0: exactly the payload sent, plus headers.
  const Counts u = count_flow(frames, IPPROTO_UDP, ip_a, udp_port, ip_b, kUdpPort);
  EXPECT_EQ(u.tx_packets, uint64_t{kUdpCount});
  EXPECT_EQ(u.tx_bytes, uint64_t{kUdpCount} * (14 + 20 + 8 + kUdpReq));
  EXPECT_EQ(u.rx_packets, uint64_t{kUdpCount});
  EXPECT_EQ(u.rx_bytes, uint64_t{kUdpCount} * (14 + 20 + 8 + kUdpResp));
  const Counts t = count_flow(frames, IPPROTO_TCP, ip_a, tcp_port, ip_b, kTcpPort);
  EXPECT_EQ(t.tx_payload, uint64_t{kTcpMsgs} * kTcpReq);
  EXPECT_EQ(t.rx_payload, uint64_t{kTcpMsgs} * kTcpResp);
  // No frame but these two flows' (so the endpoint totals below are theirs).
  uint64_t all_out = 0, all_in = 0, n_out = 0, n_in = 0;
  for (const auto& f : frames) (f.outgoing ? all_out : all_in) += f.len, ++(f.outgoing ? n_out : n_in);
  EXPECT_EQ(all_out, u.tx_bytes + t.tx_bytes);
  EXPECT_EQ(all_in, u.rx_bytes + t.rx_bytes);
  EXPECT_EQ(n_out, u.tx_packets + t.tx_packets);
  EXPECT_EQ(n_in, u.rx_packets + t.rx_packets);

  auto find_flow = [](const nlohmann::json& items, const std::string& proto, uint16_t dport) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& f : items["items"]) {
      if (f["protocol"] == proto && f["dstPort"] == dport) out.push_back(f);
    }
    return out;
  };
  // Pod 1 opened both: egress flows, tx = what it sent.
  auto fu = find_flow(flows_a, "UDP", kUdpPort);
  ASSERT_EQ(fu.size(), 1u) << flows_a.dump(1);
  EXPECT_EQ(fu[0]["direction"], "egress");
  EXPECT_EQ(fu[0]["src"], ip_a);
  EXPECT_EQ(fu[0]["srcPort"], udp_port);
  EXPECT_EQ(fu[0]["dst"], ip_b);
  EXPECT_EQ(fu[0]["state"], "established");
  EXPECT_EQ(fu[0]["active"], true);
  EXPECT_EQ(fu[0]["tx"], (nlohmann::json{{"packets", u.tx_packets}, {"bytes", u.tx_bytes}}));
  EXPECT_EQ(fu[0]["rx"], (nlohmann::json{{"packets", u.rx_packets}, {"bytes", u.rx_bytes}}));
  EXPECT_EQ(fu[0]["handshakeRttUs"], nullptr);
  auto ft = find_flow(flows_a, "TCP", kTcpPort);
  ASSERT_EQ(ft.size(), 1u) << flows_a.dump(1);
  EXPECT_EQ(ft[0]["direction"], "egress");
  EXPECT_EQ(ft[0]["srcPort"], tcp_port);
  EXPECT_EQ(ft[0]["active"], false);
  EXPECT_EQ(ft[0]["end"], "fin");
  EXPECT_EQ(ft[0]["state"], "time-wait");
  EXPECT_EQ(ft[0]["tx"], (nlohmann::json{{"packets", t.tx_packets}, {"bytes", t.tx_bytes}}));
  EXPECT_EQ(ft[0]["rx"], (nlohmann::json{{"packets", t.rx_packets}, {"bytes", t.rx_bytes}}));
  EXPECT_EQ(ft[0]["tcpFlags"]["tx"], "SYN|ACK|PSH|FIN");
  EXPECT_EQ(ft[0]["tcpFlags"]["rx"], "SYN|ACK|PSH|FIN");
  ASSERT_TRUE(ft[0]["handshakeRttUs"].is_number()) << ft[0];
  EXPECT_GT(ft[0]["handshakeRttNs"].get<uint64_t>(), 0u);
  EXPECT_GT(ft[0]["handshakeRttUs"].get<uint64_t>(), 0u);
  // Pod 2 saw the same connections opened by its peer: ingress, tx/rx mirrored.
  auto gu = find_flow(flows_b, "UDP", kUdpPort), gt = find_flow(flows_b, "TCP", kTcpPort);
  ASSERT_EQ(gu.size(), 1u) << flows_b.dump(1);
  ASSERT_EQ(gt.size(), 1u) << flows_b.dump(1);
  EXPECT_EQ(gu[0]["direction"], "ingress");
  EXPECT_EQ(gu[0]["tx"], fu[0]["rx"]);
  EXPECT_EQ(gu[0]["rx"], fu[0]["tx"]);
  EXPECT_EQ(gt[0]["direction"], "ingress");
  EXPECT_EQ(gt[0]["tx"], ft[0]["rx"]);
  EXPECT_EQ(gt[0]["rx"], ft[0]["tx"]);

  // /metrics: the endpoint counters moved by exactly the frames captured.
  EXPECT_EQ(val(m1, "strand_endpoint_bytes_total", "egress") - val(m0, "strand_endpoint_bytes_total", "egress"),
            static_cast<double>(all_out));
  EXPECT_EQ(val(m1, "strand_endpoint_bytes_total", "ingress") - val(m0, "strand_endpoint_bytes_total", "ingress"),
            static_cast<double>(all_in));
  EXPECT_EQ(val(m1, "strand_endpoint_packets_total", "egress") - val(m0, "strand_endpoint_packets_total", "egress"),
            static_cast<double>(n_out));
  EXPECT_EQ(val(m1, "strand_endpoint_packets_total", "ingress") - val(m0, "strand_endpoint_packets_total", "ingress"),
            static_cast<double>(n_in));
  // Active flows: the two UDP ends plus whatever the pods sent before IPv6
  // was turned off (MLD reports), all listed by /v1/flows; ct also holds the
  // two ended TCP ends (time-wait). Both TCP ends have a handshake time.
  size_t active = 0;
  for (const auto& f : flows_all["items"]) active += f["active"].get<bool>() ? 1 : 0;
  EXPECT_GE(active, 2u);
  EXPECT_EQ(metric(m1, "strand_flows_active"), static_cast<double>(active)) << flows_all.dump(1);
  EXPECT_EQ(metric(m1, "strand_bpf_map_entries{map=\"ct\"}"), static_cast<double>(active + 2));
  EXPECT_EQ(metric(m1, "strand_tcp_handshake_seconds_count"), 2);
  EXPECT_EQ(metric(m1, "strand_bpf_map_entries{map=\"endpoints\"}"), 2);
  EXPECT_EQ(metric(m1, "strand_events_lost_total"), 0);

  // A TCP frame with SYN and FIN, sent raw from pod 1 to pod 2: ct-invalid.
  const auto mac_gw = mac_of(ra.host_mac), mac_pod = mac_of(ra.pod_mac);
  std::vector<uint8_t> frame(14 + 20 + 20, 0);
  std::copy(mac_gw.begin(), mac_gw.end(), frame.begin());
  std::copy(mac_pod.begin(), mac_pod.end(), frame.begin() + 6);
  frame[12] = 0x08;
  uint8_t* ip = &frame[14];
  ip[0] = 0x45;
  ip[3] = 40;
  ip[8] = 64;
  ip[9] = IPPROTO_TCP;
  ::inet_pton(AF_INET, ip_a.c_str(), ip + 12);
  ::inet_pton(AF_INET, ip_b.c_str(), ip + 16);
  const uint16_t ck = ip_checksum(ip, 20);
  ip[10] = static_cast<uint8_t>(ck >> 8);
  ip[11] = static_cast<uint8_t>(ck);
  uint8_t* tcph = ip + 20;
  tcph[0] = 45000 >> 8;
  tcph[1] = 45000 & 0xff;
  tcph[2] = 7002 >> 8;
  tcph[3] = 7002 & 0xff;
  tcph[12] = 5 << 4;
  tcph[13] = STRAND_TCP_SYN | STRAND_TCP_FIN;
  tcph[14] = 0xff;
  const bool sent = in_netns(pod_path(1), [&] {
    UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = static_cast<int>(::if_nametoindex("eth0"));
    sll.sll_halen = 6;
    std::copy(mac_gw.begin(), mac_gw.end(), sll.sll_addr);
    return fd && ::sendto(fd.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) ==
                     static_cast<ssize_t>(frame.size());
  });
  ASSERT_TRUE(sent) << std::strerror(errno);
  nlohmann::json drops;
  for (int i = 0; i < 50; ++i) {  // the ringbuf record arrives asynchronously
    drops = get_json("/v1/drops?pod=default/c1");
    if (!drops["items"].empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(drops["items"].size(), 1u) << drops;
  auto d = drops["items"][0];
  EXPECT_EQ(d["reason"], "ct-invalid");
  EXPECT_EQ(d["direction"], "egress");
  EXPECT_EQ(d["family"], 4);
  EXPECT_EQ(d["protocol"], "TCP");
  EXPECT_EQ(d["src"], ip_a);
  EXPECT_EQ(d["srcPort"], 45000);
  EXPECT_EQ(d["dst"], ip_b);
  EXPECT_EQ(d["dstPort"], 7002);
  EXPECT_EQ(d["length"], 54);
  EXPECT_EQ(d["seq"], 1);
  EXPECT_EQ(drops["lost"], 0);
  EXPECT_TRUE(get_json("/v1/drops?pod=default/c2")["items"].empty());
  EXPECT_TRUE(get_json("/v1/drops?pod=default/c1&after=1")["items"].empty());
  const std::string m2 = get("/metrics").second;
  EXPECT_EQ(metric(m2, "strand_drops_total{namespace=\"default\",pod=\"c1\",direction=\"egress\",reason=\"ct-invalid\"}"), 1);
  EXPECT_FALSE(metric(m2, "strand_drops_total{namespace=\"default\",pod=\"c1\",direction=\"ingress\",reason=\"ct-invalid\"}"))
      << "the drop happened on the way out of the pod (zero series are not listed)";
  EXPECT_EQ(val(m2, "strand_endpoint_packets_total", "egress"), val(m1, "strand_endpoint_packets_total", "egress"))
      << "a dropped packet is not counted as passed";
  eps = get_json("/v1/endpoints?pod=default/c1");
  EXPECT_EQ(eps["items"][0]["stats"]["drops"], (nlohmann::json{{"ct-invalid", 1}}));

  // A refused connection: SYN out, RST+ACK back; the flow ends "rst".
  // 74 = 14 + 20 + 40 (TCP with MSS, SACK, timestamps, window scale); 54 = 14 + 20 + 20.
  UniqueFd refused = in_netns(pod_path(1), [] { return UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); });
  const auto local = sin_of(ip_a, 0), closed_port = sin_of(ip_b, 7003);
  ASSERT_EQ(::bind(refused.get(), reinterpret_cast<const sockaddr*>(&local), sizeof(local)), 0);
  const uint16_t refused_port = local_port(refused.get());
  EXPECT_NE(::connect(refused.get(), reinterpret_cast<const sockaddr*>(&closed_port), sizeof(closed_port)), 0);
  EXPECT_EQ(errno, ECONNREFUSED);
  auto fr = find_flow(get_json("/v1/flows?pod=default/c1"), "TCP", 7003);
  ASSERT_EQ(fr.size(), 1u);
  EXPECT_EQ(fr[0]["srcPort"], refused_port);
  EXPECT_EQ(fr[0]["active"], false);
  EXPECT_EQ(fr[0]["end"], "rst");
  EXPECT_EQ(fr[0]["state"], "closed");
  EXPECT_EQ(fr[0]["tx"], (nlohmann::json{{"packets", 1}, {"bytes", 74}}));
  EXPECT_EQ(fr[0]["rx"], (nlohmann::json{{"packets", 1}, {"bytes", 54}}));
  EXPECT_EQ(fr[0]["tcpFlags"]["tx"], "SYN");
  EXPECT_EQ(fr[0]["tcpFlags"]["rx"], "ACK|RST");
  EXPECT_EQ(fr[0]["handshakeRttUs"], nullptr);
  // Newest first: the refused flow was recorded last.
  auto newest = get_json("/v1/flows?pod=default/c1&limit=1");
  ASSERT_EQ(newest["items"].size(), 1u);
  EXPECT_EQ(newest["items"][0]["seq"], fr[0]["seq"]);
  EXPECT_TRUE(get_json("/v1/flows?pod=default/c1&after=" + fr[0]["seq"].dump())["items"].empty());

  // STRAND_API_SAMPLES=DIR: keep the bodies (docs/api.md's examples come from here).
  if (const char* dir = std::getenv("STRAND_API_SAMPLES")) {
    for (const char* path : {"/readyz", "/v1/endpoints", "/v1/flows", "/v1/drops", "/v1/policies", "/metrics"}) {
      std::string name = std::string(path).substr(1);
      std::replace(name.begin(), name.end(), '/', '_');
      std::ofstream(std::string(dir) + "/" + name) << get(path).second;
    }
  }

  // Bad query values: 400 with the reason.
  auto [st, body] = get("/v1/flows?limit=x");
  EXPECT_EQ(st, 400);
  EXPECT_EQ(nlohmann::json::parse(body), (nlohmann::json{{"error", "limit: want 0..100000, got \"x\""}}));
  EXPECT_EQ(get("/v1/nothing").first, 404);
  EXPECT_EQ(get_json("/v1/policies"), (nlohmann::json{{"items", nlohmann::json::array()}}));

  // SIGTERM: the HTTP server and the collector stop with the socket loop.
  ASSERT_EQ(::kill(agent_, SIGTERM), 0);
  int status = -1;
  for (int i = 0; i < 100 && ::waitpid(agent_, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(WIFEXITED(status)) << "agent still running 5 s after SIGTERM";
  agent_ = -1;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(agent_log().find("agent stopped"), std::string::npos) << agent_log();
  EXPECT_EQ(get("/healthz").first, -1) << "nothing listens any more";
}

}  // namespace
}  // namespace strand::test
