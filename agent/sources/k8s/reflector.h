#pragma once
// Reflector: keeps the model's objects of one resource (Pods, Namespaces,
// NetworkPolicies or Nodes) equal to the API server's, on its own thread.
//
//   LIST (paged with limit/continue) -> one model update: every listed object
//   upserted, every object this reflector had put in the model and no longer
//   listed removed (so a relist after 410 loses and doubles nothing);
//   WATCH from the list's resourceVersion, with bookmarks: ADDED/MODIFIED
//   upsert, DELETED removes, BOOKMARK only advances the resourceVersion;
//   every event's resourceVersion becomes the resume point.
//   The server ending the watch (timeoutSeconds, restart): watch again from
//   the resume point. 410 Gone (HTTP status, or an ERROR event with code
//   410): LIST again. Any other failure: wait (exponential backoff with
//   jitter, reset after a success) and retry what failed.
// Objects that do not parse are logged, counted and skipped; the watch goes on.
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "agent/model/model.h"
#include "agent/sources/k8s/backoff.h"
#include "agent/sources/k8s/client.h"
#include "agent/sources/k8s/wire.h"

namespace strand::sources::k8s {

struct ReflectorOptions {
  int page_limit = 500;
  int watch_timeout_seconds = 300;                   // asked of the server (timeoutSeconds)
  std::chrono::milliseconds watch_idle_grace{30'000};  // a watch silent this long past its timeout is dead
  std::chrono::milliseconds request_timeout{30'000};   // a list page, or a watch's response head
  std::chrono::milliseconds backoff_min{200};
  std::chrono::milliseconds backoff_max{30'000};
};

struct ReflectorStats {
  uint64_t lists = 0;         // complete lists applied (the first and relists)
  uint64_t relists = 0;       // lists after the first
  uint64_t list_pages = 0;    // list requests answered 200
  uint64_t watches = 0;       // watch requests answered 200
  uint64_t watch_events = 0;  // ADDED, MODIFIED and DELETED events received
  uint64_t bookmarks = 0;     // BOOKMARK events
  uint64_t gone = 0;          // 410 Gone answers and ERROR events
  uint64_t reconnects = 0;    // retries after a backoff wait
  uint64_t errors = 0;        // failed requests, error answers, broken streams
  uint64_t skipped = 0;       // objects not parsed (logged and skipped)
  std::string resource_version;  // the resume point
  std::string last_error;

  bool operator==(const ReflectorStats&) const = default;
};

class Reflector {
 public:
  Reflector(const Resource& resource, ApiClient& client, model::Model& model, ReflectorOptions opts, uint64_t seed);
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  void start();
  // Joins the thread; the client's wake fd must have been signalled first.
  void join();

  [[nodiscard]] bool synced() const { return synced_.load(); }
  [[nodiscard]] ReflectorStats stats() const;
  [[nodiscard]] const Resource& resource() const { return resource_; }

 private:
  enum class WatchEnd { kClosed, kGone, kError, kCancelled };
  void run();
  // LIST every page and apply the difference. ECANCELED when stopped.
  [[nodiscard]] Status list();
  WatchEnd watch(Error& err);
  // Applies one event; false when the stream must end (gone or error set).
  [[nodiscard]] bool handle_line(const std::string& line, WatchEnd& end, Error& err);
  void note_error(const Error& e, const char* what);
  // Sleeps `d` unless stopped first (then false).
  [[nodiscard]] bool sleep(std::chrono::milliseconds d);
  template <typename F>
  void update_stats(F&& f) {
    std::lock_guard lock(mu_);
    f(stats_);
  }

  const Resource resource_;
  ApiClient& client_;
  model::Model& model_;
  const ReflectorOptions opts_;
  Backoff backoff_;
  std::thread thread_;
  std::atomic<bool> synced_{false};
  std::string rv_;               // the thread's resume point
  std::set<model::Key> known_;   // what this reflector has put in the model
  mutable std::mutex mu_;
  ReflectorStats stats_;
};

}  // namespace strand::sources::k8s
