#include "agent/cni_handoff.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <thread>

#include "cni/ipam/host_conf.h"
#include "cni/run.h"
#include "common/clock.h"
#include "common/log.h"

namespace strand::agent {
namespace {

// The file (or namespace) `path` names: its device and inode.
strand::Result<cni::NsId> file_id(const std::string& path) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) return fail_errno("stat", path);
  return cni::NsId{static_cast<uint64_t>(sb.st_dev), static_cast<uint64_t>(sb.st_ino)};
}

// This thread's network namespace and this process's mount namespace.
strand::Result<cni::NsIdentity> current_ns_identity() {
  auto net = file_id("/proc/thread-self/ns/net");
  if (!net) return std::unexpected(net.error());
  auto mnt = file_id("/proc/self/ns/mnt");
  if (!mnt) return std::unexpected(mnt.error());
  return cni::NsIdentity{*net, *mnt};
}

// The whole line, waiting for room at most until the deadline.
void send_line(int fd, const std::string& line) {
  const int64_t deadline = mono_ms() + CniHandoff::kReplyTimeoutMs;
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) break;  // the plugin is gone: nothing to tell
    int64_t left = deadline - mono_ms();
    if (left <= 0) break;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(left));
  }
}

void answer(UniqueFd& fd, const nlohmann::json& reply) {
  send_line(fd.get(), reply.dump() + "\n");
  fd.reset();
}

}  // namespace

CniHandoff::CniHandoff(const std::string& socket_path, LocalAgent::Handle handle, Runner runner)
    : handle_(std::move(handle)), runner_(std::move(runner)) {
  if (auto id = file_id(socket_path)) socket_id_ = *id;
}

CniHandoff::~CniHandoff() {
  drain();
  {
    std::lock_guard lock(mu_);
    ending_ = true;
  }
  queued_.notify_all();
  for (auto& t : workers_) t.join();
}

void CniHandoff::drain() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return in_flight_ == 0; });
}

bool CniHandoff::same_socket(const std::string& path) const {
  auto id = file_id(path);
  return socket_id_ && id && *id == *socket_id_;
}

std::optional<CniHandoff::Decline> CniHandoff::decline_reason(const cni::HandoffRequest& req, const cni::Env& env,
                                                               const cni::NetConf& conf, const Context& ctx) {
  const std::string ipam_type = conf.ipam.is_object() ? conf.ipam.value("type", "") : "";
  if (!cni::handoff_eligible(cni::command_name(env.command), ipam_type, false)) {
    return Decline{"plugin-runs-it", "the verb or its IPAM runs in the plugin"};
  }
  if (req.ns.net != ctx.mine.net) return Decline{"other-netns", "the plugin is in another network namespace"};
  if (req.ns.mnt != ctx.mine.mnt && !ctx.other_file.empty()) {
    return Decline{"other-files", "the plugin is in another mount namespace and sees another " + ctx.other_file};
  }
  if (!ctx.same_socket) {
    return Decline{"other-socket", "agentSocket " + conf.agent_socket + " is not this agent's socket"};
  }
  if (ctx.in_flight >= kMaxInFlight) {
    return Decline{"busy", "busy: " + std::to_string(ctx.in_flight) + " verbs running"};
  }
  return std::nullopt;
}

void CniHandoff::count(const std::string& result) {
  if (counts_ != nullptr) counts_->add(result);
}

void CniHandoff::log_decline(const Decline& d) {
  bool first = false;
  {
    std::lock_guard lock(mu_);
    first = warned_.insert(d.kind).second;
  }
  // Declines are normal for some configs (delegated IPAM, VERSION) and tell
  // of a misplaced agent for others: say each kind once where it is seen.
  if (first) {
    log::warn("cni verb declined, the plugin runs it (first of its kind)", {{"kind", d.kind}, {"why", d.why}});
  } else {
    log::debug("cni verb declined", {{"kind", d.kind}, {"why", d.why}});
  }
}

std::vector<std::string> CniHandoff::verb_paths(const cni::Env& env, const cni::NetConf& conf) {
  std::vector<std::string> out;
  if (!env.netns.empty()) out.push_back(env.netns);
  out.push_back(conf.state_dir);
  if (auto ipam = cni::ipam::parse_host_ipam_conf(conf.raw)) {
    out.push_back(ipam->data_dir);
    if (!ipam->resolv_conf.empty()) out.push_back(ipam->resolv_conf);
  }
  if (!conf.log_file.empty()) out.push_back(std::filesystem::path(conf.log_file).parent_path().string());
  return out;
}

bool CniHandoff::same_file(const std::string& plugin_root, const std::string& path) {
  if (path.empty() || path.front() != '/') return false;
  std::filesystem::path p = std::filesystem::path(path).lexically_normal();
  for (;;) {
    const auto here = file_id(p.string());
    const auto there = file_id(plugin_root + p.string());
    if (here && there) return *here == *there;
    if (here || there || p == p.root_path()) return false;
    p = p.parent_path();
  }
}

bool CniHandoff::take(const std::string& line, UniqueFd& fd) {
  // Most lines are other ops, which Endpoints parses: only a line that can be
  // a "cni" request is parsed here (one spelled with escapes is answered by
  // Endpoints as an unknown op, which the plugin takes as a decline).
  if (line.find("\"cni\"") == std::string::npos) return false;
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object() || j.value("op", "") != "cni") return false;
  auto decline_as = [&](const Decline& d) {
    count("declined-" + d.kind);
    log_decline(d);
    answer(fd, cni::encode_handoff_decline(d.why));
    return true;
  };
  auto decline = [&](const std::string& why) { return decline_as(Decline{"bad-request", why}); };
  auto req = cni::decode_handoff_request(j);
  if (!req) return decline(req.error().message());
  auto env = cni::parse_env(req->env);
  if (!env) return decline("environment: " + env.error().msg);
  auto conf = cni::parse_netconf(req->conf);
  if (!conf) return decline("config: " + conf.error().msg);
  auto mine = current_ns_identity();
  if (!mine) return decline(mine.error().message());
  ucred peer{};
  socklen_t peer_len = sizeof(peer);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0) peer.pid = 0;
  Context ctx{*mine, same_socket(conf->agent_socket), 0, ""};
  if (req->ns.mnt != mine->mnt) {
    // 0: the plugin is in a PID namespace where this agent cannot see it.
    const std::string root = peer.pid > 0 ? "/proc/" + std::to_string(peer.pid) + "/root" : "";
    for (const auto& p : verb_paths(*env, *conf)) {
      if (root.empty() || !same_file(root, p)) {
        ctx.other_file = p;
        break;
      }
    }
  }
  const Key key = key_of(*env);
  std::unique_lock lock(mu_);
  // A verb for an attachment that has one queued or running here waits its
  // turn here, busy or not: were it declined, the plugin could run a DEL side
  // by side with the ADD of a runtime that already gave up on it.
  ctx.in_flight = !key.first.empty() && pending_keys_.contains(key) ? 0 : in_flight_;
  if (auto d = decline_reason(*req, *env, *conf, ctx)) {
    lock.unlock();
    return decline_as(*d);
  }
  count("run");
  {
    ++in_flight_;
    if (!key.first.empty()) ++pending_keys_[key];
    jobs_.push_back(Job{std::move(fd), peer.pid, std::move(*env), std::move(*conf)});
    // Workers start in this thread's network namespace: the node's.
    if (idle_workers_ == 0 && live_workers_ < kWorkers) {
      ++live_workers_;
      workers_.emplace_back(&CniHandoff::work, this);
    }
  }
  lock.unlock();
  queued_.notify_one();
  return true;
}

CniHandoff::Key CniHandoff::key_of(const cni::Env& env) {
  // GC and STATUS name no attachment: they are not ordered.
  if (env.command == cni::Command::kGc || env.command == cni::Command::kStatus) return {};
  return {env.container_id, env.ifname};
}

std::deque<CniHandoff::Job>::iterator CniHandoff::next_runnable() {
  return std::find_if(jobs_.begin(), jobs_.end(), [this](const Job& j) {
    const Key k = key_of(j.env);
    return k.first.empty() || !running_keys_.contains(k);
  });
}

void CniHandoff::work() {
  // A verb enters the pod's network namespace and comes back; a worker that
  // could not come back must not run the next verb in the wrong namespace.
  const auto home = current_ns_identity();
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_workers_;
    // The first job whose attachment has no verb running: per attachment,
    // verbs run one at a time in the order they came.
    queued_.wait(lock, [this] { return ending_ || next_runnable() != jobs_.end(); });
    --idle_workers_;
    auto it = next_runnable();
    if (it == jobs_.end()) break;  // ending (drain() left no job)
    Job job = std::move(*it);
    jobs_.erase(it);
    const Key key = key_of(job.env);
    if (!key.first.empty()) running_keys_.insert(key);
    lock.unlock();
    run(job);
    const auto now = current_ns_identity();
    lock.lock();
    if (!key.first.empty()) {
      running_keys_.erase(key);
      if (--pending_keys_[key] == 0) pending_keys_.erase(key);
      queued_.notify_all();  // a job of this attachment may be next
    }
    if (--in_flight_ == 0) idle_.notify_all();
    if (!home || !now || now->net != home->net) {
      log::error("cni worker left in another network namespace, ending it");
      break;
    }
  }
  --live_workers_;
}

void CniHandoff::run(Job& job) {
  const cni::Env& env = job.env;
  const cni::NetConf& conf = job.conf;
  log::set_context({{"cmd", std::string(cni::command_name(env.command))},
                    {"container", env.container_id},
                    {"ifname", env.ifname}});
  const int64_t t0 = mono_us();
  cni::Outcome out;
  try {
    LocalAgent local(conf.agent_socket, handle_);
    out = runner_(env, conf);
  } catch (const std::exception& e) {
    out = cni::error_outcome(
        cni::CniError{static_cast<int>(cni::Code::kTryAgainLater), "agent failed running the verb", e.what()},
        conf.cni_version);
  }
  // The plugin's own log file keeps a line per verb, as when it runs them,
  // written before the answer: when the runtime has the result, the line is there.
  const std::string us = std::to_string(mono_us() - t0);
  const std::string cmd(cni::command_name(env.command));
  if (out.exit == 0) {
    log::append_line(conf.log_file, "strand", job.pid, "info", "verb run by strand-agent",
                     {{"cmd", cmd}, {"container", env.container_id}, {"ifname", env.ifname}, {"us", us}});
  } else {
    std::string error = out.out;
    if (!error.empty() && error.back() == '\n') error.pop_back();
    log::append_line(conf.log_file, "strand", job.pid, "error", "verb run by strand-agent failed",
                     {{"cmd", cmd}, {"container", env.container_id}, {"ifname", env.ifname}, {"us", us},
                      {"exit", std::to_string(out.exit)}, {"error", error}});
  }
  answer(job.fd, cni::encode_handoff_reply(out));
  log::set_context({});
}

}  // namespace strand::agent
