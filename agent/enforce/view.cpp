#include "agent/enforce/view.h"

#include <charconv>

#include "agent/enforce/host_addrs.h"
#include "agent/model/policies_json.h"

namespace strand::enforce {

using nlohmann::json;

namespace {

std::string dir_name(policy::Direction d) { return d == policy::Direction::kEgress ? "egress" : "ingress"; }

policy::Direction dir_of(uint8_t dir) {
  return dir == STRAND_DIR_EGRESS ? policy::Direction::kEgress : policy::Direction::kIngress;
}

}  // namespace

json policies_json(const model::Model& model, const Enforcer& enf) {
  json body = model::policies_json(model);
  const EnforcerStats st = enf.stats();
  enf.read([&](const policy::Compiler& c, const std::map<uint32_t, policy::LocalEndpoint>& eps) {
    for (auto& item : body["items"]) {
      const std::string id = item["namespace"].get<std::string>() + "/" + item["name"].get<std::string>();
      const policy::PolicyStatus ps = c.policy_status(id);
      item["enforced"] = ps.enforced;
      if (ps.enforced) {
        item.erase("reason");
      } else {
        item["reason"] = ps.reason;
      }
      // This node's endpoints the policy isolates, per direction.
      json local = json::array();
      for (const auto& [ep_id, ep] : eps) {
        json dirs = json::array();
        for (auto d : {policy::Direction::kIngress, policy::Direction::kEgress}) {
          const auto by = c.isolated_by(ep_id, d);
          if (std::ranges::find(by, id) != by.end()) dirs.push_back(dir_name(d));
        }
        if (!dirs.empty()) local.push_back({{"namespace", ep.ns}, {"pod", ep.name}, {"directions", std::move(dirs)}});
      }
      item["endpoints"] = std::move(local);
      // Rule ids in spec order per direction, matched to the model's rule list.
      const auto ids = c.rules_of(id);
      for (auto& r : item["rules"]) {
        r["ruleId"] = nullptr;
        r["hits"] = nullptr;
        for (uint32_t rid : ids) {
          auto info = c.rule(rid);
          if (!info || dir_name(info->dir) != r["direction"].get<std::string>() ||
              info->index != r["index"].get<size_t>()) {
            continue;
          }
          r["ruleId"] = rid;
          if (auto h = read_hits(enf.hits_fd(), rid)) r["hits"] = *h;
          break;
        }
      }
    }
    return 0;
  });
  json isolated = nullptr;
  if (auto h = read_hits(enf.hits_fd(), STRAND_RULE_ISOLATED)) isolated = *h;
  body["isolationDenies"] = isolated;
  body["generation"] = st.generation;
  body["modelVersion"] = model.version();
  body["appliedVersion"] = st.applied_version;
  return body;
}

json policies_summary_json(const model::Model& model, const Enforcer& enf) {
  const EnforcerStats st = enf.stats();
  return {{"generation", st.generation}, {"modelVersion", model.version()}, {"appliedVersion", st.applied_version}};
}

json rule_json(const Enforcer& enf, uint32_t rule_id, uint32_t ep_id, uint8_t dir) {
  json j = {{"ruleId", rule_id}};
  switch (rule_id) {
    case STRAND_RULE_NONE:
      j["verdict"] = "not-isolated";
      return j;
    case STRAND_RULE_HOST:
      j["verdict"] = "host";
      return j;
    case STRAND_RULE_RELATED:
      j["verdict"] = "related";
      return j;
    case STRAND_RULE_ISOLATED: {
      j["verdict"] = "isolated";
      j["isolatedBy"] = enf.read([&](const policy::Compiler& c, const auto&) { return c.isolated_by(ep_id, dir_of(dir)); });
      return j;
    }
    default:
      break;
  }
  auto info = enf.read([&](const policy::Compiler& c, const auto&) { return c.rule(rule_id); });
  j["verdict"] = "allowed";
  if (info) {
    j["policy"] = info->policy;
    j["direction"] = dir_name(info->dir);
    j["index"] = info->index;
  } else {
    j["policy"] = nullptr;  // the rule went with its policy since
  }
  return j;
}

Result<std::pair<uint16_t, policy::Protocol>> parse_port_proto(std::string_view text) {
  std::string_view port = text;
  std::string_view proto = "TCP";
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    port = text.substr(0, slash);
    proto = text.substr(slash + 1);
  }
  unsigned v = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || v == 0 || v > 65535) {
    return fail("parse port", EINVAL, "\"" + std::string(text) + "\": want PORT or PORT/PROTO, PORT 1..65535");
  }
  std::string up(proto);
  for (auto& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  policy::Protocol p{};
  if (up == "TCP") {
    p = policy::Protocol::kTcp;
  } else if (up == "UDP") {
    p = policy::Protocol::kUdp;
  } else if (up == "SCTP") {
    p = policy::Protocol::kSctp;
  } else {
    return fail("parse port", EINVAL, "\"" + std::string(text) + "\": protocol must be TCP, UDP or SCTP");
  }
  return std::pair{static_cast<uint16_t>(v), p};
}

Result<policy::Endpoint> parse_endpoint(std::string_view text) {
  if (auto ip = IpAddr::parse(text)) return policy::Endpoint{*ip};
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size() ||
      text.find('/', slash + 1) != std::string_view::npos) {
    return fail("parse endpoint", EINVAL, "\"" + std::string(text) + "\": want NAMESPACE/POD or an IP address");
  }
  return policy::Endpoint{policy::PodRef{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))}};
}

namespace {

json side_json(const policy::SideVerdict& s, const policy::Compiler* c, policy::Direction dir) {
  json j = {{"allowed", s.allowed}, {"isolatedBy", s.isolated_by}, {"reason", s.reason}};
  json ne = json::array();
  for (const auto& n : s.not_enforced) ne.push_back({{"policy", n.policy}, {"reason", n.reason}});
  j["notEnforced"] = std::move(ne);
  if (s.allowed_by) {
    json rule = {{"policy", s.allowed_by->policy}, {"direction", dir_name(dir)}, {"index", s.allowed_by->index}};
    rule["ruleId"] = nullptr;
    if (c != nullptr) {
      for (uint32_t rid : c->rules_of(s.allowed_by->policy)) {
        auto info = c->rule(rid);
        if (info && info->dir == dir && info->index == s.allowed_by->index) rule["ruleId"] = rid;
      }
    }
    j["allowedBy"] = std::move(rule);
  } else {
    j["allowedBy"] = nullptr;
  }
  return j;
}

}  // namespace

Result<json> why_answer(policy::Cluster cluster, const policy::Compiler* c, const WhyQuery& q) {
  auto from = parse_endpoint(q.from);
  if (!from) return std::unexpected(from.error());
  auto to = parse_endpoint(q.to);
  if (!to) return std::unexpected(to.error());
  for (const auto* e : {&*from, &*to}) {
    if (const auto* ref = std::get_if<policy::PodRef>(e); ref && cluster.find_pod(ref->ns, ref->name) == nullptr) {
      return fail("why", ENOENT, "no pod " + ref->ns + "/" + ref->name + " in the agent's model");
    }
  }
  if (c != nullptr) {
    // Policies the compiler kept out (a datapath limit) fail closed there:
    // judged the same way. One it has not seen yet is not in the datapath.
    const auto statuses = c->policy_statuses();
    for (auto& np : cluster.policies) {
      auto it = statuses.find(np.id());
      if (it != statuses.end() && !it->second.enforced && np.not_enforced.empty()) np.not_enforced = it->second.reason;
    }
  }
  const policy::Verdict v = policy::evaluate(cluster, *from, *to, q.port, q.proto);
  return json{{"from", q.from},
              {"to", q.to},
              {"port", q.port},
              {"protocol", std::string(policy::protocol_name(q.proto))},
              {"allowed", v.allowed},
              {"reason", v.reason},
              {"egress", side_json(v.egress, c, policy::Direction::kEgress)},
              {"ingress", side_json(v.ingress, c, policy::Direction::kIngress)},
              {"enforcing", c != nullptr}};
}

Result<json> why_json(const model::Model& model, const Enforcer* enf, const WhyQuery& q) {
  policy::Cluster cluster = model.cluster();
  // The datapath exempts this node only (identity HOST), so the answer does too.
  auto hosts = host_addresses();
  if (!hosts) return std::unexpected(hosts.error());
  cluster.node_ips = *hosts;
  if (enf == nullptr) return why_answer(std::move(cluster), nullptr, q);
  return enf->read([&](const policy::Compiler& c, const auto&) { return why_answer(std::move(cluster), &c, q); });
}

}  // namespace strand::enforce
