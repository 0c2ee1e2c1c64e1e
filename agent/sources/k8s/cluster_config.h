#pragma once
// Where the Kubernetes API is and how to authenticate to it: from a kubeconfig
// file (its current-context) or from the in-cluster service account. Parsing is
// pure (file references are resolved to paths, not read); load_files() reads
// the referenced CA, certificate and key files.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/error.h"

namespace strand::sources::k8s {

// https://host[:port][/prefix]. IPv6 hosts are written in brackets.
struct ServerUrl {
  std::string host;         // without brackets
  uint16_t port = 443;
  std::string path_prefix;  // "" or "/prefix" (no trailing slash)

  bool operator==(const ServerUrl&) const = default;
  // "host:port" as a Host header ("[::1]:6443" for IPv6).
  [[nodiscard]] std::string authority() const;
};

// Only https is accepted: the agent never sends a token in clear text.
[[nodiscard]] Result<ServerUrl> parse_server_url(std::string_view url);

struct ClusterConfig {
  ServerUrl server;
  std::string tls_server_name;  // overrides the name verified in the server's certificate
  bool insecure_skip_tls_verify = false;
  // The CA that signs the server's certificate: PEM data, or a file
  // (read by load_files). Neither: the system's trust store.
  std::string ca_pem;
  std::string ca_file;
  // Bearer token: inline, or a file re-read when it changes (projected
  // service account tokens rotate).
  std::string token;
  std::string token_file;
  // Client certificate and key (PEM data or files).
  std::string client_cert_pem;
  std::string client_cert_file;
  std::string client_key_pem;
  std::string client_key_file;
  std::string origin;  // "kubeconfig FILE context NAME" or "in-cluster", for logs

  bool operator==(const ClusterConfig&) const = default;
};

// A kubeconfig's current-context. Relative file paths are resolved against
// `base_dir` (the kubeconfig's directory). EINVAL names the missing or wrong
// field; auth methods the agent does not implement (exec, auth-provider,
// username/password) are refused rather than ignored.
[[nodiscard]] Result<ClusterConfig> parse_kubeconfig(std::string_view text, const std::string& base_dir,
                                                     const std::string& origin = "kubeconfig");

// The in-cluster service account, from the values of KUBERNETES_SERVICE_HOST
// and KUBERNETES_SERVICE_PORT and the account's directory (token, ca.crt).
[[nodiscard]] Result<ClusterConfig> in_cluster_config(std::string_view host, std::string_view port,
                                                      const std::string& account_dir);

inline constexpr std::string_view kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// Reads ca_file, client_cert_file and client_key_file into their *_pem
// fields (the token file is read by TokenSource, on every change).
[[nodiscard]] Status load_files(ClusterConfig& c);

// parse_kubeconfig on a file, then load_files.
[[nodiscard]] Result<ClusterConfig> load_kubeconfig(const std::string& path);
// in_cluster_config from the environment and kServiceAccountDir, then load_files.
[[nodiscard]] Result<ClusterConfig> load_in_cluster();

}  // namespace strand::sources::k8s
