#include "cni/names.h"

#include <cstdint>
#include <cstdio>

namespace strand::cni {

std::string host_ifname(std::string_view container_id, std::string_view ifname) {
  // FNV-1a 64 over "id/ifname"; 48 bits keep the name within IFNAMSIZ (15).
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
  };
  mix(container_id);
  mix("/");
  mix(ifname);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%.*s%012llx", static_cast<int>(kHostIfPrefix.size()), kHostIfPrefix.data(),
                static_cast<unsigned long long>(h & 0xffffffffffffULL));
  return buf;
}

}  // namespace strand::cni
