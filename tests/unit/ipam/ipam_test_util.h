#pragma once
// Helpers for the strand-ipam tests: a temporary data directory removed on
// destruction, and requests in the shape the plugin builds them.
#include <stdlib.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cni/ipam/ipam.h"

namespace strand::cni::ipam::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = base() + "/strand-ipam-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  // $STRAND_IPAM_TEST_DIR, else /tmp.
  static std::string base() {
    const char* env = ::getenv("STRAND_IPAM_TEST_DIR");
    return env != nullptr && *env != '\0' ? env : "/tmp";
  }
  std::string path_;
};

inline constexpr const char* kNetwork = "testnet";

// netconf {"name": testnet, "ipam": ipam + dataDir}.
inline Request request(const std::string& data_dir, nlohmann::json ipam, const std::string& container_id,
                       const std::string& ifname = "eth0") {
  ipam["type"] = "strand-ipam";
  ipam["dataDir"] = data_dir;
  Request r;
  r.container_id = container_id;
  r.ifname = ifname;
  r.netns = "/run/netns/test";
  r.netconf = {{"cniVersion", "1.1.0"}, {"name", kNetwork}, {"type", "strand"}, {"ipam", std::move(ipam)}};
  return r;
}

// ranges: [[{subnet, rangeStart?, rangeEnd?}]]
inline nlohmann::json one_range(const std::string& subnet, const std::string& start = "", const std::string& end = "") {
  nlohmann::json r = {{"subnet", subnet}};
  if (!start.empty()) r["rangeStart"] = start;
  if (!end.empty()) r["rangeEnd"] = end;
  return {{"ranges", nlohmann::json::array({nlohmann::json::array({r})})}};
}

inline std::string net_dir(const std::string& data_dir) { return data_dir + "/" + kNetwork; }

}  // namespace strand::cni::ipam::testing
