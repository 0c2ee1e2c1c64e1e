#pragma once
// The lab operations behind the subcommands, shared by lab.cpp (apply,
// delete, ...) and verify.cpp (the truth-table runner). Each change to the
// manifests ends with a sync: .generation bumped and every agent caught up.
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fd.h"
#include "lab/manifest.h"
#include "lab/state.h"

namespace strand::lab {

// The agents' HTTP API inside each node netns.
inline constexpr const char* kAgentHttp = "127.0.0.1:9464";

// An exclusive lock per lab name held for a command that changes the lab.
class LabLock {
 public:
  [[nodiscard]] static Result<LabLock> take(const std::string& lab);

 private:
  explicit LabLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

[[nodiscard]] Result<LabState> load_state(const std::string& lab);
[[nodiscard]] Status save_state(const LabState& s);
[[nodiscard]] std::string manifests_dir(const std::string& lab);

// The Pod manifest the agents read for `key` (as the lab last wrote it).
[[nodiscard]] Result<nlohmann::json> pod_manifest(const LabState& s, const std::string& key);

// `strand-lab apply`: Namespaces, then NetworkPolicies, then Pods (a new pod
// starts under the policies applied with it). A new pod's manifest is
// written before its CNI ADD (as the API server has a pod before kubelet runs
// it) and again with status.podIPs after. Progress lines go to `out`. Every
// object is tried; the error names those that failed. Ends with a sync.
[[nodiscard]] Status apply_objects(LabState& s, const std::vector<Object>& objs, std::ostream& out);

// `strand-lab delete KIND KEY`; ends with a sync. ENOENT when there is no such object.
// With sync false the caller syncs after a batch of changes.
[[nodiscard]] Status delete_object(LabState& s, const std::string& kind, const std::string& key, std::ostream& out,
                                   bool sync = true);

// Bumps .generation and waits for every agent of the lab (lab/sync.h). An
// agent that reports no generation does not enforce NetworkPolicy: that is an
// error by default (every lab agent runs with --source-dir); after
// require_generation(false) it is not waited for (a warning, once per node
// and process).
[[nodiscard]] Status sync_lab(const LabState& s);
void require_generation(bool on);

}  // namespace strand::lab
