#include "agent/datapath/loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstring>

#include "common/fs.h"
#include "common/log.h"
// clang-format off
#include "strand_maps.h"
#include "strand_tc.skel.h"
// clang-format on

namespace strand::agent {

void SkeletonDeleter::operator()(strand_tc* s) const noexcept { strand_tc__destroy(s); }

Result<Datapath> Datapath::load(const std::string& map_pin_dir, const TcSettings& settings) {
  if (auto st = make_dirs(map_pin_dir); !st) return std::unexpected(st.error());
  TcSkeleton skel(strand_tc__open());
  if (!skel) return fail_errno("strand_tc__open");
  auto& cfg = skel->rodata->strand_cfg;
  if (settings.events) cfg.events = *settings.events;
  if (settings.ev_rate) cfg.ev_rate = *settings.ev_rate;
  if (settings.ev_burst) cfg.ev_burst = *settings.ev_burst;

  int reused = 0;
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, skel->obj) {
    if (bpf_map__is_internal(map)) continue;  // .rodata: per program load, not shared
    const std::string path = map_pin_dir + "/" + bpf_map__name(map);
    // libbpf reuses a compatible pinned map at this path and pins the new one otherwise.
    if (int err = bpf_map__set_pin_path(map, path.c_str()); err != 0) {
      return fail("bpf_map__set_pin_path", -err, path);
    }
    if (::access(path.c_str(), F_OK) == 0) ++reused;
  }
  if (int err = strand_tc__load(skel.get()); err != 0) {
    return fail("strand_tc__load", -err, "maps pinned in " + map_pin_dir);
  }
  log::info("datapath loaded", {{"maps", map_pin_dir}, {"reused_maps", std::to_string(reused)}});
  return Datapath(std::move(skel), map_pin_dir);
}

int Datapath::from_pod_fd() const { return bpf_program__fd(skel_->progs.from_pod); }
int Datapath::to_pod_fd() const { return bpf_program__fd(skel_->progs.to_pod); }
int Datapath::endpoints_fd() const { return bpf_map__fd(skel_->maps.endpoints); }
int Datapath::ct_fd() const { return bpf_map__fd(skel_->maps.ct); }
int Datapath::ep_stats_fd() const { return bpf_map__fd(skel_->maps.ep_stats); }
int Datapath::events_fd() const { return bpf_map__fd(skel_->maps.events); }

int Datapath::map_fd(std::string_view name) const {
  const bpf_map* m = bpf_object__find_map_by_name(skel_->obj, std::string(name).c_str());
  return m ? bpf_map__fd(m) : -1;
}

strand_tc_config Datapath::tc_config() const { return skel_->rodata->strand_cfg; }

}  // namespace strand::agent
