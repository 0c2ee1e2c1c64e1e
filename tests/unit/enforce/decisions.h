#pragma once
// The datapath's decisions over a DatapathState (the lookup emulation of
// tests/unit/policy/compile_harness.h, plus audit: an audited endpoint's
// would-be drops pass), and the decisions two states agree on, re-judged
// over the maps after every single write of the fake kernel.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/enforce/fake_kernel.h"
#include "tests/unit/policy/compile_harness.h"

namespace strand::policy::testing {

// One decision the datapath takes: endpoint ep, direction, peer address, protocol, port.
struct Decision {
  uint32_t ep;
  Direction dir;
  IpAddr peer;
  uint8_t proto;
  uint16_t port;

  [[nodiscard]] std::string str() const {
    return "ep " + std::to_string(ep) + " " + dir_str(dir) + " peer " + peer.str() + " " + std::to_string(proto) + "/" +
           std::to_string(port);
  }
};

// Whether the datapath lets the decision through: allowed by policy, or
// denied and passed by audit.
inline bool passes(const DatapathState& s, const Decision& d) {
  auto e = s.endpoints.find(d.ep);
  if (e != s.endpoints.end() && (e->second.flags & STRAND_EP_F_AUDIT) != 0) return true;
  return side_allowed(s, d.ep, d.dir, d.peer, d.proto, d.port);
}

// The decisions of the endpoints of both `before` and `after`, over peers
// and ports, that both let through (and, with `denials`, that both deny):
// while the maps go from one to the other, each must keep its verdict.
class AgreedDecisions {
 public:
  AgreedDecisions(const DatapathState& before, const DatapathState& after, const std::vector<IpAddr>& peers,
                  const std::vector<uint16_t>& ports, bool denials) {
    for (const auto& [ep, _] : after.endpoints) {
      if (!before.endpoints.contains(ep)) continue;
      for (Direction dir : {Direction::kEgress, Direction::kIngress}) {
        for (const IpAddr& peer : peers) {
          for (uint8_t proto : {uint8_t{6}, uint8_t{17}, uint8_t{132}}) {
            for (uint16_t port : ports) {
              const Decision d{ep, dir, peer, proto, port};
              const bool pass = passes(before, d);
              if (pass == passes(after, d) && (pass || denials)) by_ep_[ep].emplace_back(d, pass);
            }
          }
        }
      }
    }
  }

  // "" when every decision write w may have changed (a policy or endpoint
  // write changes only its endpoint's, an ipcache write only the peers in its
  // prefix, an inert write none) still has its verdict over `live`; else the
  // first that does not.
  // `evaluated` counts the decisions judged.
  std::string recheck(const DatapathState& live, const enforce::testing::FakeKernel::Write& w, size_t write_no,
                      size_t& evaluated) const {
    if (w.inert) return "";
    for (const auto& [ep, decisions] : by_ep_) {
      if (w.ep && *w.ep != ep) continue;
      for (const auto& [dec, pass] : decisions) {
        if (w.prefix && !w.prefix->contains(dec.peer)) continue;
        ++evaluated;
        if (passes(live, dec) == pass) continue;
        return "after write #" + std::to_string(write_no) + " (" + w.what + ") " + dec.str() +
               (pass ? " is dropped, though let through before and after" : " is let through, though denied before and after");
      }
    }
    return "";
  }

  [[nodiscard]] size_t size() const {
    size_t n = 0;
    for (const auto& [ep, d] : by_ep_) n += d.size();
    return n;
  }

 private:
  std::map<uint32_t, std::vector<std::pair<Decision, bool>>> by_ep_;
};

// The writes so far, one a line, for a failure message.
inline std::string trail(const std::vector<std::string>& writes) {
  std::string out;
  for (size_t i = 0; i < writes.size(); ++i) out += "  #" + std::to_string(i + 1) + " " + writes[i] + "\n";
  return out;
}

}  // namespace strand::policy::testing
