#pragma once
// The pod datapath (strand_tc skeleton), loaded once per agent. Its maps are
// pinned under <pin dir>/<map name>; maps already pinned there (by an earlier
// agent) are reused, so programs attached by that agent and ours share state.
#include <memory>
#include <string>

#include "common/error.h"

struct strand_tc;
struct bpf_program;

namespace strand::agent {

struct SkeletonDeleter {
  void operator()(strand_tc* s) const noexcept;
};
using TcSkeleton = std::unique_ptr<strand_tc, SkeletonDeleter>;

class Datapath {
 public:
  // Opens and loads the skeleton with its maps pinned in `map_pin_dir`.
  [[nodiscard]] static Result<Datapath> load(const std::string& map_pin_dir);

  [[nodiscard]] int from_pod_fd() const;
  [[nodiscard]] int to_pod_fd() const;
  [[nodiscard]] int endpoints_fd() const;
  [[nodiscard]] const std::string& map_pin_dir() const { return map_pin_dir_; }

 private:
  Datapath(TcSkeleton skel, std::string dir) : skel_(std::move(skel)), map_pin_dir_(std::move(dir)) {}
  TcSkeleton skel_;
  std::string map_pin_dir_;
};

}  // namespace strand::agent
