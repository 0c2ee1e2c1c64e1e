#include "cni/handoff_wire.h"

namespace strand::cni {
namespace {

nlohmann::json encode_ns(const NsId& id) { return nlohmann::json::array({id.dev, id.ino}); }

bool decode_ns(const nlohmann::json& j, NsId& out) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number_unsigned() || !j[1].is_number_unsigned()) return false;
  out.dev = j[0].get<uint64_t>();
  out.ino = j[1].get<uint64_t>();
  return true;
}

}  // namespace

bool handoff_eligible(std::string_view command, std::string_view ipam_type, bool fault_injection) {
  if (fault_injection) return false;
  if (command != "ADD" && command != "DEL" && command != "CHECK" && command != "GC" && command != "STATUS") return false;
  return ipam_type == "strand-ipam";
}

nlohmann::json encode_handoff_request(const HandoffRequest& r) {
  nlohmann::json env = nlohmann::json::object();
  for (const auto& [k, v] : r.env) env[k] = v;
  return {{"op", "cni"}, {"env", std::move(env)}, {"conf", r.conf},
          {"netns", encode_ns(r.ns.net)}, {"mntns", encode_ns(r.ns.mnt)}};
}

strand::Result<HandoffRequest> decode_handoff_request(const nlohmann::json& j) {
  if (!j.is_object() || j.value("op", "") != "cni") return fail("cni handoff", EBADMSG, "op is not \"cni\"");
  HandoffRequest r;
  auto env = j.find("env");
  if (env == j.end() || !env->is_object()) return fail("cni handoff", EBADMSG, "env is not an object");
  for (const auto& [k, v] : env->items()) {
    if (!k.starts_with("CNI_") || !v.is_string()) return fail("cni handoff", EBADMSG, "env " + k + " is not a CNI_* string");
    r.env.emplace(k, v.get<std::string>());
  }
  auto conf = j.find("conf");
  if (conf == j.end() || !conf->is_string()) return fail("cni handoff", EBADMSG, "conf is not a string");
  r.conf = conf->get<std::string>();
  if (!j.contains("netns") || !decode_ns(j["netns"], r.ns.net)) return fail("cni handoff", EBADMSG, "netns is not [dev, ino]");
  if (!j.contains("mntns") || !decode_ns(j["mntns"], r.ns.mnt)) return fail("cni handoff", EBADMSG, "mntns is not [dev, ino]");
  return r;
}

nlohmann::json encode_handoff_reply(const Outcome& o) { return {{"ok", true}, {"exit", o.exit}, {"stdout", o.out}}; }

nlohmann::json encode_handoff_decline(const std::string& why) {
  return {{"ok", false}, {"declined", true}, {"error", why}};
}

HandoffReply decode_handoff_reply(const nlohmann::json& j) {
  HandoffReply r;
  if (j.is_object() && j.value("ok", false) && j.contains("exit") && j["exit"].is_number_integer() &&
      j.contains("stdout") && j["stdout"].is_string()) {
    r.outcome.exit = j["exit"].get<int>();
    r.outcome.out = j["stdout"].get<std::string>();
    return r;
  }
  r.declined = true;
  r.why = j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>()
                                                                         : "reply is not a verb's result";
  return r;
}

}  // namespace strand::cni
