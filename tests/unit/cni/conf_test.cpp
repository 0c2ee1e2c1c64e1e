#include "cni/conf.h"

#include <gtest/gtest.h>

#include <string>

namespace strand::cni {
namespace {

using nlohmann::json;

json minimal() { return {{"cniVersion", "1.1.0"}, {"name", "strand-net"}, {"type", "strand"}}; }

TEST(Conf, MinimalGetsDefaults) {
  auto c = parse_netconf(minimal().dump());
  ASSERT_TRUE(c) << c.error().msg;
  EXPECT_EQ(c->cni_version, "1.1.0");
  EXPECT_EQ(c->name, "strand-net");
  EXPECT_EQ(c->type, "strand");
  EXPECT_TRUE(c->ipam.is_null());
  EXPECT_TRUE(c->dns.empty());
  EXPECT_FALSE(c->prev_result);
  EXPECT_FALSE(c->has_valid_attachments);
  EXPECT_EQ(c->mtu, 1500u);
  EXPECT_EQ(c->log_file, "");
  EXPECT_EQ(c->log_level, "info");
  EXPECT_TRUE(c->agent_required);
  EXPECT_EQ(c->agent_socket, "/run/strand/agent.sock");
  EXPECT_EQ(c->agent_timeout_ms, 2000u);
  EXPECT_EQ(c->state_dir, "/var/lib/strand/endpoints");
  EXPECT_EQ(c->raw, minimal());
}

TEST(Conf, ReadsEveryField) {
  const char* text = R"({
    "cniVersion": "1.0.0", "cniVersions": ["1.0.0", "1.1.0"],
    "name": "pods.v4-v6_1", "type": "strand",
    "ipam": {"type": "strand-ipam", "ranges": [[{"subnet": "10.244.1.0/24"}]], "dataDir": "/tmp/x"},
    "dns": {"nameservers": ["10.96.0.10"], "domain": "cluster.local", "search": ["svc.cluster.local"], "options": ["ndots:5"]},
    "capabilities": {"portMappings": true},
    "runtimeConfig": {"portMappings": [{"hostPort": 8080}]},
    "args": {"cni": {"labels": []}},
    "mtu": 1450, "logFile": "/var/log/strand/cni.log", "logLevel": "debug",
    "agentRequired": false, "agentSocket": "/tmp/agent.sock", "agentTimeoutMs": 500,
    "stateDir": "/tmp/state", "someOtherPluginKey": {"x": 1}
  })";
  auto c = parse_netconf(text);
  ASSERT_TRUE(c) << c.error().msg;
  EXPECT_EQ(c->cni_versions, (std::vector<std::string>{"1.0.0", "1.1.0"}));
  EXPECT_EQ(c->name, "pods.v4-v6_1");
  EXPECT_EQ(c->ipam["type"], "strand-ipam");
  EXPECT_EQ(c->ipam["dataDir"], "/tmp/x");
  EXPECT_EQ(c->ipam["ranges"][0][0]["subnet"], "10.244.1.0/24");
  EXPECT_EQ(c->dns.nameservers, (std::vector<std::string>{"10.96.0.10"}));
  EXPECT_EQ(c->dns.domain, "cluster.local");
  EXPECT_EQ(c->dns.search, (std::vector<std::string>{"svc.cluster.local"}));
  EXPECT_EQ(c->dns.options, (std::vector<std::string>{"ndots:5"}));
  EXPECT_EQ(c->capabilities, json({{"portMappings", true}}));
  EXPECT_EQ(c->runtime_config["portMappings"][0]["hostPort"], 8080);
  EXPECT_TRUE(c->args.contains("cni"));
  EXPECT_EQ(c->mtu, 1450u);
  EXPECT_EQ(c->log_file, "/var/log/strand/cni.log");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_FALSE(c->agent_required);
  EXPECT_EQ(c->agent_socket, "/tmp/agent.sock");
  EXPECT_EQ(c->agent_timeout_ms, 500u);
  EXPECT_EQ(c->state_dir, "/tmp/state");
  // The raw document is kept whole, unknown keys included, for delegated IPAM.
  EXPECT_EQ(c->raw, json::parse(text));
}

TEST(Conf, NullMeansAbsent) {
  json j = minimal();
  j["mtu"] = nullptr;
  j["ipam"] = nullptr;
  j["logLevel"] = nullptr;
  auto c = netconf_from_json(j);
  ASSERT_TRUE(c) << c.error().msg;
  EXPECT_EQ(c->mtu, 1500u);
  EXPECT_TRUE(c->ipam.is_null());
  EXPECT_EQ(c->log_level, "info");
}

TEST(Conf, MtuBounds) {
  for (int ok : {68, 1500, 9000, 65535}) {
    json j = minimal();
    j["mtu"] = ok;
    auto c = netconf_from_json(j);
    ASSERT_TRUE(c) << ok;
    EXPECT_EQ(c->mtu, static_cast<uint32_t>(ok));
  }
}

struct ConfCase {
  const char* name;
  std::string text;
  int code;
  const char* message;  // substring
};

std::string with(const char* key, const json& value) {
  json j = minimal();
  j[key] = value;
  return j.dump();
}

std::string without(const char* key) {
  json j = minimal();
  j.erase(key);
  return j.dump();
}

TEST(Conf, ErrorPaths) {
  const ConfCase cases[] = {
      {"not json", "{\"cniVersion\": ", 6, "network configuration is not valid JSON: [json.exception.parse_error"},
      {"empty input", "", 6, "not valid JSON"},
      {"trailing garbage", minimal().dump() + "x", 6, "not valid JSON"},
      {"array", "[1,2]", 6, "network configuration must be a JSON object"},
      {"no cniVersion", without("cniVersion"), 7, "field \"cniVersion\" is required"},
      {"empty cniVersion", with("cniVersion", ""), 7, "field \"cniVersion\" is required"},
      {"numeric cniVersion", with("cniVersion", 1.0), 7, "field \"cniVersion\" must be a string"},
      {"old cniVersion", with("cniVersion", "0.2.0"), 1,
       "cniVersion \"0.2.0\" is not supported (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)"},
      {"future cniVersion", with("cniVersion", "1.2.0"), 1, "cniVersion \"1.2.0\" is not supported"},
      {"cniVersions not a list", with("cniVersions", "1.0.0"), 7, "field \"cniVersions\" must be a list of strings"},
      {"cniVersions with number", with("cniVersions", json::array({"1.0.0", 1})), 7,
       "field \"cniVersions\" must be a list of strings"},
      {"no name", without("name"), 7, "field \"name\" is required"},
      {"empty name", with("name", ""), 7, "field \"name\" is required"},
      {"name with space", with("name", "my net"), 7, "field \"name\": \"my net\" is invalid"},
      {"name starts with dot", with("name", ".net"), 7, "field \"name\": \".net\" is invalid"},
      {"numeric name", with("name", 5), 7, "field \"name\" must be a string"},
      {"no type", without("type"), 7, "field \"type\" is required"},
      {"numeric type", with("type", 5), 7, "field \"type\" must be a string"},
      {"ipam not object", with("ipam", "strand-ipam"), 7, "field \"ipam\" must be an object"},
      {"capabilities list", with("capabilities", json::array()), 7, "field \"capabilities\" must be an object"},
      {"runtimeConfig number", with("runtimeConfig", 1), 7, "field \"runtimeConfig\" must be an object"},
      {"args string", with("args", "x"), 7, "field \"args\" must be an object"},
      {"dns list", with("dns", json::array()), 7, "field \"dns\" must be an object"},
      {"dns nameservers string", with("dns", {{"nameservers", "10.0.0.1"}}), 7,
       "field \"dns.nameservers\" must be a list of strings"},
      {"dns domain list", with("dns", {{"domain", json::array()}}), 7, "field \"dns.domain\" must be a string"},
      {"mtu too small", with("mtu", 67), 7, "field \"mtu\" must be between 68 and 65535, got 67"},
      {"mtu too big", with("mtu", 65536), 7, "field \"mtu\" must be between 68 and 65535, got 65536"},
      {"mtu negative", with("mtu", -1), 7, "got -1"},
      {"mtu string", with("mtu", "1500"), 7, "field \"mtu\" must be an integer"},
      {"mtu fraction", with("mtu", 1500.5), 7, "field \"mtu\" must be an integer"},
      {"mtu float", with("mtu", 1500.0), 7, "field \"mtu\" must be an integer"},
      {"logFile number", with("logFile", 1), 7, "field \"logFile\" must be a string"},
      {"logLevel unknown", with("logLevel", "verbose"), 7,
       "field \"logLevel\": \"verbose\" is not one of trace, debug, info, warn, error"},
      {"logLevel number", with("logLevel", 3), 7, "field \"logLevel\" must be a string"},
      {"agentRequired string", with("agentRequired", "yes"), 7, "field \"agentRequired\" must be true or false"},
      {"agentRequired number", with("agentRequired", 1), 7, "field \"agentRequired\" must be true or false"},
      {"agentSocket empty", with("agentSocket", ""), 7, "field \"agentSocket\" is required"},
      {"agentTimeoutMs zero", with("agentTimeoutMs", 0), 7, "field \"agentTimeoutMs\" must be between 1 and 120000"},
      {"agentTimeoutMs huge", with("agentTimeoutMs", 120001), 7, "got 120001"},
      {"stateDir empty", with("stateDir", ""), 7, "field \"stateDir\" is required"},
      {"attachments object", with("cni.dev/valid-attachments", json::object()), 7,
       "field \"cni.dev/valid-attachments\" must be a list"},
      {"attachment not object", with("cni.dev/valid-attachments", json::array({1})), 7,
       "field \"cni.dev/valid-attachments[0]\" must be an object"},
      {"attachment without ifname", with("cni.dev/valid-attachments", json::array({{{"containerID", "c1"}}})), 7,
       "field \"cni.dev/valid-attachments[0].ifname\" is required"},
      {"attachment numeric id",
       with("cni.dev/valid-attachments", json::array({{{"containerID", "c1"}, {"ifname", "eth0"}},
                                                      {{"containerID", 7}, {"ifname", "eth0"}}})),
       7, "field \"cni.dev/valid-attachments[1].containerID\" must be a string"},
      {"prevResult not object", with("prevResult", "x"), 7, "field \"prevResult\" must be an object"},
      {"prevResult bad address", with("prevResult", {{"ips", json::array({{{"address", "nope"}}})}}), 6,
       "prevResult: field \"ips[0].address\": \"nope\" is not an IP address with a prefix length"},
      {"prevResult unknown version", with("prevResult", {{"cniVersion", "0.5.0"}}), 1,
       "prevResult: result cniVersion \"0.5.0\" is not supported"},
  };
  for (const auto& c : cases) {
    auto conf = parse_netconf(c.text);
    ASSERT_FALSE(conf) << c.name;
    EXPECT_EQ(conf.error().code, c.code) << c.name << ": " << conf.error().msg;
    EXPECT_NE(conf.error().msg.find(c.message), std::string::npos) << c.name << ": " << conf.error().msg;
  }
}

TEST(Conf, ValidAttachments) {
  json j = minimal();
  j["cni.dev/valid-attachments"] = json::array(
      {{{"containerID", "c1"}, {"ifname", "eth0"}}, {{"containerID", "c2"}, {"ifname", "net1"}, {"extra", 1}}});
  auto c = netconf_from_json(j);
  ASSERT_TRUE(c) << c.error().msg;
  EXPECT_TRUE(c->has_valid_attachments);
  EXPECT_EQ(c->valid_attachments, (std::vector<Attachment>{{"c1", "eth0"}, {"c2", "net1"}}));

  j["cni.dev/valid-attachments"] = json::array();
  c = netconf_from_json(j);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->has_valid_attachments);
  EXPECT_TRUE(c->valid_attachments.empty());

  // The key libcni also writes, from the first draft of the spec.
  j.erase("cni.dev/valid-attachments");
  j["cni.dev/attachments"] = json::array({{{"containerID", "c3"}, {"ifname", "eth0"}}});
  c = netconf_from_json(j);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->valid_attachments, (std::vector<Attachment>{{"c3", "eth0"}}));
}

TEST(Conf, PrevResultTakesConfVersionWhenItHasNone) {
  json j = minimal();
  j["cniVersion"] = "0.4.0";
  j["prevResult"] = json::parse(R"({
    "interfaces": [{"name": "eth0", "sandbox": "/var/run/netns/p"}],
    "ips": [{"version": "4", "address": "10.244.1.5/24", "gateway": "169.254.1.1", "interface": 0}],
    "routes": [{"dst": "0.0.0.0/0", "gw": "169.254.1.1"}]
  })");
  auto c = netconf_from_json(j);
  ASSERT_TRUE(c) << c.error().msg;
  ASSERT_TRUE(c->prev_result);
  EXPECT_EQ(c->prev_result->cni_version, "0.4.0");
  ASSERT_EQ(c->prev_result->interfaces.size(), 1u);
  EXPECT_EQ(c->prev_result->interfaces[0].sandbox, "/var/run/netns/p");
  ASSERT_EQ(c->prev_result->ips.size(), 1u);
  EXPECT_EQ(c->prev_result->ips[0].address.str(), "10.244.1.5/24");
  EXPECT_EQ(c->prev_result->ips[0].interface, 0);
  ASSERT_EQ(c->prev_result->routes.size(), 1u);
  EXPECT_EQ(c->prev_result->routes[0].gw->str(), "169.254.1.1");

  // Its own cniVersion wins when present.
  j["cniVersion"] = "1.1.0";
  j["prevResult"] = {{"cniVersion", "1.0.0"}, {"ips", json::array({{{"address", "fd00::5/64"}}})}};
  c = netconf_from_json(j);
  ASSERT_TRUE(c) << c.error().msg;
  EXPECT_EQ(c->prev_result->cni_version, "1.0.0");
  EXPECT_EQ(c->prev_result->ips[0].address.str(), "fd00::5/64");
}

TEST(Conf, NetworkNameRule) {
  EXPECT_TRUE(valid_network_name("a"));
  EXPECT_TRUE(valid_network_name("k8s-pod-network.v1_2"));
  EXPECT_FALSE(valid_network_name(""));
  EXPECT_FALSE(valid_network_name("_x"));
  EXPECT_FALSE(valid_network_name("a/b"));
}

}  // namespace
}  // namespace strand::cni
