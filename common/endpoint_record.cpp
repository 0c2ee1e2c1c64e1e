#include "common/endpoint_record.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/fd.h"
#include "common/fs.h"
#include "common/spare_files.h"

namespace strand {

namespace {
constexpr std::string_view kSuffix = ".json";
}

std::string encode_endpoint_record(const EndpointRecord& r) {
  nlohmann::json ips = nlohmann::json::array();
  for (const auto& ip : r.ips) ips.push_back(ip.str());
  nlohmann::json j = {
      {"containerID", r.container_id}, {"ifname", r.ifname},       {"netns", r.netns},
      {"network", r.network},          {"hostIfname", r.host_ifname}, {"hostIfindex", r.host_ifindex},
      {"podIfindex", r.pod_ifindex},   {"hostMac", r.host_mac},    {"podMac", r.pod_mac},
      {"mtu", r.mtu},                  {"ips", ips},               {"podNamespace", r.pod_namespace},
      {"podName", r.pod_name},         {"podUID", r.pod_uid},      {"state", r.state},
      {"createdMs", r.created_ms},
  };
  return j.dump() + "\n";
}

Result<EndpointRecord> decode_endpoint_record(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("decode endpoint record", EBADMSG, "not a JSON object");
  EndpointRecord r;
  try {
    r.container_id = j.at("containerID").get<std::string>();
    r.ifname = j.at("ifname").get<std::string>();
    r.netns = j.value("netns", "");
    r.network = j.value("network", "");
    r.host_ifname = j.value("hostIfname", "");
    r.host_ifindex = j.value("hostIfindex", 0);
    r.pod_ifindex = j.value("podIfindex", 0);
    r.host_mac = j.value("hostMac", "");
    r.pod_mac = j.value("podMac", "");
    r.mtu = j.value("mtu", 0u);
    for (const auto& ip : j.value("ips", nlohmann::json::array())) {
      auto p = IpPrefix::parse(ip.get<std::string>());
      if (!p) return fail("decode endpoint record", EBADMSG, "bad ip: " + p.error().context);
      r.ips.push_back(*p);
    }
    r.pod_namespace = j.value("podNamespace", "");
    r.pod_name = j.value("podName", "");
    r.pod_uid = j.value("podUID", "");
    r.state = j.value("state", "pending");
    r.created_ms = j.value("createdMs", uint64_t{0});
  } catch (const nlohmann::json::exception& e) {
    return fail("decode endpoint record", EBADMSG, e.what());
  }
  return r;
}

std::string EndpointStore::spare_dir() const { return dir_ + "/spare"; }

std::string EndpointStore::path_of(const std::string& container_id, const std::string& ifname) const {
  return dir_ + "/" + container_id + "_" + ifname + std::string(kSuffix);
}

Status EndpointStore::write(const EndpointRecord& r) const {
  if (auto st = make_dirs(dir_); !st) return st;
  return write_file_recycled(path_of(r.container_id, r.ifname), encode_endpoint_record(r), spare_dir());
}

Result<std::optional<EndpointRecord>> EndpointStore::read(const std::string& container_id,
                                                           const std::string& ifname) const {
  auto path = path_of(container_id, ifname);
  auto text = read_file(path);
  if (!text) {
    if (text.error().err == ENOENT) return std::optional<EndpointRecord>{};
    return std::unexpected(text.error());
  }
  auto rec = decode_endpoint_record(*text);
  if (!rec) return std::unexpected(with_context(rec.error(), path));
  return std::optional<EndpointRecord>(std::move(*rec));
}

Status EndpointStore::remove(const std::string& container_id, const std::string& ifname) const {
  auto path = path_of(container_id, ifname);
  // What a writer of this record killed mid-write left; the record goes last,
  // so a DEL interrupted here still finds it.
  if (auto st = remove_dead_temporaries(dir_, path.substr(dir_.size() + 1)); !st) return st;
  return recycle_file(path, spare_dir());
}

Result<std::vector<EndpointRecord>> EndpointStore::list(std::vector<std::string>* bad) const {
  std::vector<EndpointRecord> out;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return fail_errno("opendir", dir_);
  }
  std::vector<std::string> names;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > kSuffix.size() && name.ends_with(kSuffix) && name[0] != '.') names.push_back(name);
  }
  ::closedir(d);
  for (const auto& name : names) {
    auto text = read_file(dir_ + "/" + name);
    if (!text) {
      if (text.error().err != ENOENT && bad != nullptr) bad->push_back(name);
      continue;
    }
    auto rec = decode_endpoint_record(*text);
    if (!rec) {
      if (bad != nullptr) bad->push_back(name);
      continue;
    }
    out.push_back(std::move(*rec));
  }
  return out;
}

}  // namespace strand
