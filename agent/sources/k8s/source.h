#pragma once
// K8sSource: the model fed from the Kubernetes API. Four reflectors (Pods,
// Namespaces, NetworkPolicies, Nodes; all namespaces: every pod feeds
// identities and the ipcache, the endpoints pick this node's), each on its
// own thread, sharing one HTTPS client. synced() once every initial list is
// in the model: the agent's /readyz waits for it. stop() wakes every thread
// out of its connect, read or backoff wait and joins them; a stopped source
// is not restarted.
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "agent/model/model.h"
#include "agent/sources/k8s/client.h"
#include "agent/sources/k8s/cluster_config.h"
#include "agent/sources/k8s/reflector.h"
#include "common/fd.h"

namespace strand::sources::k8s {

struct K8sStats {
  uint64_t lists = 0;
  uint64_t relists = 0;
  uint64_t watches = 0;
  uint64_t watch_events = 0;
  uint64_t bookmarks = 0;
  uint64_t gone = 0;
  uint64_t reconnects = 0;
  uint64_t errors = 0;
  uint64_t skipped = 0;
  std::map<model::Kind, ReflectorStats> per_kind;
};

class K8sSource {
 public:
  [[nodiscard]] static Result<std::unique_ptr<K8sSource>> open(ClusterConfig config, model::Model& model,
                                                               ReflectorOptions opts = {});
  ~K8sSource();
  K8sSource(const K8sSource&) = delete;
  K8sSource& operator=(const K8sSource&) = delete;

  // Starts the reflectors; returns at once (the lists run on their threads).
  [[nodiscard]] Status start();
  void stop();

  [[nodiscard]] bool synced() const;
  [[nodiscard]] K8sStats stats() const;
  [[nodiscard]] const ClusterConfig& config() const { return client_->config(); }

 private:
  K8sSource(UniqueFd wake, std::unique_ptr<ApiClient> client) : wake_(std::move(wake)), client_(std::move(client)) {}
  UniqueFd wake_;  // eventfd, written once by stop() and never read: every wait sees it
  std::unique_ptr<ApiClient> client_;
  std::vector<std::unique_ptr<Reflector>> reflectors_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace strand::sources::k8s
