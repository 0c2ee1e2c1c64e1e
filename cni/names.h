#pragma once
// Host-side interface names: "st" + 12 hex digits of a hash of the container id
// and ifname, so DEL and GC can find the link from the attachment alone.
#include <string>
#include <string_view>

namespace strand::cni {

inline constexpr std::string_view kHostIfPrefix = "st";

[[nodiscard]] std::string host_ifname(std::string_view container_id, std::string_view ifname);

}  // namespace strand::cni
