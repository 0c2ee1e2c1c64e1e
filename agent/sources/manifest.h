#pragma once
// Kubernetes manifests as text to model objects: several YAML documents
// ("---"), a JSON object, or a List (`kind: List`, or a `PodList`-style list
// whose items carry no kind) with `items`. JSON is read as YAML (it is its
// flow style), so one parser gives line numbers for both.
#include <string>
#include <string_view>
#include <vector>

#include "agent/model/objects.h"
#include "common/error.h"

namespace strand::sources {

struct Manifest {
  std::vector<model::Object> objects;  // in file order
  std::vector<std::string> ignored;    // kinds the agent does not keep: "Service default/web at line 12"
};

// All or nothing: the first syntax error or malformed object fails the whole
// text. The error's context starts with "<file>:<line>:" (1-based) where the
// problem is, then what it is.
[[nodiscard]] Result<Manifest> parse_manifest(std::string_view text, const std::string& file);

// Whether a directory entry is a manifest: *.yaml, *.yml or *.json, not hidden.
[[nodiscard]] bool is_manifest_name(std::string_view name);

}  // namespace strand::sources
