#pragma once
// Named network namespaces under /run/netns, made as `ip netns add` makes them
// (a bind mount of a fresh namespace onto a file there), without exec'ing ip.
#include <string>
#include <vector>

#include "common/error.h"

namespace strand::lab {

inline std::string netns_path(const std::string& name) { return "/run/netns/" + name; }

// Creates /run/netns/<name> holding a new network namespace with lo up.
// EEXIST when it exists.
[[nodiscard]] Status create_named_netns(const std::string& name);
// Unmounts and removes it; success when it is already gone.
[[nodiscard]] Status remove_named_netns(const std::string& name);
// Names in /run/netns starting with `prefix`.
[[nodiscard]] std::vector<std::string> list_named_netns(const std::string& prefix);

}  // namespace strand::lab
