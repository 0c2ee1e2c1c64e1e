#pragma once
// Kubernetes objects as strand-lab reads them: multi-document YAML or JSON
// (YAML is a superset; `kind: List` expands to its items), converted to JSON
// values. Pure: no I/O beyond the text given.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace strand::lab {

using Labels = std::map<std::string, std::string>;

struct Object {
  std::string kind;       // Namespace, Pod, NetworkPolicy
  std::string ns;         // metadata.namespace ("default" for namespaced kinds when absent; "" for Namespace)
  std::string name;       // metadata.name
  nlohmann::json body;    // the whole object
  [[nodiscard]] std::string key() const { return ns.empty() ? name : ns + "/" + name; }
};

struct ContainerPort {
  std::string name;       // may be empty
  int port = 0;
  std::string protocol = "TCP";  // TCP, UDP, SCTP
  bool operator==(const ContainerPort&) const = default;
};

// Every document of `text`; `source` names the file in errors. Empty documents
// are skipped; a document without kind or metadata.name, or of a kind the lab
// does not model, is an error (EINVAL) naming the document's position.
[[nodiscard]] Result<std::vector<Object>> parse_manifests(std::string_view text, std::string_view source);

// A YAML document as JSON: plain scalars become numbers, booleans and null as
// YAML 1.2's core schema says; quoted scalars stay strings.
[[nodiscard]] Result<nlohmann::json> yaml_text_to_json(std::string_view text);
// Every document of a YAML stream ("---") the same way; empty documents become null.
[[nodiscard]] Result<std::vector<nlohmann::json>> yaml_stream_to_json(std::string_view text);

// metadata.labels (non-string values are refused with EINVAL).
[[nodiscard]] Result<Labels> labels_of(const nlohmann::json& obj);

// Every spec.containers[].ports[] of a Pod; protocol defaults to TCP.
[[nodiscard]] Result<std::vector<ContainerPort>> pod_ports(const nlohmann::json& pod);

// Resolves a port given as a number or a containerPort name ("http") for `pod_ports`.
[[nodiscard]] Result<ContainerPort> resolve_port(const std::vector<ContainerPort>& ports, std::string_view port,
                                                 std::string_view protocol);

// A DNS-1123 label / subdomain check for names the lab turns into file and netns names.
[[nodiscard]] bool valid_name(std::string_view name);

}  // namespace strand::lab
