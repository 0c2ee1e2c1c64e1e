#pragma once
// Which identity numbers a restarted agent keeps from the maps an earlier
// agent left pinned (Compiler::resume()).
//
// Two compilers number the same cluster differently (numbers follow the
// order objects arrived in), and while the maps go from the pinned state to
// the new one, a number one map still uses in the old sense and another
// already in the new would pass what neither state allows and drop what
// both do. So a number is kept only where it stands for exactly the same
// addresses in both states; then, whatever it meant, every peer carrying it
// is judged by the old entries, the new ones or both, which is what the old
// or the new state would do. Every other identity gets a number the pinned
// maps do not use at all, so old and new entries never meet on one peer.
#include <cstdint>
#include <map>
#include <set>

#include "agent/policy/compile.h"

namespace strand::policy {

// fresh number -> pinned number, for every identity of `fresh` whose
// addresses (in the same ipcache slot: identity or cidr_identity) are
// exactly those of one identity of `pinned`. One-to-one.
[[nodiscard]] std::map<uint32_t, uint32_t> same_addresses(const DatapathState& pinned, const DatapathState& fresh);

// Every identity number (>= kFirstIdentity) s names: in ipcache values,
// endpoint entries and policy keys.
[[nodiscard]] std::set<uint32_t> identity_numbers(const DatapathState& s);

}  // namespace strand::policy
