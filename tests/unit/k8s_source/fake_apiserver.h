#pragma once
// FakeApiServer: a test double of kube-apiserver's list/watch for Pods,
// Namespaces, Nodes and NetworkPolicies, over HTTPS on 127.0.0.1, speaking
// the real wire format:
//   GET <path>?limit=N&continue=T      -> {"kind":"PodList","apiVersion":"v1",  (chunked when large)
//       "metadata":{"resourceVersion":"R","continue":"T2","remainingItemCount":K},
//       "items":[objects without kind/apiVersion, as the API returns them]}
//   GET <path>?watch=1&resourceVersion=R&allowWatchBookmarks=true&timeoutSeconds=S
//       -> 200, Transfer-Encoding: chunked, one {"type":..,"object":..}\n per
//       event after R (ADDED/MODIFIED/DELETED with full objects and their new
//       resourceVersion; BOOKMARK objects carry only kind, apiVersion and
//       metadata.resourceVersion), until S seconds, close_watches() or stop().
//   A resourceVersion older than the last compact(): 410, either as an HTTP
//   410 Status body or as 200 + {"type":"ERROR","object":{"kind":"Status","code":410,...}}.
//   A missing or wrong bearer token: 401 Status. With a client CA, the TLS
//   handshake requires and verifies a client certificate.
// resourceVersions are one counter over all resources, like etcd's revision.
// Every request is recorded (path, query, token) for the tests to assert on.
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/sources/k8s/tls.h"
#include "common/fd.h"

namespace strand::sources::k8s::testing {

inline constexpr const char* kPods = "/api/v1/pods";
inline constexpr const char* kNamespaces = "/api/v1/namespaces";
inline constexpr const char* kNodes = "/api/v1/nodes";
inline constexpr const char* kPolicies = "/apis/networking.k8s.io/v1/networkpolicies";
// List bodies over this size are sent chunked (in 1500-byte chunks), smaller
// ones with Content-Length.
inline constexpr size_t kChunkedListOver = 8192;

struct FakeApiServerOptions {
  std::string cert_pem;
  std::string key_pem;
  std::string token = "good-token";  // "" accepts any request
  std::string client_ca_pem;         // non-empty: a verified client certificate is required
};

struct RecordedRequest {
  std::string path;
  std::map<std::string, std::string> query;
  std::string authorization;
  int status = 0;
  [[nodiscard]] bool is_watch() const { return query.contains("watch"); }
  [[nodiscard]] std::string q(const std::string& k) const {
    auto it = query.find(k);
    return it == query.end() ? std::string() : it->second;
  }
};

enum class GoneMode { kErrorEvent, kHttpStatus };

class FakeApiServer {
 public:
  explicit FakeApiServer(FakeApiServerOptions opts);
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  // Listens on 127.0.0.1 (an ephemeral port the first time, the same port
  // after a stop()). False on failure.
  bool start();
  // Down: the listener and every connection closed; the state is kept.
  void stop();
  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }

  // State changes; each bumps the resourceVersion (returned) and is an event.
  // `obj` carries kind, apiVersion and metadata (name, namespace, ...).
  uint64_t add(const std::string& path, nlohmann::json obj);
  uint64_t modify(const std::string& path, nlohmann::json obj);
  uint64_t remove(const std::string& path, const std::string& ns, const std::string& name);
  // A BOOKMARK at the current resourceVersion to `path`'s watchers.
  uint64_t bookmark(const std::string& path);
  // Events up to now forgotten: watching from an older resourceVersion is 410.
  void compact();
  void set_gone_mode(GoneMode m);
  // Every watch is answered 410, even from a fresh list's resourceVersion
  // (an API server whose watch cache lags behind its lists).
  void set_always_gone(bool on);
  // Every open watch ends (terminating chunk).
  void close_watches();
  // Every open watch ends with {"type":"ERROR","object":<Status with code>}.
  void fail_watches(int code, const std::string& reason, const std::string& message);
  // While held, watch requests are received (and recorded) but not answered.
  void hold_watches(bool hold);
  // Event bytes written in chunks of n bytes straddling events (0: one chunk per event).
  void set_chunk_split(size_t n);
  // The next list request with a continue token answers 410 Expired (the
  // snapshot it continued is gone).
  void expire_next_continue();
  // The bearer token accepted from now on.
  void set_token(std::string token);

  [[nodiscard]] uint64_t resource_version() const;
  [[nodiscard]] std::vector<RecordedRequest> requests() const;
  [[nodiscard]] size_t held_watches() const;
  [[nodiscard]] size_t open_watches() const;
  [[nodiscard]] size_t handshake_failures() const;
  [[nodiscard]] size_t events_sent() const;
  [[nodiscard]] size_t chunked_lists() const;  // list responses sent chunked  // ADDED/MODIFIED/DELETED lines written

 private:
  struct Event {
    uint64_t rv;
    std::string type;
    nlohmann::json object;
  };
  struct Store {
    std::map<std::string, nlohmann::json> objects;  // "ns/name" -> object
    std::vector<Event> log;
  };
  void accept_loop();
  void serve(UniqueFd fd);
  void handle_list(SSL* ssl, const std::string& path, const RecordedRequest& req, RecordedRequest& rec);
  void handle_watch(SSL* ssl, const std::string& path, const RecordedRequest& req, RecordedRequest& rec);
  uint64_t record(const std::string& path, const std::string& type, nlohmann::json obj);

  FakeApiServerOptions opts_;
  SslCtxPtr ctx_;
  uint16_t port_ = 0;
  UniqueFd listener_;
  UniqueFd stop_fd_;  // eventfd: wakes the accept loop
  std::thread acceptor_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool down_ = true;
  uint64_t generation_ = 0;  // bumped by stop(): connections of an older one end
  std::vector<int> conn_fds_;
  std::vector<std::thread> conn_threads_;
  std::map<std::string, Store> stores_;
  uint64_t rv_ = 100;
  uint64_t compacted_ = 0;
  GoneMode gone_mode_ = GoneMode::kErrorEvent;
  uint64_t close_gen_ = 0;
  uint64_t error_gen_ = 0;
  nlohmann::json error_status_;
  bool hold_ = false;
  size_t held_ = 0;
  size_t open_watches_ = 0;
  size_t split_ = 0;
  size_t handshake_failures_ = 0;
  size_t events_sent_ = 0;
  size_t chunked_lists_ = 0;
  std::map<std::string, std::vector<nlohmann::json>> continues_;  // token -> the rest of a list snapshot
  std::map<std::string, std::string> continue_rv_;
  uint64_t next_continue_ = 1;
  bool expire_next_continue_ = false;
  bool always_gone_ = false;
  std::vector<RecordedRequest> requests_;
};

}  // namespace strand::sources::k8s::testing
