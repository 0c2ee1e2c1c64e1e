#include "cni/ipam/delegate.h"

#include "cni/exec.h"
#include "cni/result_json.h"
#include "cni/version.h"

namespace strand::cni::ipam {

namespace {

std::vector<std::pair<std::string, std::string>> plugin_env(const char* command, const Request& req) {
  return {{"CNI_COMMAND", command},       {"CNI_CONTAINERID", req.container_id}, {"CNI_NETNS", req.netns},
          {"CNI_IFNAME", req.ifname},     {"CNI_ARGS", req.cni_args},            {"CNI_PATH", req.cni_path}};
}

}  // namespace

CniError decode_plugin_error(const std::string& plugin, int exit_code, const std::string& out, const std::string& err) {
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("code") && j["code"].is_number_integer()) {
    CniError e;
    e.code = j["code"].get<int>();
    e.msg = "ipam plugin " + plugin + ": " + j.value("msg", "");
    e.details = j.value("details", "");
    return e;
  }
  std::string why = !err.empty() ? err : out;
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  return CniError{static_cast<int>(Code::kIoFailure),
                  "ipam plugin " + plugin + " failed with exit code " + std::to_string(exit_code), why};
}

CniResult<std::string> DelegateIpam::run(const char* command, const Request& req, const nlohmann::json& conf) {
  auto path = find_plugin(type_, req.cni_path);
  if (!path) return cni_fail(Code::kInvalidConfig, "ipam plugin " + type_ + " not found", path.error().message());
  auto out = exec_plugin(*path, plugin_env(command, req), conf.dump());
  if (!out) return cni_fail(Code::kIoFailure, "ipam plugin " + type_ + " could not run", out.error().message());
  if (out->exit_code != 0) return std::unexpected(decode_plugin_error(type_, out->exit_code, out->out, out->err));
  return std::move(out->out);
}

bool DelegateIpam::delegate_supports(const Request& req, std::string_view version) {
  if (!versions_) {
    auto out = run("VERSION", req, nlohmann::json{{"cniVersion", req.netconf.value("cniVersion", "")}});
    versions_ = nlohmann::json::array();
    if (out) {
      auto j = nlohmann::json::parse(*out, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.contains("supportedVersions")) versions_ = j["supportedVersions"];
    }
  }
  for (const auto& v : *versions_) {
    if (v.is_string() && v.get<std::string>() == version) return true;
  }
  return false;
}

CniResult<Result> DelegateIpam::add(const Request& req) {
  auto out = run("ADD", req, req.netconf);
  if (!out) return std::unexpected(out.error());
  auto j = nlohmann::json::parse(*out, nullptr, false);
  if (j.is_discarded()) return cni_fail(Code::kDecodeFailure, "ipam plugin " + type_ + " printed a result that is not JSON", *out);
  auto result = decode_result(j);
  if (!result) {
    auto e = result.error();
    e.msg = "ipam plugin " + type_ + " result: " + e.msg;
    return std::unexpected(e);
  }
  if (result->ips.empty()) return cni_fail(Code::kIoFailure, "ipam plugin " + type_ + " returned no addresses");
  return result;
}

CniStatus DelegateIpam::del(const Request& req) {
  auto out = run("DEL", req, req.netconf);
  if (!out) return std::unexpected(out.error());
  return {};
}

CniStatus DelegateIpam::check(const Request& req) {
  std::string version = req.netconf.value("cniVersion", "");
  if (!supports_check(version)) return {};
  auto out = run("CHECK", req, req.netconf);
  if (!out) return std::unexpected(out.error());
  return {};
}

CniStatus DelegateIpam::gc(const Request& req, const std::vector<Attachment>& valid) {
  // A delegate older than 1.1.0 has no GC; the plugin releases its stale
  // attachments one by one with DEL instead (see the GC verb).
  if (!delegate_supports(req, "1.1.0")) return {};
  nlohmann::json conf = req.netconf;
  conf["cniVersion"] = "1.1.0";
  nlohmann::json list = nlohmann::json::array();
  for (const auto& a : valid) list.push_back({{"containerID", a.container_id}, {"ifname", a.ifname}});
  conf["cni.dev/valid-attachments"] = list;
  auto out = run("GC", req, conf);
  if (!out) return std::unexpected(out.error());
  return {};
}

CniStatus DelegateIpam::status(const Request& req) {
  if (!delegate_supports(req, "1.1.0")) return {};
  nlohmann::json conf = req.netconf;
  conf["cniVersion"] = "1.1.0";
  auto out = run("STATUS", req, conf);
  if (!out) return std::unexpected(out.error());
  return {};
}

}  // namespace strand::cni::ipam
