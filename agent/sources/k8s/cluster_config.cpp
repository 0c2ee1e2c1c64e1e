#include "agent/sources/k8s/cluster_config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <tuple>

#include "agent/sources/k8s/base64.h"
#include "common/fs.h"

namespace strand::sources::k8s {

namespace {

std::unexpected<Error> bad(const std::string& origin, const std::string& why) {
  return fail("parse kubeconfig", EINVAL, origin + ": " + why);
}

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

// The entry of `list` (clusters, users, contexts) named `name`: its `field` map.
Result<YAML::Node> named(const YAML::Node& doc, const char* list, const char* field, const std::string& name,
                         const std::string& origin) {
  const YAML::Node entries = doc[list];
  if (entries && !entries.IsSequence()) return bad(origin, std::string(list) + ": must be a list");
  if (entries) {
    for (const auto& e : entries) {
      if (!e.IsMap() || !e["name"] || e["name"].as<std::string>() != name) continue;
      const YAML::Node body = e[field];
      if (!body || body.IsNull()) return YAML::Node(YAML::NodeType::Map);
      if (!body.IsMap()) return bad(origin, std::string(list) + "[" + name + "]." + field + ": must be a mapping");
      return body;
    }
  }
  return bad(origin, std::string(list) + ": no entry named '" + name + "'");
}

std::string str(const YAML::Node& m, const char* key) {
  const YAML::Node v = m[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

// A *-data field (base64 of PEM) or its file sibling; data wins, as kubectl does.
Status data_or_file(const YAML::Node& m, const char* data_key, const char* file_key, const std::string& where,
                    const std::string& base_dir, const std::string& origin, std::string& pem, std::string& file) {
  if (std::string data = str(m, data_key); !data.empty()) {
    auto d = base64_decode(data);
    if (!d) return bad(origin, where + "." + data_key + ": not base64 (" + d.error().context + ")");
    pem = std::move(*d);
    return {};
  }
  file = resolve(base_dir, str(m, file_key));
  return {};
}

}  // namespace

std::string ServerUrl::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

Result<ServerUrl> parse_server_url(std::string_view url) {
  auto bad_url = [&](const std::string& why) {
    return fail("parse server url", EINVAL, "'" + std::string(url) + "': " + why);
  };
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) return bad_url("must start with https://");
  std::string_view rest = url.substr(kScheme.size());
  ServerUrl out;
  const size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash);
    while (prefix.ends_with('/')) prefix.remove_suffix(1);
    if (prefix.find_first_of("?#") != std::string_view::npos) return bad_url("query or fragment not allowed");
    out.path_prefix = prefix;
  }
  if (hostport.find('@') != std::string_view::npos) return bad_url("user info not allowed");
  std::string_view port;
  if (hostport.starts_with('[')) {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return bad_url("unterminated [ in host");
    out.host = hostport.substr(1, close - 1);
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) return bad_url("junk after ]");
      port = after.substr(1);
    }
  } else {
    const size_t colon = hostport.find(':');
    out.host = hostport.substr(0, colon);
    if (colon != std::string_view::npos) port = hostport.substr(colon + 1);
  }
  if (out.host.empty()) return bad_url("no host");
  if (!port.empty() || hostport.ends_with(':')) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535) return bad_url("bad port");
    out.port = static_cast<uint16_t>(v);
  }
  return out;
}

Result<ClusterConfig> parse_kubeconfig(std::string_view text, const std::string& base_dir, const std::string& origin) {
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return bad(origin, std::string("not YAML: ") + e.what());
  }
  if (!doc.IsMap()) return bad(origin, "not a mapping");
  try {
    const std::string context = str(doc, "current-context");
    if (context.empty()) return bad(origin, "current-context: required");
    auto ctx = named(doc, "contexts", "context", context, origin);
    if (!ctx) return std::unexpected(ctx.error());
    const std::string cluster_name = str(*ctx, "cluster");
    if (cluster_name.empty()) return bad(origin, "contexts[" + context + "].context.cluster: required");
    auto cluster = named(doc, "clusters", "cluster", cluster_name, origin);
    if (!cluster) return std::unexpected(cluster.error());

    ClusterConfig c;
    c.origin = origin + " context " + context;
    const std::string where = "clusters[" + cluster_name + "].cluster";
    const std::string server = str(*cluster, "server");
    if (server.empty()) return bad(origin, where + ".server: required");
    auto url = parse_server_url(server);
    if (!url) return bad(origin, where + ".server: " + url.error().context);
    c.server = *url;
    c.tls_server_name = str(*cluster, "tls-server-name");
    if (const YAML::Node v = (*cluster)["insecure-skip-tls-verify"]; v) {
      try {
        c.insecure_skip_tls_verify = v.as<bool>();
      } catch (const YAML::Exception&) {
        return bad(origin, where + ".insecure-skip-tls-verify: must be true or false");
      }
    }
    if (auto st = data_or_file(*cluster, "certificate-authority-data", "certificate-authority", where, base_dir, origin,
                               c.ca_pem, c.ca_file);
        !st) {
      return std::unexpected(st.error());
    }

    // A context without a user is anonymous (the API may still allow it).
    if (const std::string user_name = str(*ctx, "user"); !user_name.empty()) {
      auto user = named(doc, "users", "user", user_name, origin);
      if (!user) return std::unexpected(user.error());
      const std::string uw = "users[" + user_name + "].user";
      for (const char* unsupported : {"exec", "auth-provider", "username", "password"}) {
        if ((*user)[unsupported]) return bad(origin, uw + "." + unsupported + ": not supported (use a token or a client certificate)");
      }
      c.token = str(*user, "token");
      c.token_file = c.token.empty() ? resolve(base_dir, str(*user, "tokenFile")) : std::string();
      if (auto st = data_or_file(*user, "client-certificate-data", "client-certificate", uw, base_dir, origin,
                                 c.client_cert_pem, c.client_cert_file);
          !st) {
        return std::unexpected(st.error());
      }
      if (auto st = data_or_file(*user, "client-key-data", "client-key", uw, base_dir, origin, c.client_key_pem,
                                 c.client_key_file);
          !st) {
        return std::unexpected(st.error());
      }
      const bool has_cert = !c.client_cert_pem.empty() || !c.client_cert_file.empty();
      const bool has_key = !c.client_key_pem.empty() || !c.client_key_file.empty();
      if (has_cert != has_key) {
        return bad(origin, uw + ": client-certificate and client-key must be given together");
      }
    }
    return c;
  } catch (const YAML::Exception& e) {
    return bad(origin, e.what());
  }
}

Result<ClusterConfig> in_cluster_config(std::string_view host, std::string_view port, const std::string& account_dir) {
  if (host.empty() || port.empty()) {
    return fail("in-cluster config", EINVAL,
                "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (not running in a pod?)");
  }
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  auto url = parse_server_url("https://" + h + ":" + std::string(port));
  if (!url) return fail("in-cluster config", EINVAL, url.error().context);
  ClusterConfig c;
  c.server = *url;
  c.ca_file = account_dir + "/ca.crt";
  c.token_file = account_dir + "/token";
  c.origin = "in-cluster";
  return c;
}

Status load_files(ClusterConfig& c) {
  for (auto [file, pem, what] : {std::tuple{&c.ca_file, &c.ca_pem, "certificate-authority"},
                                 std::tuple{&c.client_cert_file, &c.client_cert_pem, "client-certificate"},
                                 std::tuple{&c.client_key_file, &c.client_key_pem, "client-key"}}) {
    if (file->empty() || !pem->empty()) continue;
    auto text = read_file(*file);
    if (!text) return std::unexpected(with_context(text.error(), std::string(what) + " of " + c.origin));
    *pem = std::move(*text);
  }
  return {};
}

Result<ClusterConfig> load_kubeconfig(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(with_context(text.error(), "kubeconfig"));
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  auto c = parse_kubeconfig(*text, dir, "kubeconfig " + path);
  if (!c) return c;
  if (auto st = load_files(*c); !st) return std::unexpected(st.error());
  return c;
}

Result<ClusterConfig> load_in_cluster() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  auto c = in_cluster_config(host == nullptr ? "" : host, port == nullptr ? "" : port, std::string(kServiceAccountDir));
  if (!c) return c;
  if (auto st = load_files(*c); !st) return std::unexpected(st.error());
  return c;
}

}  // namespace strand::sources::k8s
