#pragma once
// The pod datapath (strand_tc skeleton), loaded once per agent. Its maps are
// pinned under <pin dir>/<map name>; maps already pinned there (by an earlier
// agent) are reused, so programs attached by that agent and ours share state.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "datapath/bpf/include/strand_maps.h"

struct strand_tc;
struct bpf_program;

namespace strand::agent {

struct SkeletonDeleter {
  void operator()(strand_tc* s) const noexcept;
};
using TcSkeleton = std::unique_ptr<strand_tc, SkeletonDeleter>;

// Settings of the programs' .rodata (strand_tc_config), set between open and
// load; unset fields keep the values compiled into strand_tc.bpf.c.
struct TcSettings {
  std::optional<uint32_t> events;    // STRAND_EVENTS_* mask
  std::optional<uint32_t> ev_rate;   // events/s per endpoint
  std::optional<uint32_t> ev_burst;  // bucket depth
};

class Datapath {
 public:
  // Opens and loads the skeleton with its maps pinned in `map_pin_dir`.
  [[nodiscard]] static Result<Datapath> load(const std::string& map_pin_dir, const TcSettings& settings = {});

  [[nodiscard]] int from_pod_fd() const;
  [[nodiscard]] int to_pod_fd() const;
  [[nodiscard]] int endpoints_fd() const;
  [[nodiscard]] int ct_fd() const;
  [[nodiscard]] int ep_stats_fd() const;
  [[nodiscard]] int events_fd() const;
  // The fd of a map by its kernel name (STRAND_MAP_*), -1 when there is none.
  [[nodiscard]] int map_fd(std::string_view name) const;
  // The settings the programs were loaded with (timeouts, event limits).
  [[nodiscard]] strand_tc_config tc_config() const;
  [[nodiscard]] const std::string& map_pin_dir() const { return map_pin_dir_; }

 private:
  Datapath(TcSkeleton skel, std::string dir) : skel_(std::move(skel)), map_pin_dir_(std::move(dir)) {}
  TcSkeleton skel_;
  std::string map_pin_dir_;
};

}  // namespace strand::agent
