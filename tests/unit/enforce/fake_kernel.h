#pragma once
// A fake kernel for the enforce tests: the policy, ipcache, endpoints and
// policy_hits maps as bytes, behind bpf_map_update_elem,
// bpf_map_delete_elem, bpf_map_get_next_key and bpf_map_lookup_elem.
//
// The seam is the link: fake_kernel.cpp defines those four functions itself,
// so the agent's calls (agent/enforce/*.cpp) resolve to them instead of
// libbpf's (linked as a shared library; the executable's definitions win).
// No root, no BPF: the fds are fake numbers the fake kernel knows. Every key
// written is decoded back (map_writer's decoders) into `live`, the maps as a
// DatapathState at this moment, and a hook runs after every single write.
#include <bpf/bpf.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/enforce/map_writer.h"
#include "agent/policy/compile.h"

namespace strand::enforce::testing {

constexpr int kPolicyFd = 901;
constexpr int kIpcacheFd = 902;
constexpr int kEndpointsFd = 903;
constexpr int kHitsFd = 904;
inline const MapFds kFakeFds{kPolicyFd, kIpcacheFd, kEndpointsFd, kHitsFd};

using Bytes = std::vector<uint8_t>;

std::string key_str(const policy::PolicyKey& k);

struct FakeKernel {
  // What a write changed: the decisions of one endpoint, or of the peers in one prefix.
  struct Write {
    std::string what;  // "policy upsert ep 1 ...", for the failure message
    std::optional<uint32_t> ep;
    std::optional<IpPrefix> prefix;
    // Changed nothing a decision reads: a policy entry's rule id, an
    // endpoint entry's identity or revision.
    bool inert = false;
  };

  std::map<int, std::map<Bytes, Bytes>> maps;     // fd -> key -> value, as written
  policy::DatapathState live;                     // the same, decoded
  std::vector<std::string> writes;                // in order
  std::function<void(const Write&)> after_write;  // the check, after every write
  std::string error;                              // a write the fake could not decode

  // Fills the maps with s as the writer would have written it (no hook).
  void load(const policy::DatapathState& s);

  int update(int fd, const void* key, const void* value);
  int remove(int fd, const void* key);
  int next_key(int fd, const void* key, void* next) const;
  int lookup(int fd, const void* key, void* value) const;

 private:
  int fail(const std::string& what);
  void wrote(const Write& w);
};

// The kernel the bpf_map_* functions of this binary act on (nullptr: EBADF).
extern FakeKernel* g_kernel;

}  // namespace strand::enforce::testing
