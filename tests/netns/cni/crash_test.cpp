// Crash consistency: the real plugin binary driven the way a runtime drives
// it (a pool of containers, ADD when down, DEL when up, several at once),
// with SIGKILL delivered at random points of half the calls. A killed or
// failed ADD is followed by a DEL, a killed DEL is retried. No address may
// ever be given to two pods, and after the last DEL and a GC nothing of the
// plugin's may be left: no link, route, allocation, index, spare, record or
// temporary file.
//
// The run is reproducible from its seed (printed; STRAND_CRASH_SEED sets it):
// the seed decides every call, every kill and every kill's delay. What a kill
// interrupts still depends on timing (and kills are spread over the measured
// length of a call), so the counts vary a little between runs.
#include <net/if.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "cni/names.h"
#include "common/ip.h"
#include "common/netns.h"
#include "harness.h"

namespace strand::test {
namespace {

constexpr int kIds = 16;          // containers the runtime cycles through
constexpr int kCalls = 200;       // ADD/DEL calls that may be killed
constexpr int kParallel = 4;      // calls at once, on distinct containers
constexpr int kKillPercent = 50;  // of the calls, sent SIGKILL
// A kill comes at a random point of the call's work: a delay after the spawn
// drawn from [start, end]. start is the 10th percentile of how long the
// plugin takes to start and stop without work (a VERSION call), or of the
// unkilled calls of that verb so far when that is shorter: with an agent the
// shim hands ADD over after one exec, while VERSION takes two (the shim execs
// strand-plugin), so on a machine where exec is slow a whole handed-over ADD
// can end before a VERSION would. end is the 90th percentile of the unkilled
// calls of that verb so far (at least start + kMinKillSpanUs). A fixed 0-3 ms
// would land every kill before main() on a loaded machine, where exec alone
// takes longer and a call 20-90 ms.
// What the test measures of a call also holds the time its waiting thread
// takes to see the end, which on a busy machine can be most of it: then
// [start, end] lies after the process has gone. So the window follows the
// kills too: it shrinks (down to kMinKillScale of itself) after a batch where
// every kill of that verb came too late, and grows back after one where all
// of them landed.
constexpr int64_t kMinKillSpanUs = 3000;
constexpr double kMinKillScale = 0.05;
constexpr int kStartupSamples = 12;
constexpr int kMaxDelAttempts = 5;     // a DEL that keeps failing is a bug
constexpr uint64_t kDefaultSeed = 20261123;
constexpr const char* kNetwork = "crash";
constexpr const char* kV4 = "10.78.0.0/24";
constexpr const char* kV6 = "fd78::/64";
constexpr const char* kV4Text = "10.78.";
constexpr const char* kV6Text = "fd78:";

std::string prefix() { return "stcr" + std::to_string(::getpid()); }

// Namespaces of earlier runs of this suite (stcr<pid>...) whose process is gone.
void sweep_stale_netns() {
  for (const auto& name : files_in("/run/netns")) {
    if (name.rfind("stcr", 0) != 0) continue;
    size_t end = 4;
    while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
    if (end == 4) continue;
    pid_t pid = static_cast<pid_t>(std::strtol(name.substr(4, end - 4).c_str(), nullptr, 10));
    if (pid == ::getpid() || (::kill(pid, 0) != 0 && errno == ESRCH)) sweep_netns(name);
  }
}

uint64_t seed() {
  if (const char* s = std::getenv("STRAND_CRASH_SEED"); s != nullptr && *s != '\0') return std::strtoull(s, nullptr, 0);
  return kDefaultSeed;
}

// A runtime-like id: 64 hex digits, distinct per slot.
std::string container_id(int slot) {
  uint64_t x = 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(slot + 1);
  std::string id;
  for (int i = 0; i < 4; ++i) {
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(x));
    id += buf;
  }
  return id;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// One container of the pool, as the runtime sees it.
struct Slot {
  std::string id;
  std::string netns;  // path
  bool live = false;
  std::vector<std::string> ips;
};

// One call, decided up front from the seed.
struct Step {
  int number = 0;  // of the call in the run, from 1
  int slot = 0;
  bool kill = false;
  std::chrono::microseconds delay{0};  // of the kill, after the spawn
};

int64_t percentile(std::vector<int64_t> v, int p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) * static_cast<size_t>(p) / 100];
}

// How far a killed ADD got, from what it left behind (furthest first).
enum class Stage { kNothing, kRecord, kIndex, kAddress, kVeth, kReady, kCount };
const char* stage_name(Stage s) {
  switch (s) {
    case Stage::kNothing: return "nothing";
    case Stage::kRecord: return "pending-record";
    case Stage::kIndex: return "ipam-index";
    case Stage::kAddress: return "address-file";
    case Stage::kVeth: return "veth";
    case Stage::kReady: return "ready-record";
    case Stage::kCount: break;
  }
  return "?";
}

// What happened to one step, for the main thread to fold into the model.
struct Outcome {
  bool add = false;
  bool kill_sent = false;
  bool killed = false;  // SIGKILL ended it (it had not exited yet)
  bool ok = false;      // the call itself succeeded (an ADD's ips are set)
  std::vector<std::string> ips;
  Stage stage = Stage::kNothing;  // killed ADDs
  int runtime_dels = 0;           // DELs the runtime issued after it
  std::chrono::microseconds took{0};  // spawn to exit, when not killed
  std::vector<std::string> errors;
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    sweep_stale_netns();
    node_ = std::make_unique<TestNetns>(prefix() + "n");
    auto ns = Netns::open(node_->path());
    ASSERT_TRUE(ns) << ns.error().message();
    node_ns_ = std::make_unique<Netns>(std::move(*ns));
    for (int i = 0; i < kIds; ++i) {
      pods_.push_back(std::make_unique<TestNetns>(prefix() + "p" + std::to_string(i)));
      slots_.push_back(Slot{container_id(i), pods_.back()->path()});
    }
  }
  void TearDown() override {
    pods_.clear();
    node_ns_.reset();
    node_.reset();
  }

  std::string ipam_dir() const { return tmp_.path() + "/ipam/" + kNetwork; }
  std::string state_dir() const { return tmp_.path() + "/state"; }

  nlohmann::json conf() const {
    return {{"cniVersion", "1.1.0"},
            {"name", kNetwork},
            {"type", "strand"},
            {"mtu", 1400},
            {"agentRequired", false},
            {"agentSocket", tmp_.path() + "/agent.sock"},
            {"stateDir", state_dir()},
            {"logFile", tmp_.path() + "/strand.log"},
            {"logLevel", "info"},
            {"ipam",
             {{"type", "strand-ipam"},
              {"dataDir", tmp_.path() + "/ipam"},
              {"ranges", nlohmann::json::array({nlohmann::json::array({{{"subnet", kV4}}}),
                                                nlohmann::json::array({{{"subnet", kV6}}})})}}}};
  }

  // One plugin process; SIGKILL after `kill_after` from its spawn when set.
  FinishedPlugin call(const std::string& cmd, const Slot& s, std::optional<std::chrono::microseconds> kill_after = {},
                      const nlohmann::json* c = nullptr) {
    PluginCall pc;
    pc.command = cmd;
    pc.container_id = s.id;
    pc.netns = s.netns;
    pc.args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + s.id.substr(0, 12);
    const nlohmann::json the_conf = c != nullptr ? *c : conf();
    auto p = spawn_plugin(node_->name(), pc, the_conf);
    if (!p) return {};
    if (kill_after) {
      std::this_thread::sleep_until(p->started + *kill_after);
      ::kill(p->pid, SIGKILL);  // an exited child is a zombie until waited for: never another process
    }
    return wait_plugin(*p);
  }

  static std::string describe(const FinishedPlugin& f) {
    if (f.signal != 0) return "signal " + std::to_string(f.signal);
    return "exit " + std::to_string(f.output.exit_code) + ": " + f.output.out + f.output.err;
  }

  // Addresses (as files of the IPAM) that `id` holds.
  std::vector<std::string> addresses_held_by(const std::string& id) const {
    std::vector<std::string> out;
    for (const auto& f : files_in(ipam_dir())) {
      if (!IpAddr::parse(f)) continue;
      std::string content = slurp(ipam_dir() + "/" + f);
      if (content.substr(0, content.find('\r')) == id) out.push_back(f);
    }
    return out;
  }

  Stage stage_left_by(const Slot& s) const {
    std::string record = slurp(state_dir() + "/" + s.id + "_eth0.json");
    if (record.find("\"ready\"") != std::string::npos) return Stage::kReady;
    bool veth = false;
    {
      auto guard = node_ns_->enter();
      EXPECT_TRUE(guard);
      veth = guard && ::if_nametoindex(cni::host_ifname(s.id, "eth0").c_str()) != 0;
    }
    if (veth) return Stage::kVeth;
    if (!addresses_held_by(s.id).empty()) return Stage::kAddress;
    if (std::filesystem::exists(ipam_dir() + "/by-attachment/" + s.id + ":eth0")) return Stage::kIndex;
    if (!record.empty()) return Stage::kRecord;
    return Stage::kNothing;
  }

  // A DEL the runtime insists on: retried until it succeeds.
  void runtime_del(const Slot& s, Outcome& o) {
    for (int attempt = 1;; ++attempt) {
      auto f = call("DEL", s);
      ++o.runtime_dels;
      if (f.signal == 0 && f.output.exit_code == 0) return;
      o.errors.push_back("DEL of " + s.id + " (attempt " + std::to_string(attempt) + ") failed: " + describe(f));
      if (attempt == kMaxDelAttempts) return;
    }
  }

  Outcome run(const Step& st, const Slot& s) {
    Outcome o;
    o.add = !s.live;
    o.kill_sent = st.kill;
    auto f = call(o.add ? "ADD" : "DEL", s, st.kill ? std::optional(st.delay) : std::nullopt);
    o.killed = f.signal == SIGKILL;
    o.took = f.took;
    if (f.signal != 0 && !o.killed) o.errors.push_back(std::string(o.add ? "ADD" : "DEL") + " of " + s.id + ": " + describe(f));
    if (o.add) {
      if (o.killed) o.stage = stage_left_by(s);
      if (!o.killed && f.signal == 0 && f.output.exit_code == 0) {
        o.ok = true;
        if (!f.output.json.is_object() || !f.output.json["ips"].is_array()) {
          o.errors.push_back("ADD of " + s.id + " printed no result: " + f.output.out);
        } else {
          for (const auto& ip : f.output.json["ips"]) {
            auto p = IpPrefix::parse(ip.value("address", ""));
            if (p) o.ips.push_back(p->addr.str());
          }
        }
        return o;
      }
      // Only a kill may make an ADD fail here: the ranges never run out.
      if (!o.killed) o.errors.push_back("ADD of " + s.id + " failed: " + describe(f));
      runtime_del(s, o);
      return o;
    }
    if (o.killed) {
      runtime_del(s, o);
    } else if (f.output.exit_code == 0) {
      o.ok = true;
    } else {
      o.errors.push_back("DEL of " + s.id + " failed: " + describe(f));
      runtime_del(s, o);
    }
    return o;
  }

  bool has_link(const std::string& netns_path, const std::string& name) const {
    auto ns = Netns::open(netns_path);
    EXPECT_TRUE(ns) << netns_path;
    if (!ns) return false;
    auto guard = ns->enter();
    EXPECT_TRUE(guard);
    return guard && ::if_nametoindex(name.c_str()) != 0;
  }

  // A DEL returns with its veth retired and a detached child of the plugin
  // deleting it: the links of deleted containers get 3 s to go (after that,
  // what is left is a leak, and expect_consistent() reports it).
  void wait_deleted_links_gone() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    for (const auto& s : slots_) {
      if (s.live) continue;
      while (has_link(node_->path(), cni::host_ifname(s.id, "eth0")) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }

  // Between batches nothing runs but the detached deletes of retired veths
  // (waited for): a live container holds exactly its addresses, its veth
  // (both ends) and a ready record; any other holds none.
  void expect_consistent(const std::string& when) {
    wait_deleted_links_gone();
    std::map<std::string, std::set<std::string>> held;  // id -> address files
    for (const auto& f : files_in(ipam_dir())) {
      if (!IpAddr::parse(f)) continue;
      std::string content = slurp(ipam_dir() + "/" + f);
      held[content.substr(0, content.find('\r'))].insert(f);
    }
    for (const auto& s : slots_) {
      const std::set<std::string> want = s.live ? std::set<std::string>(s.ips.begin(), s.ips.end()) : std::set<std::string>{};
      EXPECT_EQ(held[s.id], want) << when << ": address files of " << (s.live ? "live " : "deleted ") << s.id;
      EXPECT_EQ(has_link(node_->path(), cni::host_ifname(s.id, "eth0")), s.live) << when << ": host veth of " << s.id;
      EXPECT_EQ(has_link(s.netns, "eth0"), s.live) << when << ": eth0 in the netns of " << s.id;
      std::string record = slurp(state_dir() + "/" + s.id + "_eth0.json");
      EXPECT_EQ(record.find("\"ready\"") != std::string::npos, s.live) << when << ": record of " << s.id << ": " << record;
      if (!s.live) {
        EXPECT_EQ(record, "") << when << ": record of deleted " << s.id;
      }
    }
  }

  // Everything under the IPAM data dir but the lock, the round-robin hints and
  // (empty) directories: each is a leftover.
  std::vector<std::string> ipam_leftovers() const {
    std::vector<std::string> out;
    std::error_code ec;
    const std::string root = tmp_.path() + "/ipam";
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory()) continue;
      std::string rel = std::filesystem::relative(it->path(), root).string();
      std::string name = it->path().filename().string();
      bool top = it->path().parent_path() == ipam_dir();
      if (top && (name == "lock" || name.rfind("last_reserved_ip.", 0) == 0)) continue;
      std::string content = slurp(it->path().string());
      std::replace(content.begin(), content.end(), '\n', ' ');
      out.push_back(rel + " [" + content.substr(0, 80) + "]");
    }
    return out;
  }

  std::vector<std::string> state_leftovers() const { return state_files_in(state_dir()); }

  void run_crash();

  TempDir tmp_;
  std::unique_ptr<TestNetns> node_;
  std::unique_ptr<Netns> node_ns_;
  std::vector<std::unique_ptr<TestNetns>> pods_;
  std::vector<Slot> slots_;
};

// The body of both tests: the run, the teardown a runtime does, the checks.
void CrashTest::run_crash() {
  const uint64_t run_seed = seed();
  std::cout << "[ crash    ] seed " << run_seed << " (set STRAND_CRASH_SEED to repeat)" << std::endl;
  std::mt19937_64 rng(run_seed);
  const auto t0 = std::chrono::steady_clock::now();

  int calls = 0, adds = 0, dels = 0, kills_sent = 0, kills_delivered = 0, add_ok = 0, del_ok = 0;
  int killed_adds = 0, killed_dels = 0, runtime_dels = 0, duplicates = 0;
  std::array<int, static_cast<size_t>(Stage::kCount)> stages{};
  std::vector<int64_t> add_us, del_us;  // calls not killed
  std::vector<int64_t> delays_us;       // of the kills sent

  // How long the plugin takes to start and exit, run as the calls are (kParallel at once).
  std::vector<int64_t> startup;
  while (startup.size() < kStartupSamples) {
    std::vector<std::thread> threads;
    std::mutex mu;
    for (int i = 0; i < kParallel; ++i) {
      threads.emplace_back([&, i] {
        auto f = call("VERSION", slots_[i]);
        EXPECT_TRUE(f.signal == 0 && f.output.exit_code == 0) << "VERSION: " << describe(f);
        std::lock_guard l(mu);
        startup.push_back(f.took.count());
      });
    }
    for (auto& t : threads) t.join();
  }
  const int64_t start_us = percentile(startup, 10);
  std::array<double, 2> kill_scale{1.0, 1.0};  // of the kill window, for ADD and DEL
  std::vector<int> order(kIds);
  std::iota(order.begin(), order.end(), 0);

  while (calls < kCalls) {
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<Step> batch;
    for (int i = 0; i < kParallel && calls < kCalls; ++i, ++calls) {
      Step st;
      st.number = calls + 1;
      st.slot = order[i];
      st.kill = std::uniform_int_distribution<int>(0, 99)(rng) < kKillPercent;
      const double at = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      const std::vector<int64_t>& took = slots_[st.slot].live ? del_us : add_us;
      const int64_t start = took.empty() ? start_us : std::min(start_us, percentile(took, 10));
      const int64_t end = std::max(start + kMinKillSpanUs, percentile(took, 90));
      const double scale = kill_scale[slots_[st.slot].live ? 1 : 0];
      st.delay = std::chrono::microseconds(
          static_cast<int64_t>(scale * (static_cast<double>(start) + at * static_cast<double>(end - start))));
      delays_us.push_back(st.kill ? st.delay.count() : -1);
      batch.push_back(st);
    }
    std::vector<Outcome> outs(batch.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < batch.size(); ++i) {
      threads.emplace_back([&, i] { outs[i] = run(batch[i], slots_[batch[i].slot]); });
    }
    for (auto& t : threads) t.join();

    std::array<int, 2> sent{}, landed{};
    for (const Outcome& o : outs) {
      sent[o.add ? 0 : 1] += o.kill_sent;
      landed[o.add ? 0 : 1] += o.killed;
    }
    for (size_t v = 0; v < 2; ++v) {
      if (sent[v] > 0 && landed[v] == 0) kill_scale[v] = std::max(kMinKillScale, kill_scale[v] * 0.6);
      if (sent[v] > 0 && landed[v] == sent[v]) kill_scale[v] = std::min(1.0, kill_scale[v] * 1.25);
    }

    for (size_t i = 0; i < batch.size(); ++i) {
      const Outcome& o = outs[i];
      Slot& s = slots_[batch[i].slot];
      for (const auto& e : o.errors) ADD_FAILURE() << "call " << batch[i].number << ": " << e;
      (o.add ? adds : dels) += 1;
      kills_sent += o.kill_sent;
      kills_delivered += o.killed;
      (o.add ? killed_adds : killed_dels) += o.killed;
      runtime_dels += o.runtime_dels;
      if (o.add && o.killed) ++stages[static_cast<size_t>(o.stage)];
      if (!o.killed && o.errors.empty()) (o.add ? add_us : del_us).push_back(o.took.count());
      if (!o.add) {
        if (o.ok) ++del_ok;
        s.live = false;
        s.ips.clear();
        continue;
      }
      if (!o.ok) continue;
      ++add_ok;
      EXPECT_EQ(o.ips.size(), 2u) << "dual stack ADD of " << s.id;
      for (const auto& ip : o.ips) {
        for (const auto& other : slots_) {
          if (&other == &s || !other.live) continue;
          if (std::find(other.ips.begin(), other.ips.end(), ip) != other.ips.end()) {
            ++duplicates;
            ADD_FAILURE() << "call " << batch[i].number << ": address " << ip << " given to " << s.id << " while live "
                          << other.id << " holds it";
          }
        }
      }
      s.live = true;
      s.ips = o.ips;
    }
    expect_consistent("after call " + std::to_string(calls));
    if (HasFailure()) break;  // the state is wrong from here on: tear down and report
  }

  // The runtime tears everything down, then collects garbage.
  int live_at_end = 0;
  for (auto& s : slots_) {
    if (!s.live) continue;
    ++live_at_end;
    auto f = call("DEL", s);
    EXPECT_TRUE(f.signal == 0 && f.output.exit_code == 0) << "final DEL of " << s.id << ": " << describe(f);
    s.live = false;
  }
  // Every container had a successful DEL after its last call: DEL alone must
  // have removed its links and records. The IPAM may still hold what only GC
  // can tell is nobody's (reported).
  wait_deleted_links_gone();
  const auto before_gc_ipam = ipam_leftovers();
  const auto before_gc_state = state_leftovers();
  const auto before_gc_links = links_in(node_->name());
  EXPECT_TRUE(before_gc_state.empty()) << "left by DEL: " << ::testing::PrintToString(before_gc_state);
  EXPECT_TRUE(before_gc_links.empty()) << "left by DEL: " << ::testing::PrintToString(before_gc_links);

  auto gc = conf();
  gc["cni.dev/valid-attachments"] = nlohmann::json::array();
  auto g = call("GC", Slot{"", ""}, std::nullopt, &gc);
  EXPECT_TRUE(g.signal == 0 && g.output.exit_code == 0) << "GC: " << describe(g);

  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "[ crash    ] seed " << run_seed << ": " << calls << " calls (" << adds << " ADD, " << dels
            << " DEL), kills sent " << kills_sent << ", delivered mid-call " << kills_delivered << " (" << killed_adds
            << " ADD, " << killed_dels << " DEL), ADD ok " << add_ok << ", DEL ok " << del_ok << ", runtime DELs after a kill "
            << runtime_dels << ", live at end " << live_at_end << ", duplicates " << duplicates << ", " << secs << " s"
            << std::endl;
  std::cout << "[ crash    ] unkilled ADD took p10/p50/p90 " << percentile(add_us, 10) << "/" << percentile(add_us, 50) << "/"
            << percentile(add_us, 90) << " us, DEL " << percentile(del_us, 10) << "/" << percentile(del_us, 50) << "/" << percentile(del_us, 90)
            << " us" << std::endl;
  std::erase(delays_us, -1);
  std::cout << "[ crash    ] kill window scale at the end: ADD " << kill_scale[0] << ", DEL " << kill_scale[1] << std::endl;
  std::cout << "[ crash    ] plugin start/exit p10 " << start_us << " us; kill delays p10/p50/p90 " << percentile(delays_us, 10)
            << "/" << percentile(delays_us, 50) << "/" << percentile(delays_us, 90) << " us" << std::endl;
  std::cout << "[ crash    ] killed ADDs left:";
  for (size_t i = 0; i < stages.size(); ++i) std::cout << " " << stage_name(static_cast<Stage>(i)) << "=" << stages[i];
  std::cout << std::endl;
  // spare/ holds released files for reuse by design; the rest would be leaks without GC.
  std::vector<std::string> before_gc_other;
  for (const auto& f : before_gc_ipam) {
    if (f.find("/spare/") == std::string::npos) before_gc_other.push_back(f);
  }
  std::cout << "[ crash    ] left for GC after the last DEL: " << before_gc_ipam.size() - before_gc_other.size()
            << " IPAM spares, other IPAM files " << ::testing::PrintToString(before_gc_other) << ", state files "
            << ::testing::PrintToString(before_gc_state) << ", links " << ::testing::PrintToString(before_gc_links)
            << std::endl;

  EXPECT_GT(kills_delivered, 0) << "no kill landed while the plugin ran: the test exercised nothing";
  EXPECT_GT(killed_adds - stages[static_cast<size_t>(Stage::kNothing)], 0)
      << "every killed ADD died before it changed anything";
  EXPECT_EQ(duplicates, 0);

  // Nothing is left.
  EXPECT_TRUE(links_in(node_->name()).empty()) << ::testing::PrintToString(links_in(node_->name()));
  EXPECT_TRUE(ipam_leftovers().empty()) << ::testing::PrintToString(ipam_leftovers());
  EXPECT_TRUE(state_leftovers().empty()) << ::testing::PrintToString(state_leftovers());
  std::string routes;
  ns_exec(node_->name(), "ip route show table all; ip -6 route show table all", &routes);
  EXPECT_EQ(routes.find(kV4Text), std::string::npos) << routes;
  EXPECT_EQ(routes.find(kV6Text), std::string::npos) << routes;
  for (const auto& p : pods_) {
    EXPECT_TRUE(links_in(p->name()).empty()) << p->name() << ": " << ::testing::PrintToString(links_in(p->name()));
  }
}

TEST_F(CrashTest, KilledAddsAndDelsLeakNothingAndNeverShareAnAddress) { run_crash(); }

// The same with strand-agent on the node: the verbs go to the agent, and a
// kill ends only the small plugin process, while the agent finishes the verb.
// The runtime's DEL after a killed ADD must then wait for that ADD
// (agent/cni_handoff.h) or it finds nothing and the ADD's pod leaks.
class CrashTestWithAgent : public CrashTest {
 protected:
  void SetUp() override {
    CrashTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    pin_root_ = "/sys/fs/bpf/strand/" + node_name();
    std::filesystem::remove_all(pin_root_);
    agent_ = spawn_agent({});
    ASSERT_GT(agent_, 0);
    ASSERT_TRUE(wait_agent_ready(agent_, tmp_.path() + "/agent.sock", tmp_.path() + "/agent.log"));
  }
  void TearDown() override {
    if (agent_ > 0) {
      ::kill(agent_, SIGTERM);
      int status = 0;
      ::waitpid(agent_, &status, 0);
    }
    if (node_) {
      pid_t c = spawn_agent({"--cleanup"});
      int status = 0;
      if (c > 0) ::waitpid(c, &status, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(pin_root_, ec);
    std::filesystem::remove("/sys/fs/bpf/strand", ec);  // only when empty
    CrashTest::TearDown();
  }

  std::string node_name() const { return prefix() + "node"; }

  // strand-agent in the node netns.
  pid_t spawn_agent(std::vector<std::string> extra) {
    std::vector<std::string> args = {bin_dir() + "/strand-agent", "--node", node_name(), "--bpffs", "/sys/fs/bpf",
                                     "--state-dir", state_dir(), "--socket", tmp_.path() + "/agent.sock",
                                     "--log-file", tmp_.path() + "/agent.log"};
    args.insert(args.end(), extra.begin(), extra.end());
    return spawn_in_netns(node_->path(), std::move(args));
  }

  pid_t agent_ = -1;
  std::string pin_root_;
};

TEST_F(CrashTestWithAgent, KilledPluginsLeakNothingAndNeverShareAnAddress) {
  run_crash();
  // The agent ran the verbs (its log shows them), so the kills hit its clients.
  EXPECT_NE(slurp(tmp_.path() + "/strand.log").find("verb run by strand-agent"), std::string::npos);
}

}  // namespace
}  // namespace strand::test
