#include "tests/unit/enforce/fake_kernel.h"

#include <cerrno>
#include <cstring>

namespace strand::enforce::testing {

FakeKernel* g_kernel = nullptr;

namespace {

template <typename T>
Bytes bytes_of(const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  return {p, p + sizeof(T)};
}

// Key and value sizes of the fake maps, 0 for an unknown fd.
size_t key_size(int fd) {
  switch (fd) {
    case kPolicyFd: return sizeof(strand_policy_key);
    case kIpcacheFd: return sizeof(strand_lpm_key);
    case kEndpointsFd:
    case kHitsFd: return sizeof(uint32_t);
    default: return 0;
  }
}

size_t value_size(int fd) {
  switch (fd) {
    case kPolicyFd: return sizeof(strand_policy_value);
    case kIpcacheFd: return sizeof(strand_ipcache_value);
    case kEndpointsFd: return sizeof(strand_endpoint);
    default: return 0;
  }
}

template <typename T>
T as(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

std::string key_str(const policy::PolicyKey& k) {
  return "ep " + std::to_string(k.ep_id) + (k.dir == policy::Direction::kIngress ? " ingress" : " egress") +
         " identity " + std::to_string(k.remote_identity) + " proto " + std::to_string(k.proto) + " port " +
         std::to_string(k.port) + "/" + std::to_string(k.port_bits);
}

void FakeKernel::load(const policy::DatapathState& s) {
  for (const auto& [k, rule] : s.policy) {
    strand_policy_value v{};
    v.verdict = STRAND_VERDICT_ALLOW;
    v.rule_id = rule;
    maps[kPolicyFd][bytes_of(k.to_bpf())] = bytes_of(v);
  }
  for (const auto& [p, v] : s.ipcache) maps[kIpcacheFd][bytes_of(ipcache_key(p))] = bytes_of(ipcache_value(v));
  for (const auto& [ep, e] : s.endpoints) maps[kEndpointsFd][bytes_of(ep)] = bytes_of(endpoint_value(ep, e, 1));
  live = s;
}

int FakeKernel::fail(const std::string& what) {
  if (error.empty()) error = what;
  errno = EINVAL;
  return -1;
}

void FakeKernel::wrote(const Write& w) {
  writes.push_back(w.what);
  if (after_write) after_write(w);
}

int FakeKernel::update(int fd, const void* key, const void* value) {
  switch (fd) {
    case kPolicyFd: {
      auto pk = policy_key(as<strand_policy_key>(key));
      if (!pk) return fail("policy upsert of a key the writer does not make");
      maps[fd][bytes_of(as<strand_policy_key>(key))] = bytes_of(as<strand_policy_value>(value));
      const bool had = live.policy.contains(*pk);
      live.policy[*pk] = as<strand_policy_value>(value).rule_id;
      wrote({"policy upsert " + key_str(*pk), pk->ep_id, {}, had});
      return 0;
    }
    case kIpcacheFd: {
      auto p = ipcache_prefix(as<strand_lpm_key>(key));
      if (!p) return fail("ipcache upsert of a key the writer does not make");
      const auto v = as<strand_ipcache_value>(value);
      maps[fd][bytes_of(as<strand_lpm_key>(key))] = bytes_of(v);
      live.ipcache[*p] = policy::IpcacheValue{v.identity, v.cidr_identity};
      wrote({"ipcache upsert " + p->str(), {}, *p});
      return 0;
    }
    case kEndpointsFd: {
      const auto ep = as<uint32_t>(key);
      const auto v = as<strand_endpoint>(value);
      maps[fd][bytes_of(ep)] = bytes_of(v);
      auto it = live.endpoints.find(ep);
      const bool same_flags = it != live.endpoints.end() && it->second.flags == v.flags;
      live.endpoints[ep] = policy::EndpointState{v.identity, v.flags};
      wrote({"endpoint upsert " + std::to_string(ep), ep, {}, same_flags});
      return 0;
    }
    case kHitsFd:
      return 0;  // rule hit counters: no decision reads them
    default:
      return errno = EBADF, -1;
  }
}

int FakeKernel::remove(int fd, const void* key) {
  const size_t ks = key_size(fd);
  if (ks == 0 || fd == kHitsFd) return errno = EBADF, -1;
  const auto* b = static_cast<const uint8_t*>(key);
  if (maps[fd].erase(Bytes(b, b + ks)) == 0) return errno = ENOENT, -1;
  if (fd == kPolicyFd) {
    const auto pk = policy_key(as<strand_policy_key>(key));
    if (!pk) {  // a stray key: never in `live`
      wrote({"policy delete of a stray key", {}, {}, true});
      return 0;
    }
    live.policy.erase(*pk);
    wrote({"policy delete " + key_str(*pk), pk->ep_id, {}});
  } else if (fd == kIpcacheFd) {
    const auto p = ipcache_prefix(as<strand_lpm_key>(key));
    if (!p) {
      wrote({"ipcache delete of a stray key", {}, {}, true});
      return 0;
    }
    live.ipcache.erase(*p);
    wrote({"ipcache delete " + p->str(), {}, *p});
  } else {
    const auto ep = as<uint32_t>(key);
    live.endpoints.erase(ep);
    wrote({"endpoint delete " + std::to_string(ep), ep, {}});
  }
  return 0;
}

int FakeKernel::next_key(int fd, const void* key, void* next) const {
  const size_t ks = key_size(fd);
  auto m = maps.find(fd);
  if (ks == 0) return errno = EBADF, -1;
  if (m == maps.end()) return errno = ENOENT, -1;
  auto it = m->second.begin();
  if (key != nullptr) {
    const auto* b = static_cast<const uint8_t*>(key);
    it = m->second.upper_bound(Bytes(b, b + ks));
  }
  if (it == m->second.end()) return errno = ENOENT, -1;
  std::memcpy(next, it->first.data(), ks);
  return 0;
}

int FakeKernel::lookup(int fd, const void* key, void* value) const {
  const size_t ks = key_size(fd);
  auto m = maps.find(fd);
  if (ks == 0 || value_size(fd) == 0) return errno = EBADF, -1;
  if (m == maps.end()) return errno = ENOENT, -1;
  const auto* b = static_cast<const uint8_t*>(key);
  auto it = m->second.find(Bytes(b, b + ks));
  if (it == m->second.end()) return errno = ENOENT, -1;
  std::memcpy(value, it->second.data(), it->second.size());
  return 0;
}

}  // namespace strand::enforce::testing

using strand::enforce::testing::g_kernel;

extern "C" int bpf_map_update_elem(int fd, const void* key, const void* value, __u64 /*flags*/) {
  return g_kernel != nullptr ? g_kernel->update(fd, key, value) : (errno = EBADF, -1);
}

extern "C" int bpf_map_delete_elem(int fd, const void* key) {
  return g_kernel != nullptr ? g_kernel->remove(fd, key) : (errno = EBADF, -1);
}

extern "C" int bpf_map_get_next_key(int fd, const void* key, void* next_key) {
  return g_kernel != nullptr ? g_kernel->next_key(fd, key, next_key) : (errno = EBADF, -1);
}

extern "C" int bpf_map_lookup_elem(int fd, const void* key, void* value) {
  return g_kernel != nullptr ? g_kernel->lookup(fd, key, value) : (errno = EBADF, -1);
}
