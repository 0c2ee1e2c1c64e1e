#include "agent/policy/types.h"

#include <algorithm>

namespace strand::policy {

std::string_view protocol_name(Protocol p) {
  switch (p) {
    case Protocol::kTcp: return "TCP";
    case Protocol::kUdp: return "UDP";
    case Protocol::kSctp: return "SCTP";
  }
  return "?";
}

const Pod* Cluster::find_pod(std::string_view ns, std::string_view name) const {
  auto it = std::ranges::find_if(pods, [&](const Pod& p) { return p.ns == ns && p.name == name; });
  return it == pods.end() ? nullptr : &*it;
}

const Namespace* Cluster::find_namespace(std::string_view name) const {
  auto it = std::ranges::find_if(namespaces, [&](const Namespace& n) { return n.name == name; });
  return it == namespaces.end() ? nullptr : &*it;
}

}  // namespace strand::policy
