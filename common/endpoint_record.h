#pragma once
// EndpointRecord: what the CNI leaves in the node's state directory for every
// attachment, one JSON file each, written atomically (temp file + rename). The
// agent reads the same files at start, so endpoints survive agent restarts.
// A record is written "pending" before anything is created in the kernel and
// "ready" at the end of ADD, so DEL and GC always find what an interrupted ADD
// left behind.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/ip.h"

namespace strand {

struct EndpointRecord {
  std::string container_id;
  std::string ifname;
  std::string netns;
  std::string network;          // the network config's name
  std::string host_ifname;
  int host_ifindex = 0;
  int pod_ifindex = 0;
  std::string host_mac;
  std::string pod_mac;
  uint32_t mtu = 0;
  std::vector<IpPrefix> ips;    // the pod's addresses, /32 and /128
  std::string pod_namespace;    // K8S_POD_NAMESPACE
  std::string pod_name;         // K8S_POD_NAME
  std::string pod_uid;          // K8S_POD_UID
  std::string state = "pending";  // "pending" until ADD finishes, then "ready"
  uint64_t created_ms = 0;      // unix time in ms

  bool operator==(const EndpointRecord&) const = default;
};

[[nodiscard]] std::string encode_endpoint_record(const EndpointRecord& r);
[[nodiscard]] Result<EndpointRecord> decode_endpoint_record(const std::string& text);

class EndpointStore {
 public:
  explicit EndpointStore(std::string dir) : dir_(std::move(dir)) {}

  // Atomically creates or replaces the record (creates the directory). Inodes
  // are recycled through spare_dir() (common/spare_files.h).
  [[nodiscard]] Status write(const EndpointRecord& r) const;
  // The record of an attachment, or nullopt when there is none.
  [[nodiscard]] Result<std::optional<EndpointRecord>> read(const std::string& container_id,
                                                            const std::string& ifname) const;
  // Removes the record and the temp files writers of it left when killed;
  // success when it is already gone.
  [[nodiscard]] Status remove(const std::string& container_id, const std::string& ifname) const;
  // Every record in the directory (unreadable ones are reported in `bad`).
  [[nodiscard]] Result<std::vector<EndpointRecord>> list(std::vector<std::string>* bad = nullptr) const;

  [[nodiscard]] std::string path_of(const std::string& container_id, const std::string& ifname) const;
  [[nodiscard]] const std::string& dir() const { return dir_; }
  // Where replaced and removed records' inodes wait to be reused.
  [[nodiscard]] std::string spare_dir() const;

 private:
  std::string dir_;
};

}  // namespace strand
