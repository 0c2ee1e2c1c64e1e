#pragma once
// The Kubernetes list/watch wire format, parsed: List bodies (PodList, ...),
// watch events ({"type":..., "object":...} one per line), Status objects
// (errors, 410 Gone), and the resources the agent follows. Pure.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/model/objects.h"
#include "common/error.h"

namespace strand::sources::k8s {

// One followed resource: where it is listed and what its objects are.
struct Resource {
  model::Kind kind;
  std::string_view path;         // "/api/v1/pods"
  std::string_view kind_name;    // "Pod": set on list items, which carry no kind
  std::string_view api_version;  // "v1"
  std::string_view plural;       // "pods", for logs
};

// Pods, Namespaces, NetworkPolicies, Nodes (all namespaces).
[[nodiscard]] const std::vector<Resource>& resources();

struct ListPage {
  std::string kind;              // "PodList"
  std::string resource_version;  // metadata.resourceVersion
  std::string cont;              // metadata.continue ("" on the last page)
  std::vector<nlohmann::json> items;
};

// A List body. EBADMSG when it is not JSON, or lacks items or
// metadata.resourceVersion.
[[nodiscard]] Result<ListPage> parse_list(std::string_view body);

enum class EventType { kAdded, kModified, kDeleted, kBookmark, kError };
[[nodiscard]] std::string_view event_type_name(EventType t);

struct WatchEvent {
  EventType type = EventType::kAdded;
  nlohmann::json object;
};

// One line of a watch stream. EBADMSG on bad JSON, an unknown type or a
// missing object.
[[nodiscard]] Result<WatchEvent> parse_watch_event(std::string_view line);

// A metav1.Status ("kind":"Status"): an ERROR event's object or an error body.
struct ApiStatus {
  int code = 0;
  std::string reason;   // "Expired", "Gone", "Unauthorized", ...
  std::string message;
};
// nullopt when `obj` is not a Status.
[[nodiscard]] std::optional<ApiStatus> parse_status(const nlohmann::json& obj);
// The Status in an error response body, if any (the body may be anything).
[[nodiscard]] std::optional<ApiStatus> parse_status_body(std::string_view body);

// metadata.resourceVersion, "" when absent.
[[nodiscard]] std::string resource_version_of(const nlohmann::json& obj);

// The model key of an object of `r` from its metadata alone (for DELETED
// events, which need no full parse). EBADMSG when metadata.name is missing.
[[nodiscard]] Result<model::Key> key_of(const Resource& r, const nlohmann::json& obj);

// The object with kind and apiVersion filled in when missing (list items),
// parsed into the model's type. nullopt for objects the model does not keep.
[[nodiscard]] Result<std::optional<model::Object>> parse_item(const Resource& r, nlohmann::json obj);

// The path and query of a list page / a watch.
[[nodiscard]] std::string list_target(const Resource& r, int limit, const std::string& cont);
[[nodiscard]] std::string watch_target(const Resource& r, const std::string& resource_version, int timeout_seconds);

}  // namespace strand::sources::k8s
