#pragma once
// DelegateIpam: any IPAM type other than strand-ipam, run by exec through
// CNI_PATH with the whole network config on stdin, as the spec requires.
#include <string>

#include "cni/ipam/ipam.h"

namespace strand::cni::ipam {

class DelegateIpam final : public Ipam {
 public:
  explicit DelegateIpam(std::string type) : type_(std::move(type)) {}
  [[nodiscard]] CniResult<Result> add(const Request& req) override;
  [[nodiscard]] CniStatus del(const Request& req) override;
  [[nodiscard]] CniStatus check(const Request& req) override;
  [[nodiscard]] CniStatus gc(const Request& req, const std::vector<Attachment>& valid) override;
  [[nodiscard]] CniStatus status(const Request& req) override;

 private:
  // Runs the delegate; on a non-zero exit, its error JSON becomes the CniError.
  [[nodiscard]] CniResult<std::string> run(const char* command, const Request& req, const nlohmann::json& conf);
  // Whether the delegate's VERSION lists `version` (asked once, then cached).
  [[nodiscard]] bool delegate_supports(const Request& req, std::string_view version);

  std::string type_;
  std::optional<nlohmann::json> versions_;
};

// The error a plugin printed (its code, msg, details), or an I/O error naming
// the plugin when the output is not error JSON.
[[nodiscard]] CniError decode_plugin_error(const std::string& plugin, int exit_code, const std::string& out,
                                           const std::string& err);

}  // namespace strand::cni::ipam
