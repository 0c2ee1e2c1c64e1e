// bench_cni_addel: ADD and DEL latency of CNI plugins, measured as a runtime
// sees it (fork/exec, config on stdin, result on stdout), for several network
// configs interleaved in one run.
//
// For every round, mode (concurrency) and config -- configs rotated each round
// so none always runs first -- ADD is called for every pod (pre-created netns
// <netns-dir>/<prefix><i>), then DEL for every pod with ADD's result as
// prevResult, like libcni. Each call is timed; the report gives p50/p90 per
// mode, config and op, and the reference config's times over each other's.
// Run by tests/bench/cni_addel/run.sh, which builds the node around it.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fd.h"
#include "tests/bench/cni_addel/plugin_exec.h"
#include "tests/bench/cni_addel/report.h"
#include "tests/bench/cni_addel/stats.h"

namespace strand::bench {
namespace {

struct BenchConfig {
  std::string name;
  nlohmann::json conf;      // the network config (cniVersion, name, type, ...)
  std::string plugin_path;  // <cni_path>/<type>
};

struct Options {
  std::vector<std::string> configs;  // NAME=FILE
  std::string cni_path;
  std::string netns_dir = "/run/netns";
  std::string netns_prefix;
  size_t pods = 200;
  int rounds = 3;
  std::vector<int> concurrency{1, 16};
  std::string reference = "ptp";
  std::string ifname = "eth0";
  std::string stderr_log = "/dev/null";
  bool json = false;
  bool warmup = true;
};

struct Context {
  const Options& opt;
  std::vector<std::string> base_env;  // PATH, as the runtime's
  int stderr_fd = -1;
};

std::string netns_path(const Options& opt, size_t i) {
  return fmt::format("{}/{}{}", opt.netns_dir, opt.netns_prefix, i);
}

Result<BenchConfig> load_config(const std::string& spec, const std::string& cni_path) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) return fail("config", EINVAL, "want NAME=FILE, got '" + spec + "'");
  BenchConfig c;
  c.name = spec.substr(0, eq);
  const std::string file = spec.substr(eq + 1);
  std::ifstream in(file);
  if (!in) return fail("open", ENOENT, file);
  c.conf = nlohmann::json::parse(in, nullptr, false);
  if (c.conf.is_discarded() || !c.conf.is_object()) return fail("parse", EINVAL, file + ": not a JSON object");
  for (const char* key : {"cniVersion", "name", "type"}) {
    if (!c.conf.contains(key) || !c.conf[key].is_string()) {
      return fail("config", EINVAL, fmt::format("{}: no string \"{}\"", file, key));
    }
  }
  c.plugin_path = cni_path + "/" + c.conf["type"].get<std::string>();
  if (::access(c.plugin_path.c_str(), X_OK) != 0) return fail_errno("access", c.plugin_path);
  return c;
}

// One plugin call; an error when it fails or (ADD) returns no address.
Result<PluginOutcome> call_plugin(const Context& ctx, const BenchConfig& cfg, const std::string& command,
                                  const std::string& container_id, size_t pod, const nlohmann::json& conf) {
  PluginCall call;
  call.path = cfg.plugin_path;
  call.env = ctx.base_env;
  call.env.push_back("CNI_COMMAND=" + command);
  call.env.push_back("CNI_CONTAINERID=" + container_id);
  call.env.push_back("CNI_NETNS=" + netns_path(ctx.opt, pod));
  call.env.push_back("CNI_IFNAME=" + ctx.opt.ifname);
  call.env.push_back("CNI_PATH=" + ctx.opt.cni_path);
  call.env.push_back(fmt::format("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-{};"
                                 "K8S_POD_INFRA_CONTAINER_ID={}",
                                 pod, container_id));
  call.stdin_data = conf.dump();
  auto out = run_plugin(call, ctx.stderr_fd);
  if (!out) return out;
  const std::string what = fmt::format("{} {} of {} (config {})", cfg.conf["type"].get<std::string>(), command,
                                       container_id, cfg.name);
  if (!out->ok()) {
    return fail(command, 0,
                fmt::format("{}: exit {} signal {}: {}", what, out->exit_code, out->signal, out->stdout_data));
  }
  if (command == "ADD") {
    auto result = nlohmann::json::parse(out->stdout_data, nullptr, false);
    if (result.is_discarded() || !result.contains("ips") || !result["ips"].is_array() || result["ips"].empty()) {
      return fail(command, 0, what + ": result has no ips: " + out->stdout_data);
    }
  }
  return out;
}

// Calls fn(i) for i in [0, n) from `concurrency` threads; stops handing out work
// at the first error and returns it.
Status run_pool(size_t n, int concurrency, const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::optional<Error> first;
  auto worker = [&] {
    for (;;) {
      if (failed.load()) return;
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      if (auto st = fn(i); !st) {
        std::lock_guard lock(mu);
        if (!first) first = st.error();
        failed.store(true);
        return;
      }
    }
  };
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < std::max(1, concurrency); ++t) threads.emplace_back(worker);
  }
  if (first) return std::unexpected(*first);
  return {};
}

struct Series {
  std::vector<double> samples_ms;
  std::vector<double> batch_ms;
};
using SeriesKey = std::tuple<int, std::string, std::string>;  // concurrency, config, op

double to_ms(std::chrono::nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); }

// ADD for every pod, then DEL for every pod (prevResult = ADD's result).
Status run_batch(const Context& ctx, const BenchConfig& cfg, int concurrency, const std::string& id_prefix,
                 std::map<SeriesKey, Series>* series) {
  const size_t n = ctx.opt.pods;
  std::vector<nlohmann::json> results(n);
  std::vector<double> add_ms(n), del_ms(n);
  auto id = [&](size_t i) { return fmt::format("{}-{}", id_prefix, i); };

  auto t0 = std::chrono::steady_clock::now();
  auto st = run_pool(n, concurrency, [&](size_t i) -> Status {
    auto out = call_plugin(ctx, cfg, "ADD", id(i), i, cfg.conf);
    if (!out) return std::unexpected(out.error());
    results[i] = nlohmann::json::parse(out->stdout_data);
    add_ms[i] = to_ms(out->elapsed);
    return {};
  });
  auto t1 = std::chrono::steady_clock::now();
  if (!st) return st;
  st = run_pool(n, concurrency, [&](size_t i) -> Status {
    nlohmann::json conf = cfg.conf;
    conf["prevResult"] = results[i];
    auto out = call_plugin(ctx, cfg, "DEL", id(i), i, conf);
    if (!out) return std::unexpected(out.error());
    del_ms[i] = to_ms(out->elapsed);
    return {};
  });
  auto t2 = std::chrono::steady_clock::now();
  if (!st) return st;
  if (series) {
    auto& add = (*series)[{concurrency, cfg.name, "ADD"}];
    add.samples_ms.insert(add.samples_ms.end(), add_ms.begin(), add_ms.end());
    add.batch_ms.push_back(to_ms(t1 - t0));
    auto& del = (*series)[{concurrency, cfg.name, "DEL"}];
    del.samples_ms.insert(del.samples_ms.end(), del_ms.begin(), del_ms.end());
    del.batch_ms.push_back(to_ms(t2 - t1));
  }
  return {};
}

int run(const Options& opt, const std::string& command_line) {
  std::vector<BenchConfig> configs;
  for (const auto& spec : opt.configs) {
    auto c = load_config(spec, opt.cni_path);
    if (!c) {
      fmt::print(stderr, "bench_cni_addel: {}\n", c.error().message());
      return 2;
    }
    configs.push_back(std::move(*c));
  }
  for (size_t i = 0; i < opt.pods; ++i) {
    struct stat st;
    if (::stat(netns_path(opt, i).c_str(), &st) != 0) {
      fmt::print(stderr, "bench_cni_addel: pod netns {} missing (create them first)\n", netns_path(opt, i));
      return 2;
    }
  }
  UniqueFd log(::open(opt.stderr_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) {
    fmt::print(stderr, "bench_cni_addel: cannot open {}\n", opt.stderr_log);
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);

  Context ctx{opt, {}, log.get()};
  if (const char* path = ::getenv("PATH")) ctx.base_env.push_back(std::string("PATH=") + path);

  auto report_error = [](const Error& e) {
    fmt::print(stderr, "bench_cni_addel: {}\n", e.message());
    return 1;
  };
  if (opt.warmup) {
    for (const auto& cfg : configs) {
      Options one = opt;
      one.pods = 1;
      Context wctx{one, ctx.base_env, ctx.stderr_fd};
      if (auto st = run_batch(wctx, cfg, 1, fmt::format("bench-{}-warmup", cfg.name), nullptr); !st) {
        return report_error(st.error());
      }
    }
  }
  std::map<SeriesKey, Series> series;
  for (int r = 0; r < opt.rounds; ++r) {
    for (int c : opt.concurrency) {
      for (size_t k = 0; k < configs.size(); ++k) {
        const auto& cfg = configs[(k + static_cast<size_t>(r)) % configs.size()];
        if (!opt.json) {
          fmt::print(stderr, "round {}/{} {} {}: {} pods\n", r + 1, opt.rounds, mode_name(c), cfg.name, opt.pods);
        }
        auto prefix = fmt::format("bench-{}-r{}-c{}", cfg.name, r, c);
        if (auto st = run_batch(ctx, cfg, c, prefix, &series); !st) return report_error(st.error());
      }
    }
  }

  std::vector<Row> rows;
  for (int c : opt.concurrency) {
    for (const auto& cfg : configs) {
      for (const char* op : {"ADD", "DEL"}) {
        auto& s = series[{c, cfg.name, op}];
        Row row{c, cfg.name, op, summarize(s.samples_ms), summarize(s.batch_ms).p50_ms};
        rows.push_back(row);
      }
    }
  }
  if (opt.json) {
    auto j = to_json(rows, opt.reference);
    j["command"] = command_line;
    j["pods"] = opt.pods;
    j["rounds"] = opt.rounds;
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{} pods x {} rounds; latency per plugin call (fork/exec to reaped exit)\n", opt.pods, opt.rounds);
    fmt::print("{}", format_table(rows, opt.reference));
  }
  return 0;
}

}  // namespace
}  // namespace strand::bench

int main(int argc, char** argv) {
  strand::bench::Options opt;
  CLI::App app{"CNI ADD/DEL latency, several configs interleaved"};
  app.add_option("--config", opt.configs, "NAME=FILE: a network config (stdin of the plugin); repeat")->required();
  app.add_option("--cni-path", opt.cni_path, "directory of the plugins (CNI_PATH)")->required();
  app.add_option("--netns-dir", opt.netns_dir, "directory of the pod netns files");
  app.add_option("--netns-prefix", opt.netns_prefix, "pod i's netns is <netns-dir>/<prefix><i>")->required();
  app.add_option("--pods", opt.pods, "pods per batch")->check(CLI::PositiveNumber);
  app.add_option("--rounds", opt.rounds, "rounds (configs rotate each round)")->check(CLI::PositiveNumber);
  app.add_option("--concurrency", opt.concurrency, "modes: calls in flight, e.g. 1,16")->delimiter(',');
  app.add_option("--reference", opt.reference, "config the others are compared with");
  app.add_option("--ifname", opt.ifname, "CNI_IFNAME");
  app.add_option("--stderr-log", opt.stderr_log, "file for the plugins' stderr");
  app.add_flag("--json", opt.json, "print JSON instead of the table");
  app.add_flag("!--no-warmup", opt.warmup, "skip the untimed ADD/DEL per config");
  CLI11_PARSE(app, argc, argv);
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  return strand::bench::run(opt, command_line);
}
