#include "agent/policy/regions.h"

#include <algorithm>

namespace strand::policy {

namespace {

IpPrefix root(int family) {
  IpPrefix p;
  p.addr.family = family;
  p.len = 0;
  return p;
}

}  // namespace

BlockKey block_key(const IpBlock& b) {
  BlockKey k{b.cidr.network(), {}};
  for (const IpPrefix& x : b.except) k.except.push_back(x.network());
  std::ranges::sort(k.except);
  k.except.erase(std::unique(k.except.begin(), k.except.end()), k.except.end());
  return k;
}

std::map<IpPrefix, std::vector<uint32_t>> region_signatures(const std::map<uint32_t, BlockKey>& blocks) {
  std::vector<IpPrefix> set{root(AF_INET), root(AF_INET6)};
  for (const auto& [id, b] : blocks) {
    set.push_back(b.cidr);
    set.insert(set.end(), b.except.begin(), b.except.end());
  }
  std::ranges::sort(set);
  set.erase(std::unique(set.begin(), set.end()), set.end());

  std::map<IpPrefix, std::vector<uint32_t>> out;
  for (const IpPrefix& p : set) out.emplace(p, std::vector<uint32_t>{});
  // Sorted by (address, length), the prefixes inside a cidr follow it
  // contiguously: walk them and skip those inside an except.
  for (const auto& [id, b] : blocks) {
    auto it = std::ranges::lower_bound(set, b.cidr);
    for (; it != set.end() && b.cidr.contains(*it); ++it) {
      const IpPrefix& p = *it;
      bool excepted = std::ranges::any_of(b.except, [&](const IpPrefix& x) { return x.contains(p); });
      if (!excepted) out[p].push_back(id);
    }
  }
  for (auto& [p, sig] : out) std::ranges::sort(sig);
  return out;
}

}  // namespace strand::policy
