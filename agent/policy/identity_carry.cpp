#include "agent/policy/identity_carry.h"

#include <utility>
#include <vector>

namespace strand::policy {

namespace {

// The value of the longest prefix of s's ipcache that contains p (p itself
// when s has it), nullptr for none.
const IpcacheValue* covering(const DatapathState& s, const IpPrefix& p) {
  for (int len = p.len; len >= 0; --len) {
    auto it = s.ipcache.find(IpPrefix{p.addr, static_cast<uint8_t>(len)}.network());
    if (it != s.ipcache.end()) return &it->second;
  }
  return nullptr;
}

uint32_t slot_of(const IpcacheValue* v, int slot) {
  if (v == nullptr) return 0;
  return slot == 0 ? v->identity : v->cidr_identity;
}

}  // namespace

std::map<uint32_t, uint32_t> same_addresses(const DatapathState& pinned, const DatapathState& fresh) {
  // The prefixes of both states cut the address space into cells: a prefix
  // minus the longer prefixes of either state inside it. Every address of a
  // cell has, in each state, the value of that state's longest prefix
  // covering the cell's prefix. An identity's addresses are the cells (and
  // slot) it is in.
  std::set<IpPrefix> cells;
  for (const auto& [p, v] : pinned.ipcache) cells.insert(p);
  for (const auto& [p, v] : fresh.ipcache) cells.insert(p);
  using Where = std::vector<std::pair<IpPrefix, int>>;  // (cell, slot), in cell order
  std::map<uint32_t, Where> old_at;
  std::map<uint32_t, Where> new_at;
  for (const IpPrefix& c : cells) {
    const IpcacheValue* o = covering(pinned, c);
    const IpcacheValue* n = covering(fresh, c);
    for (int slot : {0, 1}) {
      if (uint32_t id = slot_of(o, slot); id >= kFirstIdentity) old_at[id].emplace_back(c, slot);
      if (uint32_t id = slot_of(n, slot); id >= kFirstIdentity) new_at[id].emplace_back(c, slot);
    }
  }
  std::map<uint32_t, uint32_t> out;
  for (const auto& [id, where] : new_at) {
    const auto& [cell, slot] = where.front();
    const uint32_t old = slot_of(covering(pinned, cell), slot);
    if (old >= kFirstIdentity && old_at.at(old) == where) out.emplace(id, old);
  }
  return out;
}

std::set<uint32_t> identity_numbers(const DatapathState& s) {
  std::set<uint32_t> out;
  auto add = [&](uint32_t id) {
    if (id >= kFirstIdentity) out.insert(id);
  };
  for (const auto& [p, v] : s.ipcache) {
    add(v.identity);
    add(v.cidr_identity);
  }
  for (const auto& [ep, e] : s.endpoints) add(e.identity);
  for (const auto& [k, rule] : s.policy) add(k.remote_identity);
  return out;
}

}  // namespace strand::policy
