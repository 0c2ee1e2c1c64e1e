#include "lab/lab.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "common/fs.h"
#include "common/netns.h"
#include "lab/echo_server.h"
#include "lab/manifest.h"
#include "lab/named_netns.h"
#include "lab/nl_extra.h"
#include "lab/objects.h"
#include "lab/ops.h"
#include "lab/probe.h"
#include "lab/process.h"
#include "lab/render.h"
#include "lab/state.h"
#include "lab/sync.h"
#include "lab/traffic.h"
#include "netlink/ops.h"

namespace strand::lab {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kRunRoot = "/run/strand-lab";
constexpr const char* kBpffs = "/sys/fs/bpf";
constexpr uint32_t kVni = 42;
constexpr unsigned kMtu = 1500;
constexpr unsigned kVxlanOverhead = 50;
constexpr unsigned kPodWorkers = 8;

// ---- names and paths -------------------------------------------------------

// Lab names become parts of netns, pin and file names: [a-z0-9-]. '_' separates
// the lab name from the rest of a netns name, so one lab's prefix never matches another's.
bool valid_lab_name(const std::string& n) {
  static const std::regex kName("[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?");
  return std::regex_match(n, kName);
}

std::string root_dir(const std::string& lab) { return std::string(kRunRoot) + "/" + lab; }
std::string state_file(const std::string& lab) { return root_dir(lab) + "/state.json"; }
std::string tmp_dir(const std::string& lab) { return root_dir(lab) + "/tmp"; }
std::string node_dir(const std::string& lab, const std::string& node) { return root_dir(lab) + "/nodes/" + node; }
std::string conflist_file(const std::string& lab, const std::string& node) {
  return node_dir(lab, node) + "/10-strand-lab.conflist";
}
std::string results_dir(const std::string& lab) { return root_dir(lab) + "/results"; }
std::string logs_dir(const std::string& lab) { return root_dir(lab) + "/logs"; }
std::string netns_prefix(const std::string& lab) { return lab + "_"; }
std::string switch_netns(const std::string& lab) { return lab + "_switch"; }
std::string node_netns(const std::string& lab, int i) { return lab + "_node" + std::to_string(i); }
std::string pod_netns(const std::string& lab, const std::string& ns, const std::string& pod) {
  return lab + "_p_" + ns + "_" + pod;
}
std::string node_name(const std::string& lab, int i) { return lab + "-node" + std::to_string(i); }
std::string pin_root(const std::string& node) { return std::string(kBpffs) + "/strand/" + node; }

NodeDirs node_dirs(const std::string& lab, const std::string& node) {
  std::string d = node_dir(lab, node);
  return {d + "/agent.sock", d + "/endpoints", d + "/ipam", d + "/cni.log"};
}

IpAddr node_ip4(int i) { return IpAddr::v4(10, 100, 0, static_cast<uint8_t>(i)); }
IpAddr node_ip6(int i) { return *IpAddr::parse(fmt::format("fd00:100::{:x}", i)); }
IpAddr vxlan_ip4(int i) { return IpAddr::v4(10, 245, 0, static_cast<uint8_t>(i)); }
IpAddr vxlan_ip6(int i) { return *IpAddr::parse(fmt::format("fd00:245::{:x}", i)); }
std::string pod_cidr4(int i) { return fmt::format("10.244.{}.0/24", i); }
std::string pod_cidr6(int i) { return fmt::format("fd00:10:244:{:x}::/64", i); }
netlink::Mac vxlan_mac(int i) { return {0x02, 0x53, 0x4c, 0x00, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}; }

void err(const std::string& msg) { std::cerr << "strand-lab: " << msg << "\n"; }
int fail_with(const Error& e, const std::string& what) {
  err(what + ": " + e.message());
  return 2;
}

// ---- state and lock --------------------------------------------------------

}  // namespace

std::string manifests_dir(const std::string& lab) { return root_dir(lab) + "/manifests"; }

Result<LabLock> LabLock::take(const std::string& lab) {
  if (auto st = make_dirs(kRunRoot); !st) return std::unexpected(st.error());
  std::string path = std::string(kRunRoot) + "/" + lab + ".lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return fail_errno("open", path);
  if (::flock(fd.get(), LOCK_EX) != 0) return fail_errno("flock", path);
  return LabLock(std::move(fd));
}

Result<LabState> load_state(const std::string& lab) {
  auto text = read_file(state_file(lab));
  if (!text) {
    if (text.error().err == ENOENT) return fail("load lab", ENOENT, "no lab named '" + lab + "' (strand-lab up --name " + lab + ")");
    return std::unexpected(text.error());
  }
  try {
    return state_from_json(json::parse(*text));
  } catch (const json::exception& e) {
    return fail("parse lab state", EINVAL, e.what());
  }
}

Status save_state(const LabState& s) { return write_file_atomic(state_file(s.name), to_json(s).dump(2) + "\n"); }

namespace {
bool g_require_generation = true;  // every lab agent runs with --source-dir, so it reports generations
std::set<std::string> g_warned_not_enforcing;
}  // namespace

void require_generation(bool on) { g_require_generation = on; }

Status sync_lab(const LabState& s) {
  std::vector<std::string> not_enforcing;
  auto st = sync_agents(s, manifests_dir(s.name), kAgentHttp, g_require_generation, &not_enforcing);
  for (const auto& n : not_enforcing) {
    if (g_warned_not_enforcing.insert(n).second) {
      err(n + ": its agent reports no generation (it does not enforce NetworkPolicy): not waiting for its datapath");
    }
  }
  return st;
}

namespace {

// Manifests are written beside the watched directory and renamed into it, so
// the agents' inotify source only ever sees whole files with their final name.
Status write_manifest(const std::string& lab, const std::string& file, const json& obj) {
  std::string tmp = tmp_dir(lab) + "/" + file + "." + std::to_string(::getpid()) + "." +
                    std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return fail_errno("open", tmp);
    f << obj.dump(2) << "\n";
    if (!f.flush()) return fail_errno("write", tmp);
  }
  std::string dst = manifests_dir(lab) + "/" + file;
  if (::rename(tmp.c_str(), dst.c_str()) != 0) return fail_errno("rename", dst);
  return {};
}

Status remove_manifest(const std::string& lab, const std::string& file) {
  std::string p = manifests_dir(lab) + "/" + file;
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) return fail_errno("unlink", p);
  return {};
}

std::string random_uid() {
  std::random_device rd;
  std::mt19937_64 rng(rd());
  uint64_t a = rng(), b = rng();
  return fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff, b >> 52,
                     b & 0xffffffffffffULL);
}

// ---- CNI, as a runtime invokes it -------------------------------------------

struct CniCall {
  std::string command, container_id, netns_path, pod_ns, pod_name, pod_uid;
};

Result<json> cni_invoke(const LabState& s, const NodeState& node, const CniCall& c, const json& prev_for_del) {
  auto text = read_file(conflist_file(s.name, node.name));
  if (!text) return std::unexpected(text.error());
  json list;
  try {
    list = json::parse(*text);
  } catch (const json::exception& e) {
    return fail("parse conflist", EINVAL, e.what());
  }
  auto ns = Netns::open(netns_path(node.netns));
  if (!ns) return std::unexpected(ns.error());
  const std::string bin = self_dir();
  const std::string cni_path = bin + ":/usr/lib/cni:/opt/cni/bin";
  Env env = {{"CNI_COMMAND", c.command},
             {"CNI_CONTAINERID", c.container_id},
             {"CNI_NETNS", c.netns_path},
             {"CNI_IFNAME", "eth0"},
             {"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + c.pod_ns + ";K8S_POD_NAME=" + c.pod_name +
                              ";K8S_POD_INFRA_CONTAINER_ID=" + c.container_id + ";K8S_POD_UID=" + c.pod_uid},
             {"CNI_PATH", cni_path}};
  const size_t n = list.at("plugins").size();
  json prev = c.command == "DEL" ? prev_for_del : json();
  for (size_t k = 0; k < n; ++k) {
    size_t i = c.command == "DEL" ? n - 1 - k : k;
    json conf = plugin_conf(list, i, prev);
    std::string type = conf.value("type", "");
    std::string path;
    for (const auto& dir : {bin, std::string("/usr/lib/cni"), std::string("/opt/cni/bin")}) {
      if (::access((dir + "/" + type).c_str(), X_OK) == 0) {
        path = dir + "/" + type;
        break;
      }
    }
    if (path.empty()) return fail("find plugin", ENOENT, type + " in " + cni_path);
    auto out = run({path}, env, conf.dump(), &*ns, 60000);
    if (!out) return std::unexpected(out.error());
    if (out->exit_code != 0) {
      std::string msg = out->out.empty() ? out->err : out->out;
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      return fail("CNI " + c.command, EIO, type + " exited " + std::to_string(out->exit_code) + ": " + msg);
    }
    if (c.command == "ADD") {
      try {
        prev = json::parse(out->out);
      } catch (const json::exception& e) {
        return fail("CNI ADD", EBADMSG, type + " printed no JSON result: " + e.what());
      }
    }
  }
  return prev;
}

std::string result_file(const std::string& lab, const std::string& cid) { return results_dir(lab) + "/" + cid + ".json"; }

Status cni_del(const LabState& s, const PodState& p) {
  const NodeState* n = s.node(p.node);
  if (!n) return fail("CNI DEL", ENOENT, "node " + p.node);
  json prev;
  if (auto t = read_file(result_file(s.name, p.container_id)); t) {
    try {
      prev = json::parse(*t);
    } catch (...) {
    }
  }
  // A failed DEL is retried, as kubelet retries it (DEL is idempotent).
  Result<json> r;
  for (int attempt = 0; attempt < 3; ++attempt) {
    r = cni_invoke(s, *n, {"DEL", p.container_id, netns_path(p.netns), p.ns, p.name, p.uid}, prev);
    if (r) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!r) return std::unexpected(r.error());
  ::unlink(result_file(s.name, p.container_id).c_str());
  return {};
}

// ---- topology -----------------------------------------------------------------

struct NodeNet {
  Netns ns;
  netlink::Socket sock;
  int uplink = 0;
};

Status route_via(netlink::Socket& s, const std::string& dst, const IpAddr& gw, int oif) {
  netlink::Route r;
  r.dst = *IpPrefix::parse(dst);
  r.gateway = gw;
  r.oif = oif;
  r.protocol = RTPROT_STATIC;
  return netlink::route_add(s, r, true);
}

Status addr(netlink::Socket& s, int ifindex, const IpAddr& a, uint8_t len) {
  netlink::Address x;
  x.ifindex = ifindex;
  x.prefix = IpPrefix{a, len};
  if (a.is_v6()) x.flags = IFA_F_NODAD;
  return netlink::addr_add(s, x, true);
}

Status in_netns(const Netns& ns, const std::function<Status()>& f) {
  Status r;
  std::thread t([&] {
    auto g = ns.enter();
    if (!g) {
      r = std::unexpected(g.error());
      return;
    }
    r = f();
  });
  t.join();
  return r;
}

Status node_sysctls(const Netns& ns, bool ipv6) {
  return in_netns(ns, [&]() -> Status {
    if (auto st = sysctl_set("net.ipv4.ip_forward", "1"); !st) return st;
    // No DAD on the node's links: a forwarded packet's neighbour solicitation
    // needs the uplink's link-local, which DAD keeps tentative for 1-2 s after
    // up (the first cross-node IPv6 connection then waited that long). "all"
    // alone does not override an existing link's own setting.
    for (const char* key : {"net.ipv6.conf.all.accept_dad", "net.ipv6.conf.default.accept_dad",
                            "net.ipv6.conf.eth0.accept_dad"}) {
      if (auto st = sysctl_set(key, "0"); !st) return st;
    }
    if (ipv6) {
      if (auto st = sysctl_set("net.ipv6.conf.all.forwarding", "1"); !st) return st;
    }
    return {};
  });
}

Status build_topology(LabState& s, std::vector<NodeNet>& nets) {
  if (auto st = create_named_netns(switch_netns(s.name)); !st) return st;
  auto sw = Netns::open(netns_path(switch_netns(s.name)));
  if (!sw) return std::unexpected(sw.error());
  auto sws = netlink::Socket::open_in(*sw);
  if (!sws) return std::unexpected(sws.error());
  if (auto st = bridge_add(*sws, "br0"); !st) return st;
  auto br = netlink::link_get(*sws, "br0");
  if (!br) return std::unexpected(br.error());
  if (auto st = netlink::link_set_up(*sws, br->index); !st) return st;
  for (int i = 1; i <= static_cast<int>(s.nodes.size()); ++i) {
    NodeState& n = s.nodes[i - 1];
    if (auto st = create_named_netns(n.netns); !st) return st;
    auto ns = Netns::open(netns_path(n.netns));
    if (!ns) return std::unexpected(ns.error());
    netlink::VethSpec v;
    v.name = "n" + std::to_string(i);
    v.peer_name = "eth0";
    v.peer_netns_fd = ns->fd();
    if (auto st = netlink::veth_add(*sws, v); !st) return st;
    auto port = netlink::link_get(*sws, v.name);
    if (!port) return std::unexpected(port.error());
    if (auto st = set_master(*sws, port->index, br->index); !st) return st;
    if (auto st = netlink::link_set_up(*sws, port->index); !st) return st;
    auto sock = netlink::Socket::open_in(*ns);
    if (!sock) return std::unexpected(sock.error());
    auto up = netlink::link_get(*sock, "eth0");
    if (!up) return std::unexpected(up.error());
    if (auto st = node_sysctls(*ns, s.ipv6); !st) return st;
    if (auto st = addr(*sock, up->index, node_ip4(i), 24); !st) return st;
    if (s.ipv6) {
      if (auto st = addr(*sock, up->index, node_ip6(i), 64); !st) return st;
    }
    if (auto st = netlink::link_set_up(*sock, up->index); !st) return st;
    nets.push_back(NodeNet{std::move(*ns), std::move(*sock), up->index});
  }
  const int count = static_cast<int>(s.nodes.size());
  for (int i = 1; i <= count; ++i) {
    NodeNet& nn = nets[i - 1];
    if (s.routing == "native") {
      for (int j = 1; j <= count; ++j) {
        if (j == i) continue;
        if (auto st = route_via(nn.sock, pod_cidr4(j), node_ip4(j), nn.uplink); !st) return st;
        if (s.ipv6) {
          if (auto st = route_via(nn.sock, pod_cidr6(j), node_ip6(j), nn.uplink); !st) return st;
        }
      }
      continue;
    }
    VxlanSpec vx{"vxlan0", kVni, node_ip4(i), nn.uplink, 4789, kMtu - kVxlanOverhead, vxlan_mac(i)};
    if (auto st = vxlan_add(nn.sock, vx); !st) return st;
    auto link = netlink::link_get(nn.sock, "vxlan0");
    if (!link) return std::unexpected(link.error());
    if (auto st = addr(nn.sock, link->index, vxlan_ip4(i), 24); !st) return st;
    if (s.ipv6) {
      if (auto st = addr(nn.sock, link->index, vxlan_ip6(i), 64); !st) return st;
    }
    if (auto st = netlink::link_set_up(nn.sock, link->index); !st) return st;
    for (int j = 1; j <= count; ++j) {
      if (j == i) continue;
      if (auto st = fdb_add(nn.sock, link->index, vxlan_mac(j), node_ip4(j)); !st) return st;
      std::vector<std::pair<IpAddr, std::string>> peers = {{vxlan_ip4(j), pod_cidr4(j)}};
      if (s.ipv6) peers.push_back({vxlan_ip6(j), pod_cidr6(j)});
      for (const auto& [gw, cidr] : peers) {
        netlink::Neighbor nb;
        nb.ifindex = link->index;
        nb.dst = gw;
        nb.lladdr = vxlan_mac(j);
        if (auto st = netlink::neigh_add(nn.sock, nb, true); !st) return st;
        if (auto st = route_via(nn.sock, cidr, gw, link->index); !st) return st;
      }
    }
  }
  return {};
}

bool socket_answers(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof(a.sun_path)) return false;
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
}

std::string tail(const std::string& file, size_t bytes = 1500) {
  auto t = read_file(file);
  if (!t) return "";
  return t->size() > bytes ? t->substr(t->size() - bytes) : *t;
}

Status start_agent(const LabState& s, NodeState& n, const Netns& ns) {
  const NodeDirs d = node_dirs(s.name, n.name);
  const std::string dir = node_dir(s.name, n.name);
  std::vector<std::string> argv = {self_dir() + "/strand-agent", "--node", n.name, "--bpffs", kBpffs,
                                   "--state-dir", d.state, "--socket", d.socket, "--log-file", dir + "/agent.log",
                                   "--http", kAgentHttp, "--source-dir", manifests_dir(s.name), "--uplink", "eth0"};
  auto pid = spawn_daemon(argv, &ns, dir + "/agent.out");
  if (!pid) return std::unexpected(pid.error());
  n.agent_pid = *pid;
  return {};
}

Status wait_agents(const LabState& s) {
  auto deadline = Clock::now() + std::chrono::seconds(20);
  for (const auto& n : s.nodes) {
    const std::string sock = node_dirs(s.name, n.name).socket;
    while (!socket_answers(sock)) {
      int status = 0;
      if (::waitpid(n.agent_pid, &status, WNOHANG) == n.agent_pid || Clock::now() > deadline) {
        const std::string dir = node_dir(s.name, n.name);
        return fail("start agent", ETIMEDOUT, n.name + " did not serve " + sock + "; its log ends:\n" +
                                                  tail(dir + "/agent.log") + tail(dir + "/agent.out"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return {};
}

// ---- teardown (also of a crashed run: works from names alone) ------------------

void kill_in(const std::string& netns_name) { terminate(processes_in_netns(netns_path(netns_name))); }

// Pin roots of this lab's agents: <bpffs>/strand/<lab>-node<i>.
std::vector<std::string> lab_pin_nodes(const std::string& lab) {
  std::vector<std::string> out;
  std::error_code ec;
  const std::regex re(lab + "-node[0-9]+");
  for (const auto& e : fs::directory_iterator(std::string(kBpffs) + "/strand", ec)) {
    std::string n = e.path().filename();
    if (std::regex_match(n, re)) out.push_back(n);
  }
  return out;
}

int teardown(const std::string& lab, bool quiet) {
  int rc = 0;
  auto st = load_state(lab);
  // Servers and anything exec'd in the pods first; then DEL through the CNI
  // while the agents still answer.
  for (const auto& ns : list_named_netns(netns_prefix(lab) + "p_")) kill_in(ns);
  if (st) {
    std::vector<const PodState*> pods;
    for (const auto& [_, p] : st->pods) pods.push_back(&p);
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < kPodWorkers; ++w) {
      workers.emplace_back([&] {
        for (size_t i = next++; i < pods.size(); i = next++) {
          if (auto d = cni_del(*st, *pods[i]); !d) {
            std::lock_guard lk(mu);
            err("DEL " + pods[i]->key() + ": " + d.error().message());
            rc = 1;
          }
        }
      });
    }
    for (auto& t : workers) t.join();
  }
  for (const auto& ns : list_named_netns(netns_prefix(lab))) kill_in(ns);
  for (const auto& node : lab_pin_nodes(lab)) {
    std::string idx = node.substr(node.rfind("-node") + 5);
    auto ns = Netns::open(netns_path(node_netns(lab, std::stoi(idx))));
    std::vector<std::string> argv = {self_dir() + "/strand-agent", "--cleanup", "--node", node, "--bpffs", kBpffs,
                                     "--state-dir", node_dirs(lab, node).state, "--log-file",
                                     node_dir(lab, node) + "/cleanup.log"};
    if (!fs::exists(node_dir(lab, node))) argv.resize(argv.size() - 2);
    auto out = run(argv, {}, "", ns ? &*ns : nullptr, 30000);
    if (!out || out->exit_code != 0) {
      err("strand-agent --cleanup for " + node + " failed" + (out ? ": " + out->err : ": " + out.error().message()));
      rc = 1;
    }
    std::error_code ec;
    if (fs::exists(pin_root(node), ec)) {
      fs::remove_all(pin_root(node), ec);
      if (ec) {
        err("pins of " + node + " not removed: " + ec.message());
        rc = 1;
      }
    }
  }
  std::error_code ec;
  fs::remove(std::string(kBpffs) + "/strand", ec);  // only when no other node's pins are left
  for (const auto& ns : list_named_netns(netns_prefix(lab))) {
    if (auto r = remove_named_netns(ns); !r) {
      err(r.error().message());
      rc = 1;
    }
  }
  fs::remove_all(root_dir(lab), ec);
  if (ec) {
    err("state not removed: " + ec.message());
    rc = 1;
  }
  if (!quiet && st) std::cerr << "strand-lab: lab " << lab << " removed (" << st->pods.size() << " pods, " << st->nodes.size() << " nodes)\n";
  return rc;
}

// ---- pods ----------------------------------------------------------------------

bool kernel_has_sctp() {
  int fd = ::socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

Status start_server(const LabState& s, PodState& p) {
  std::vector<std::string> argv = {self_dir() + "/strand-lab", "serve"};
  for (const auto& cp : p.ports) {
    if (cp.protocol == "SCTP") {
      err(fmt::format("pod {}: SCTP port {} kept in the model; its server is skipped ({})", p.key(), cp.port,
                      kernel_has_sctp() ? "the lab has no SCTP echo server" : "this kernel has no SCTP"));
      continue;
    }
    argv.push_back("--port");
    argv.push_back(std::to_string(cp.port) + "/" + cp.protocol);
  }
  if (argv.size() == 2) return {};
  auto ns = Netns::open(netns_path(p.netns));
  if (!ns) return std::unexpected(ns.error());
  UniqueFd ready;
  auto pid = spawn_daemon(argv, &*ns, logs_dir(s.name) + "/" + p.ns + "_" + p.name + ".log", &ready);
  if (!pid) return std::unexpected(pid.error());
  p.server_pid = *pid;
  auto line = read_line(ready.get(), 10000);
  if (!line || *line != "ready") {
    return fail("start echo servers", line ? EIO : line.error().err,
                p.key() + ": " + tail(logs_dir(s.name) + "/" + p.ns + "_" + p.name + ".log", 400));
  }
  return {};
}

// Creates the pod whose manifest (without IPs) the agents already have: netns,
// CNI ADD on its node, servers, the manifest again with status.podIPs. Rolls
// back on failure, the manifest included (the caller syncs the agents).
Status create_pod(const LabState& s, PodState& p, const json& applied) {
  const NodeState* node = s.node(p.node);
  if (!node) return fail("create pod", ENOENT, "node " + p.node);
  // A leftover of an interrupted apply of the same pod.
  (void)remove_named_netns(p.netns);
  if (auto st = create_named_netns(p.netns); !st) return st;
  bool added = false;
  auto rollback = [&](Error e) -> Status {
    kill_in(p.netns);
    if (added) (void)cni_del(s, p);
    (void)remove_named_netns(p.netns);
    (void)remove_manifest(s.name, manifest_file("Pod", p.ns, p.name));
    return std::unexpected(with_context(std::move(e), "pod " + p.key()));
  };
  auto result = cni_invoke(s, *node, {"ADD", p.container_id, netns_path(p.netns), p.ns, p.name, p.uid}, json());
  if (!result) return rollback(result.error());
  added = true;
  if (auto st = write_file_atomic(result_file(s.name, p.container_id), result->dump()); !st) return rollback(st.error());
  auto ips = result_ips(*result);
  if (!ips) return rollback(ips.error());
  p.ips = *ips;
  if (auto st = start_server(s, p); !st) return rollback(st.error());
  if (auto st = write_manifest(s.name, manifest_file("Pod", p.ns, p.name), pod_object(applied, p, *node)); !st) {
    return rollback(st.error());
  }
  return {};
}

Status delete_pod(LabState& s, const std::string& key) {
  auto it = s.pods.find(key);
  if (it == s.pods.end()) return fail("delete pod", ENOENT, key);
  const PodState& p = it->second;
  kill_in(p.netns);
  if (auto st = cni_del(s, p); !st) return st;
  if (auto st = remove_named_netns(p.netns); !st) return st;
  if (auto st = remove_manifest(s.name, manifest_file("Pod", p.ns, p.name)); !st) return st;
  ::unlink((logs_dir(s.name) + "/" + p.ns + "_" + p.name + ".log").c_str());
  s.pods.erase(it);
  return {};
}

Result<std::vector<Object>> read_objects(const std::vector<std::string>& inputs) {
  std::vector<Object> all;
  for (const auto& in : inputs) {
    std::vector<std::string> files;
    if (in == "-") {
      std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      auto objs = parse_manifests(text, "stdin");
      if (!objs) return objs;
      all.insert(all.end(), objs->begin(), objs->end());
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      for (const auto& e : fs::directory_iterator(in, ec)) {
        auto ext = e.path().extension().string();
        if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(in);
    }
    for (const auto& f : files) {
      auto text = read_file(f);
      if (!text) return std::unexpected(text.error());
      auto objs = parse_manifests(*text, f);
      if (!objs) return objs;
      all.insert(all.end(), objs->begin(), objs->end());
    }
  }
  return all;
}

Result<std::string> pick_node(LabState& s, const json& pod) {
  std::string want;
  if (pod.contains("spec") && pod["spec"].is_object() && pod["spec"].contains("nodeName") && pod["spec"]["nodeName"].is_string()) {
    want = pod["spec"]["nodeName"].get<std::string>();
  }
  if (!want.empty()) {
    if (s.node(want)) return want;
    if (s.node(s.name + "-" + want)) return s.name + "-" + want;
    return fail("schedule pod", ENOENT, "no node named " + want);
  }
  std::string n = s.nodes[s.next_node % s.nodes.size()].name;
  s.next_node = (s.next_node + 1) % s.nodes.size();
  return n;
}

Status ensure_namespace(LabState& s, const std::string& ns) {
  if (s.namespaces.contains(ns)) return {};
  s.namespaces[ns] = {};
  return write_manifest(s.name, manifest_file("Namespace", "", ns), namespace_object(ns, {}));
}

}  // namespace

// ---- commands ------------------------------------------------------------------

int cmd_up(const UpOptions& o) {
  if (!valid_lab_name(o.name)) return err("invalid --name (lowercase letters, digits and '-', at most 32)"), 2;
  if (o.nodes < 1 || o.nodes > 200) return err("--nodes must be 1..200"), 2;
  if (::geteuid() != 0) return err("needs root (network namespaces, bpffs)"), 2;
  auto t0 = Clock::now();
  auto lock = LabLock::take(o.name);
  if (!lock) return fail_with(lock.error(), "lock");
  // Leftovers of an earlier run of the same name.
  if (fs::exists(root_dir(o.name)) || !list_named_netns(netns_prefix(o.name)).empty() || !lab_pin_nodes(o.name).empty()) {
    err("removing leftovers of an earlier lab " + o.name);
    (void)teardown(o.name, true);
  }
  LabState s;
  s.name = o.name;
  s.routing = o.routing;
  s.ipv6 = o.ipv6;
  s.cni = o.cni;
  for (int i = 1; i <= o.nodes; ++i) {
    NodeState n;
    n.name = node_name(o.name, i);
    n.index = i;
    n.netns = node_netns(o.name, i);
    n.ips = {node_ip4(i).str()};
    n.pod_cidrs = {pod_cidr4(i)};
    if (o.ipv6) {
      n.ips.push_back(node_ip6(i).str());
      n.pod_cidrs.push_back(pod_cidr6(i));
    }
    s.nodes.push_back(n);
  }
  for (const auto& d : {root_dir(o.name), manifests_dir(o.name), tmp_dir(o.name), results_dir(o.name), logs_dir(o.name)}) {
    if (auto st = make_dirs(d); !st) return fail_with(st.error(), "up");
  }
  auto failed = [&](const Error& e) {
    err("up failed: " + e.message());
    (void)teardown(o.name, true);
    return 1;
  };
  if (auto st = save_state(s); !st) return failed(st.error());
  std::vector<NodeNet> nets;
  if (auto st = build_topology(s, nets); !st) return failed(st.error());
  const unsigned mtu = o.routing == "vxlan" ? kMtu - kVxlanOverhead : kMtu;
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    NodeState& n = s.nodes[i];
    if (auto st = make_dirs(node_dir(o.name, n.name)); !st) return failed(st.error());
    if (auto st = write_file_atomic(conflist_file(o.name, n.name), node_conflist(s, n, node_dirs(o.name, n.name), mtu).dump(2) + "\n"); !st) {
      return failed(st.error());
    }
    if (auto st = write_manifest(o.name, manifest_file("Node", "", n.name), node_object(n)); !st) return failed(st.error());
  }
  if (auto st = ensure_namespace(s, "default"); !st) return failed(st.error());
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    if (auto st = start_agent(s, s.nodes[i], nets[i].ns); !st) return failed(st.error());
  }
  if (auto st = save_state(s); !st) return failed(st.error());
  if (auto st = wait_agents(s); !st) return failed(st.error());
  if (auto st = sync_lab(s); !st) return failed(st.error());  // the Nodes and the default Namespace are in
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::cerr << fmt::format("strand-lab: lab {} up: {} nodes, {} routing, {}, cni {} ({:.2f} s)\n", o.name, o.nodes,
                           o.routing, o.ipv6 ? "IPv4+IPv6" : "IPv4", o.cni, secs);
  std::cout << nodes_table(s);
  return 0;
}

int cmd_down(const std::string& name) {
  if (!valid_lab_name(name)) return err("invalid --name"), 2;
  if (::geteuid() != 0) return err("needs root"), 2;
  auto lock = LabLock::take(name);
  if (!lock) return fail_with(lock.error(), "lock");
  int rc = teardown(name, false);
  ::unlink((std::string(kRunRoot) + "/" + name + ".lock").c_str());
  return rc;
}

Result<json> pod_manifest(const LabState& s, const std::string& key) {
  auto it = s.pods.find(key);
  if (it == s.pods.end()) return fail("pod manifest", ENOENT, key);
  const std::string path = manifests_dir(s.name) + "/" + manifest_file("Pod", it->second.ns, it->second.name);
  auto t = read_file(path);
  if (!t) return std::unexpected(t.error());
  json j = json::parse(*t, nullptr, false);
  if (j.is_discarded()) return fail("parse", EINVAL, path);
  return j;
}

Status apply_objects(LabState& s, const std::vector<Object>& objs, std::ostream& out) {
  const std::string& name = s.name;
  std::vector<std::string> failed;
  auto failed_with = [&](const std::string& what, const Error& e) {
    err(what + ": " + e.message());
    failed.push_back(what);
  };
  // Namespaces, then policies, then pods: a new pod starts under the policies applied with it.
  for (const auto& o : objs) {
    if (o.kind != "Namespace") continue;
    auto labels = labels_of(o.body);
    bool existed = s.namespaces.contains(o.name);
    s.namespaces[o.name] = *labels;
    if (auto st = write_manifest(name, manifest_file("Namespace", "", o.name), namespace_object(o.name, *labels)); !st) {
      failed_with("namespace " + o.name, st.error());
      continue;
    }
    out << "namespace/" << o.name << (existed ? " configured\n" : " created\n");
  }
  for (const auto& o : objs) {
    if (o.kind != "NetworkPolicy") continue;
    if (auto st = ensure_namespace(s, o.ns); !st) {
      failed_with("namespace " + o.ns, st.error());
      continue;
    }
    bool existed = s.policies.contains(o.key());
    json body = o.body;
    body["apiVersion"] = body.value("apiVersion", "networking.k8s.io/v1");
    if (auto st = write_manifest(name, manifest_file("NetworkPolicy", o.ns, o.name), body); !st) {
      failed_with("networkpolicy " + o.key(), st.error());
      continue;
    }
    s.policies[o.key()] = manifest_file("NetworkPolicy", o.ns, o.name);
    out << "networkpolicy/" << o.key() << (existed ? " configured\n" : " created\n");
  }
  struct NewPod {
    PodState p;
    json body;
  };
  std::vector<NewPod> fresh;
  for (const auto& o : objs) {
    if (o.kind != "Pod") continue;
    if (auto st = ensure_namespace(s, o.ns); !st) {
      failed_with("namespace " + o.ns, st.error());
      continue;
    }
    auto labels = *labels_of(o.body);
    auto it = s.pods.find(o.key());
    if (it != s.pods.end()) {  // labels only; never re-created
      it->second.labels = labels;
      const NodeState* n = s.node(it->second.node);
      auto cur = pod_manifest(s, o.key());
      json body = cur ? *cur : o.body;
      if (auto st = write_manifest(name, manifest_file("Pod", o.ns, o.name), pod_object(body, it->second, *n)); !st) {
        failed_with("pod " + o.key(), st.error());
        continue;
      }
      out << "pod/" << o.key() << " configured\n";
      continue;
    }
    PodState p;
    p.ns = o.ns;
    p.name = o.name;
    p.uid = o.body["metadata"].value("uid", random_uid());
    auto node = pick_node(s, o.body);
    if (!node) {
      failed_with("pod " + o.key(), node.error());
      continue;
    }
    p.node = *node;
    p.netns = pod_netns(name, o.ns, o.name);
    p.container_id = name + "-" + o.ns + "-" + o.name;
    p.labels = labels;
    p.ports = *pod_ports(o.body);
    // The API server has the pod (scheduled, no IPs) before kubelet runs its ADD.
    if (auto st = write_manifest(name, manifest_file("Pod", p.ns, p.name), pod_object(o.body, p, *s.node(p.node))); !st) {
      failed_with("pod " + o.key(), st.error());
      continue;
    }
    fresh.push_back({std::move(p), o.body});
  }
  if (auto st = sync_lab(s); !st) return std::unexpected(st.error());
  if (!fresh.empty()) {
    std::atomic<size_t> next{0};
    std::vector<int> ok(fresh.size(), 0);
    std::mutex mu;
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < std::min<size_t>(kPodWorkers, fresh.size()); ++w) {
      workers.emplace_back([&] {
        for (size_t i = next++; i < fresh.size(); i = next++) {
          auto st = create_pod(s, fresh[i].p, fresh[i].body);
          if (!st) (void)remove_manifest(name, manifest_file("Pod", fresh[i].p.ns, fresh[i].p.name));
          std::lock_guard lk(mu);
          if (st) {
            ok[i] = 1;
          } else {
            failed_with("pod " + fresh[i].p.key(), st.error());
          }
        }
      });
    }
    for (auto& t : workers) t.join();
    for (size_t i = 0; i < fresh.size(); ++i) {
      if (!ok[i]) continue;
      out << "pod/" << fresh[i].p.key() << " created on " << fresh[i].p.node << " (";
      for (size_t k = 0; k < fresh[i].p.ips.size(); ++k) out << (k ? ", " : "") << fresh[i].p.ips[k];
      out << ")\n";
      s.pods[fresh[i].p.key()] = std::move(fresh[i].p);
    }
    // The pods' IPs (and the manifests of pods rolled back) reach the datapath.
    if (auto st = sync_lab(s); !st) return std::unexpected(st.error());
  }
  if (!failed.empty()) {
    std::string what;
    for (const auto& f : failed) what += (what.empty() ? "" : ", ") + f;
    return fail("apply", EIO, "failed: " + what);
  }
  return {};
}

Status delete_object(LabState& s, const std::string& kind, const std::string& key, std::ostream& out, bool sync) {
  const std::string& name = s.name;
  if (kind == "pod" || kind == "pods") {
    if (auto st = delete_pod(s, key); !st) return st;
    out << "pod/" << key << " deleted\n";
  } else if (kind == "networkpolicy" || kind == "networkpolicies" || kind == "netpol") {
    auto it = s.policies.find(key);
    if (it == s.policies.end()) return fail("delete", ENOENT, "no networkpolicy " + key);
    if (auto st = remove_manifest(name, it->second); !st) return st;
    s.policies.erase(it);
    out << "networkpolicy/" << key << " deleted\n";
  } else if (kind == "namespace" || kind == "namespaces" || kind == "ns") {
    if (!s.namespaces.contains(key)) return fail("delete", ENOENT, "no namespace " + key);
    std::vector<std::string> pods;
    for (const auto& [k, p] : s.pods) {
      if (p.ns == key) pods.push_back(k);
    }
    for (const auto& k : pods) {
      if (auto st = delete_pod(s, k); !st) return st;
    }
    for (auto it = s.policies.begin(); it != s.policies.end();) {
      if (it->first.starts_with(key + "/")) {
        (void)remove_manifest(name, it->second);
        it = s.policies.erase(it);
      } else {
        ++it;
      }
    }
    (void)remove_manifest(name, manifest_file("Namespace", "", key));
    s.namespaces.erase(key);
    out << "namespace/" << key << " deleted\n";
  } else {
    return fail("delete", EINVAL, "kind must be pod, namespace or networkpolicy");
  }
  return sync ? sync_lab(s) : Status{};
}

int cmd_apply(const std::string& name, const std::vector<std::string>& files) {
  auto objs = read_objects(files);
  if (!objs) return fail_with(objs.error(), "apply");
  auto lock = LabLock::take(name);
  if (!lock) return fail_with(lock.error(), "lock");
  auto s = load_state(name);
  if (!s) return fail_with(s.error(), "apply");
  auto st = apply_objects(*s, *objs, std::cout);
  if (!st) err(st.error().message());
  if (auto sv = save_state(*s); !sv) return fail_with(sv.error(), "save state");
  return st ? 0 : 1;
}

int cmd_delete(const std::string& name, const std::string& kind, const std::string& key) {
  if (kind != "pod" && kind != "pods" && kind != "networkpolicy" && kind != "networkpolicies" && kind != "netpol" &&
      kind != "namespace" && kind != "namespaces" && kind != "ns") {
    err("delete: kind must be pod, namespace or networkpolicy");
    return 2;
  }
  auto lock = LabLock::take(name);
  if (!lock) return fail_with(lock.error(), "lock");
  auto s = load_state(name);
  if (!s) return fail_with(s.error(), "delete");
  auto st = delete_object(*s, kind, key, std::cout);
  if (!st) err(st.error().message());
  if (auto sv = save_state(*s); !sv) return fail_with(sv.error(), "save state");
  return st ? 0 : 1;
}

int cmd_get(const std::string& name, const std::string& what, bool as_json) {
  auto s = load_state(name);
  if (!s) return fail_with(s.error(), "get");
  if (what == "pods" || what == "pod") {
    std::cout << (as_json ? pods_json(*s).dump(2) + "\n" : pods_table(*s));
  } else if (what == "nodes" || what == "node") {
    std::cout << (as_json ? nodes_json(*s).dump(2) + "\n" : nodes_table(*s));
  } else {
    err("get: pods or nodes");
    return 2;
  }
  return 0;
}

int cmd_exec(const std::string& name, const std::string& pod, const std::vector<std::string>& argv) {
  auto s = load_state(name);
  if (!s) return fail_with(s.error(), "exec");
  auto it = s->pods.find(pod);
  if (it == s->pods.end()) return err("no pod " + pod), 2;
  if (argv.empty()) return err("exec: no command"), 2;
  auto ns = Netns::open(netns_path(it->second.netns));
  if (!ns) return fail_with(ns.error(), "exec");
  auto g = ns->enter();  // single-threaded here: the exec'd program stays in the pod's netns
  if (!g) return fail_with(g.error(), "exec");
  std::vector<std::string> args = argv;
  std::vector<char*> c;
  for (auto& a : args) c.push_back(a.data());
  c.push_back(nullptr);
  ::execvp(c[0], c.data());
  err("exec " + argv[0] + ": " + std::strerror(errno));
  return 127;
}

namespace {

Result<IpAddr> pod_ip(const PodState& p, int family = 0) {
  for (const auto& ip : p.ips) {
    auto a = IpAddr::parse(ip);
    if (a && (family == 0 || a->family == family)) return *a;
  }
  return fail("pod address", ENOENT, p.key() + " has no address of that family");
}

Result<int> parse_port(const std::string& port, const std::string& protocol, const PodState* dst) {
  auto r = resolve_port(dst ? dst->ports : std::vector<ContainerPort>{}, port, protocol);
  if (!r) return std::unexpected(r.error());
  return r->port;
}

// The probe from pod `from` to a pod or an IP address `to` on `port` (a
// number or a containerPort name of the destination pod).
Result<ProbeTarget> probe_target(const LabState& s, const std::string& from, const std::string& to,
                                 const std::string& port, const std::string& protocol) {
  auto src = s.pods.find(from);
  if (src == s.pods.end()) return fail("no pod", 0, from);
  ProbeTarget t;
  t.from_ns_path = netns_path(src->second.netns);
  t.from = from;
  t.to = to;
  t.protocol = protocol;
  const PodState* dst = nullptr;
  if (auto it = s.pods.find(to); it != s.pods.end()) {
    dst = &it->second;
    auto ip = pod_ip(*dst);
    if (!ip) return std::unexpected(ip.error());
    t.ip = *ip;
  } else if (auto ip = IpAddr::parse(to); ip) {
    t.ip = *ip;
  } else {
    return fail("--to:", 0, "no pod " + to + " and not an IP address");
  }
  auto p = parse_port(port, protocol, dst);
  if (!p) return std::unexpected(p.error());
  t.port = *p;
  return t;
}

}  // namespace

int cmd_probe(const ProbeOptions& o) {
  if (o.protocol != "TCP" && o.protocol != "UDP") return err("--protocol must be TCP or UDP"), 2;
  auto s = load_state(o.name);
  if (!s) return fail_with(s.error(), "probe");
  auto t = probe_target(*s, o.from, o.to, o.port, o.protocol);
  if (!t) return fail_with(t.error(), "probe");
  ProbeResult r = lab::probe(*t, o.timeout_ms);
  std::cout << (o.json ? probe_json(r).dump() : probe_line(r)) << "\n";
  return r.reachable ? 0 : 1;
}

namespace {

std::atomic<bool> g_traffic_stop{false};

void stop_traffic(int) { g_traffic_stop = true; }

}  // namespace

int cmd_traffic(const TrafficOptions& o) {
  if (o.protocols.empty() && !o.connection) return err("traffic: at least one --protocol or --connection"), 2;
  if (o.interval_ms < 1 || o.timeout_ms < 1 || o.duration_ms < 1) return err("traffic: times must be positive"), 2;
  auto s = load_state(o.name);
  if (!s) return fail_with(s.error(), "traffic");
  TrafficPlan plan;
  plan.interval_ms = o.interval_ms;
  plan.timeout_ms = o.timeout_ms;
  plan.duration_ms = o.duration_ms;
  for (const auto& proto : o.protocols) {
    if (proto != "TCP" && proto != "UDP") return err("--protocol must be TCP or UDP"), 2;
    auto t = probe_target(*s, o.from, o.to, o.port, proto);
    if (!t) return fail_with(t.error(), "traffic");
    plan.loops.push_back(*t);
  }
  if (o.connection) {
    auto t = probe_target(*s, o.from, o.to, o.port, "TCP");
    if (!t) return fail_with(t.error(), "traffic");
    plan.connection = *t;
  }
  // SIGINT or SIGTERM ends the run (bash starts background jobs with SIGINT
  // ignored; a handler set here takes it back).
  struct sigaction sa{};
  sa.sa_handler = stop_traffic;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  const TrafficReport r = run_traffic(plan, g_traffic_stop);
  std::cout << (o.json ? traffic_json(r).dump() + "\n" : traffic_text(r));
  return r.clean() ? 0 : 1;
}

int cmd_matrix(const MatrixOptions& o) {
  for (const auto& p : o.protocols) {
    if (p != "TCP" && p != "UDP") return err("--protocol must be TCP or UDP"), 2;
  }
  if (o.ports.empty() || o.protocols.empty()) return err("matrix: at least one --port and --protocol"), 2;
  auto s = load_state(o.name);
  if (!s) return fail_with(s.error(), "matrix");
  std::vector<int> families;
  if (o.family == "4" || o.family == "all") families.push_back(4);
  if (o.family == "6" || (o.family == "all" && s->ipv6)) families.push_back(6);
  if (families.empty()) return err("--family must be 4, 6 or all"), 2;
  if (!o.from.empty() && !s->pods.contains(o.from)) return err("no pod " + o.from), 2;
  std::vector<Matrix> ms;
  std::vector<int> fams;
  std::vector<ProbeTarget> targets;
  std::vector<size_t> owner;  // targets[i] belongs to ms[owner[i]]
  for (int fam : families) {
    for (const auto& proto : o.protocols) {
      for (const auto& portarg : o.ports) {
        Matrix m;
        m.protocol = proto;
        for (const auto& [k, _] : s->pods) m.pods.push_back(k);
        if (!o.from.empty()) m.rows = {o.from};
        auto port = parse_port(portarg, proto, nullptr);
        m.port = port ? *port : 0;
        for (const auto& [fk, f] : s->pods) {
          if (!o.from.empty() && fk != o.from) continue;
          for (const auto& [tk, t] : s->pods) {
            ProbeTarget x;
            x.from_ns_path = netns_path(f.netns);
            x.from = fk;
            x.to = tk;
            x.protocol = proto;
            auto p = port ? port : parse_port(portarg, proto, &t);  // a named port resolves per destination pod
            auto ip = pod_ip(t, fam == 4 ? AF_INET : AF_INET6);
            if (!p || !ip) {
              m.reachable[fk][tk] = false;
              continue;
            }
            if (m.port == 0) m.port = *p;
            x.port = *p;
            x.ip = *ip;
            targets.push_back(x);
            owner.push_back(ms.size());
          }
        }
        ms.push_back(std::move(m));
        fams.push_back(fam);
      }
    }
  }
  auto results = probe_all(targets, o.timeout_ms, o.parallel);
  for (size_t i = 0; i < results.size(); ++i) ms[owner[i]].reachable[results[i].from][results[i].to] = results[i].reachable;
  if (ms.size() == 1 && fams[0] == 4) {
    std::cout << (o.json ? matrix_json(ms[0]).dump(2) + "\n" : matrix_grid(ms[0]));
    return 0;
  }
  if (o.json) {
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (size_t i = 0; i < ms.size(); ++i) {
      nlohmann::ordered_json one = {{"family", fams[i]}};
      const nlohmann::ordered_json m = matrix_json(ms[i]);
      for (auto it = m.begin(); it != m.end(); ++it) one[it.key()] = it.value();
      all.push_back(std::move(one));
    }
    std::cout << nlohmann::ordered_json{{"matrices", all}}.dump(2) << "\n";
    return 0;
  }
  for (size_t i = 0; i < ms.size(); ++i) {
    std::cout << fmt::format("v{} {}/{}\n", fams[i], ms[i].protocol, ms[i].port) << matrix_compact(ms[i]) << "\n";
  }
  return 0;
}

int cmd_ctl(const std::string& name, const std::string& what, const std::string& pod, const std::vector<std::string>& extra) {
  auto s = load_state(name);
  if (!s) return fail_with(s.error(), what);
  std::vector<const NodeState*> nodes;
  if (!pod.empty()) {
    auto it = s->pods.find(pod);
    if (it == s->pods.end()) return err("no pod " + pod), 2;
    nodes.push_back(s->node(it->second.node));
  } else {
    for (const auto& n : s->nodes) nodes.push_back(&n);
  }
  const std::string ctl = self_dir() + "/strandctl";
  if (::access(ctl.c_str(), X_OK) != 0) return err(ctl + " is missing (build the strandctl target)"), 2;
  int rc = 0;
  for (const NodeState* n : nodes) {
    auto ns = Netns::open(netns_path(n->netns));
    if (!ns) return fail_with(ns.error(), what);
    std::vector<std::string> argv = {ctl, what, "--agent", kAgentHttp};
    if (!pod.empty()) {
      argv.push_back("--pod");
      argv.push_back(pod);
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto out = run(argv, {}, "", &*ns, 30000);
    if (!out) return fail_with(out.error(), what);
    if (nodes.size() > 1) std::cout << "== " << n->name << "\n";
    std::cout << out->out << std::flush;
    std::cerr << out->err;
    if (out->exit_code != 0) rc = out->exit_code < 0 ? 1 : out->exit_code;
  }
  return rc;
}

int cmd_serve(const std::vector<std::string>& ports) {
  std::vector<ContainerPort> cps;
  for (const auto& p : ports) {
    auto slash = p.find('/');
    ContainerPort cp;
    cp.port = std::stoi(p.substr(0, slash));
    cp.protocol = slash == std::string::npos ? "TCP" : p.substr(slash + 1);
    cps.push_back(cp);
  }
  int ready = ::fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  auto st = run_echo_servers(cps, ready);
  if (!st) {
    std::cerr << "serve: " << st.error().message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace strand::lab
