#pragma once
// A stand-in for the agent's HTTP API on 127.0.0.1 (ephemeral port), serving
// canned items with the documented query semantics (pod, after, limit newest
// first) and recording every request it gets.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "canned.h"

namespace strand::ctl::testing {

using ojson = nlohmann::ordered_json;

class FakeAgent {
 public:
  FakeAgent() {
    srv_.Get("/healthz", [this](const httplib::Request& q, httplib::Response& r) {
      if (!forced(q, r)) r.set_content("ok", "text/plain");
    });
    srv_.Get("/readyz", [this](const httplib::Request& q, httplib::Response& r) {
      if (forced(q, r)) return;
      std::lock_guard lock(mu_);
      r.status = ready_ ? 200 : 503;
      r.set_content(ready_ ? canned::kReady : canned::kNotReady, "application/json");
    });
    srv_.Get("/v1/endpoints", [this](const httplib::Request& q, httplib::Response& r) {
      if (!forced(q, r)) r.set_content(canned::kEndpoints, "application/json");
    });
    srv_.Get("/v1/flows", [this](const httplib::Request& q, httplib::Response& r) { list(q, r, flows_, false); });
    srv_.Get("/v1/drops", [this](const httplib::Request& q, httplib::Response& r) { list(q, r, drops_, true); });
    srv_.Get("/v1/policies", [this](const httplib::Request& q, httplib::Response& r) {
      if (!forced(q, r)) r.set_content(canned::kPolicies, "application/json");
    });
    // Answers set with set_why(); any other question is a 400 naming it.
    srv_.Get("/v1/why", [this](const httplib::Request& q, httplib::Response& r) {
      if (forced(q, r)) return;
      const std::string key =
          q.get_param_value("from") + " " + q.get_param_value("to") + " " + q.get_param_value("port");
      std::lock_guard lock(mu_);
      auto it = why_.find(key);
      if (it == why_.end()) {
        r.status = 400;
        r.set_content(ojson{{"error", "fake agent: no answer for " + key}}.dump(), "application/json");
        return;
      }
      r.status = it->second.first;
      r.set_content(it->second.second, "application/json");
    });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
    while (!srv_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~FakeAgent() {
    srv_.stop();
    thread_.join();
  }
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  void add_flow(const std::string& item) { add(flows_, item); }
  void add_drop(const std::string& item) { add(drops_, item); }
  void clear_flows() {
    std::lock_guard lock(mu_);
    flows_.clear();
  }
  void set_lost(uint64_t n) {
    std::lock_guard lock(mu_);
    lost_ = n;
  }
  // Behave like an agent that does not know the after= parameter.
  void ignore_after(bool on) {
    std::lock_guard lock(mu_);
    ignore_after_ = on;
  }
  void set_ready(bool r) {
    std::lock_guard lock(mu_);
    ready_ = r;
  }
  // Answer `path` with this status and body from now on (status 0: stop forcing).
  void force(const std::string& path, int status, std::string body) {
    std::lock_guard lock(mu_);
    if (status == 0)
      forced_.erase(path);
    else
      forced_[path] = {status, std::move(body)};
  }

  // The answer to GET /v1/why?from=FROM&to=TO&port=PORT (values as sent).
  void set_why(const std::string& from, const std::string& to, const std::string& port, int status,
               std::string body) {
    std::lock_guard lock(mu_);
    why_[from + " " + to + " " + port] = {status, std::move(body)};
  }

  // "/v1/flows?after=17&pod=default/web-1" (decoded, keys sorted).
  [[nodiscard]] std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  bool wait_for_request(const std::string& want, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout,
                        [&] { return std::find(requests_.begin(), requests_.end(), want) != requests_.end(); });
  }
  // Waits until `want` has been requested at least n times.
  bool wait_for_count(const std::string& want, size_t n,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      return static_cast<size_t>(std::count(requests_.begin(), requests_.end(), want)) >= n;
    });
  }
  [[nodiscard]] size_t count(const std::string& want) {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count(requests_.begin(), requests_.end(), want));
  }

 private:
  void add(std::vector<ojson>& list, const std::string& item) {
    std::lock_guard lock(mu_);
    list.push_back(ojson::parse(item));
  }

  void record(const httplib::Request& q) {
    std::string s = q.path;
    char sep = '?';
    for (const auto& [k, v] : q.params) {  // multimap: sorted by key
      s += sep + k + "=" + v;
      sep = '&';
    }
    std::lock_guard lock(mu_);
    requests_.push_back(s);
    cv_.notify_all();
  }

  bool forced(const httplib::Request& q, httplib::Response& r) {
    record(q);
    std::lock_guard lock(mu_);
    auto it = forced_.find(q.path);
    if (it == forced_.end()) return false;
    r.status = it->second.first;
    r.set_content(it->second.second, "application/json");
    return true;
  }

  void list(const httplib::Request& q, httplib::Response& r, const std::vector<ojson>& source, bool with_lost) {
    if (forced(q, r)) return;
    std::lock_guard lock(mu_);
    std::vector<ojson> items;
    const uint64_t after = q.has_param("after") && !ignore_after_ ? std::stoull(q.get_param_value("after")) : 0;
    const std::string pod = q.get_param_value("pod");
    for (const ojson& it : source) {
      if (it["seq"].get<uint64_t>() <= after) continue;
      if (!pod.empty() && it["namespace"].get<std::string>() + "/" + it["pod"].get<std::string>() != pod) continue;
      items.push_back(it);
    }
    std::sort(items.begin(), items.end(), [](const ojson& a, const ojson& b) { return a["seq"] > b["seq"]; });
    const size_t limit = q.has_param("limit") ? std::stoull(q.get_param_value("limit")) : 1000;
    if (items.size() > limit) items.resize(limit);
    ojson body{{"items", items}};
    if (with_lost) body["lost"] = lost_;
    r.set_content(body.dump(), "application/json");
  }

  httplib::Server srv_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ojson> flows_;
  std::vector<ojson> drops_;
  uint64_t lost_ = 0;
  bool ready_ = true;
  bool ignore_after_ = false;
  std::map<std::string, std::pair<int, std::string>> forced_;
  std::map<std::string, std::pair<int, std::string>> why_;
  std::vector<std::string> requests_;
};

}  // namespace strand::ctl::testing
