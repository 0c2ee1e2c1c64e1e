// k8s-fake-apiserver DIR: the tests' API server as a process, for trying the
// agent by hand. Writes DIR/kubeconfig (CA data + token), serves a namespace,
// a pod, a node and a policy, and reads commands from stdin until EOF:
//   pod NS NAME IP      add (or replace) a pod
//   del NS NAME         delete a pod
//   close               end every watch
//   gone                compact and end every watch (clients relist)
#include <csignal>
#include <iostream>
#include <sstream>

#include "agent/sources/k8s/base64.h"
#include "common/fs.h"
#include "fake_apiserver.h"
#include "test_pki.h"

using namespace strand::sources::k8s::testing;
using nlohmann::json;

namespace {
std::string b64(const std::string& s) {
  static constexpr char kA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < s.size(); i += 3) {
    uint32_t v = uint8_t(s[i]) << 16;
    if (i + 1 < s.size()) v |= uint8_t(s[i + 1]) << 8;
    if (i + 2 < s.size()) v |= uint8_t(s[i + 2]);
    out.push_back(kA[(v >> 18) & 63]);
    out.push_back(kA[(v >> 12) & 63]);
    out.push_back(i + 1 < s.size() ? kA[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < s.size() ? kA[v & 63] : '=');
  }
  return out;
}
json pod(const std::string& ns, const std::string& name, const std::string& ip) {
  return {{"kind", "Pod"}, {"apiVersion", "v1"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"uid", "uid-" + name}, {"labels", {{"app", name}}}}},
          {"spec", {{"nodeName", "node-1"}, {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}},
          {"status", {{"podIP", ip}, {"podIPs", {{{"ip", ip}}}}}}};
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: k8s-fake-apiserver DIR\n";
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  const Pki pki = make_pki();
  FakeApiServerOptions o;
  o.cert_pem = pki.server.cert_pem;
  o.key_pem = pki.server.key_pem;
  FakeApiServer s(o);
  if (!s.start()) return 1;
  s.add(kNamespaces, {{"kind", "Namespace"}, {"apiVersion", "v1"}, {"metadata", {{"name", "x"}}}});
  s.add(kNodes, {{"kind", "Node"}, {"apiVersion", "v1"}, {"metadata", {{"name", "node-1"}}},
                 {"spec", {{"podCIDRs", {"10.1.0.0/24"}}}},
                 {"status", {{"addresses", {{{"type", "InternalIP"}, {"address", "192.168.0.1"}}}}}}});
  s.add(kPods, pod("x", "a", "10.1.0.2"));
  s.add(kPolicies, {{"kind", "NetworkPolicy"}, {"apiVersion", "networking.k8s.io/v1"},
                    {"metadata", {{"name", "deny-all"}, {"namespace", "x"}}},
                    {"spec", {{"podSelector", json::object()}, {"policyTypes", {"Ingress"}}}}});
  const std::string kc = std::string(argv[1]) + "/kubeconfig";
  const std::string text = "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n"
                           "    server: " + s.url() + "\n    certificate-authority-data: " + b64(pki.ca.cert_pem) +
                           "\ncontexts:\n- name: fake\n  context: {cluster: fake, user: agent}\nusers:\n- name: agent\n"
                           "  user:\n    token: " + o.token + "\n";
  if (!strand::write_file_atomic(kc, text)) return 1;
  std::cout << kc << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd, ns, name, ip;
    in >> cmd >> ns >> name >> ip;
    if (cmd == "pod") s.add(kPods, pod(ns, name, ip));
    else if (cmd == "del") s.remove(kPods, ns, name);
    else if (cmd == "close") s.close_watches();
    else if (cmd == "gone") {
      s.add(kNamespaces, {{"kind", "Namespace"}, {"apiVersion", "v1"}, {"metadata", {{"name", "gone-" + std::to_string(s.resource_version())}}}});
      s.compact();
      s.close_watches();
    }
    std::cout << "rv " << s.resource_version() << std::endl;
  }
  return 0;
}
