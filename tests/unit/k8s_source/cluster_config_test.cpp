// Kubeconfig and in-cluster configuration: every field, every error; the
// token file re-read when it changes.
#include "agent/sources/k8s/cluster_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "agent/sources/k8s/base64.h"
#include "agent/sources/k8s/token.h"
#include "common/fs.h"

namespace strand::sources::k8s {
namespace {

namespace fs = std::filesystem;

// base64("-----BEGIN CERTIFICATE-----\nCA\n") and friends, decoded to check.
const std::string kCaPem = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
std::string b64(const std::string& s) {
  static constexpr char kAlpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out.push_back(kAlpha[(v >> k) & 63]);
  }
  if (i + 1 == s.size()) {
    uint32_t v = uint8_t(s[i]) << 16;
    out += {kAlpha[(v >> 18) & 63], kAlpha[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == s.size()) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
    out += {kAlpha[(v >> 18) & 63], kAlpha[(v >> 12) & 63], kAlpha[(v >> 6) & 63], '='};
  }
  return out;
}

std::string kubeconfig(const std::string& cluster_extra, const std::string& user_extra,
                       const std::string& server = "https://10.0.0.1:6443") {
  return "apiVersion: v1\nkind: Config\ncurrent-context: work\n"
         "contexts:\n- name: other\n  context: {cluster: nope, user: nope}\n"
         "- name: work\n  context:\n    cluster: c1\n    user: u1\n    namespace: kube-system\n"
         "clusters:\n- name: c0\n  cluster: {server: 'https://wrong:1'}\n"
         "- name: c1\n  cluster:\n    server: " + server + "\n" + cluster_extra +
         "users:\n- name: u1\n  user:\n" + (user_extra.empty() ? "    {}\n" : user_extra);
}

TEST(Kubeconfig, TokenAndCaData) {
  auto c = parse_kubeconfig(kubeconfig("    certificate-authority-data: " + b64(kCaPem) + "\n", "    token: abc.def\n"),
                            "/etc/k");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->server, (ServerUrl{"10.0.0.1", 6443, ""}));
  EXPECT_EQ(c->ca_pem, kCaPem);
  EXPECT_EQ(c->ca_file, "");
  EXPECT_EQ(c->token, "abc.def");
  EXPECT_EQ(c->token_file, "");
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->origin, "kubeconfig context work");
}

TEST(Kubeconfig, FilesResolvedAgainstTheKubeconfigDir) {
  auto c = parse_kubeconfig(kubeconfig("    certificate-authority: pki/ca.crt\n",
                                       "    tokenFile: tok\n    client-certificate: /abs/c.crt\n    client-key: k.key\n"),
                            "/etc/k");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->ca_file, "/etc/k/pki/ca.crt");
  EXPECT_EQ(c->token_file, "/etc/k/tok");
  EXPECT_EQ(c->client_cert_file, "/abs/c.crt");
  EXPECT_EQ(c->client_key_file, "/etc/k/k.key");
  EXPECT_EQ(c->ca_pem, "");
}

TEST(Kubeconfig, ClientCertificateData) {
  auto c = parse_kubeconfig(kubeconfig("", "    client-certificate-data: " + b64("CERT") + "\n    client-key-data: " +
                                               b64("KEY!") + "\n"),
                            "/d");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->client_cert_pem, "CERT");
  EXPECT_EQ(c->client_key_pem, "KEY!");
  EXPECT_EQ(c->client_cert_file, "");
}

TEST(Kubeconfig, InlineTokenWinsOverTokenFile) {
  auto c = parse_kubeconfig(kubeconfig("", "    token: t1\n    tokenFile: /f\n"), "/d");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->token, "t1");
  EXPECT_EQ(c->token_file, "");
}

TEST(Kubeconfig, InsecureAndServerName) {
  auto c = parse_kubeconfig(kubeconfig("    insecure-skip-tls-verify: true\n    tls-server-name: api.internal\n", ""), "/d");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_TRUE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->tls_server_name, "api.internal");
}

TEST(Kubeconfig, ServerWithIpv6AndPrefix) {
  auto c = parse_kubeconfig(kubeconfig("", "", "'https://[fd00::1]:8443/k8s/clusters/c-1/'"), "/d");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->server, (ServerUrl{"fd00::1", 8443, "/k8s/clusters/c-1"}));
  EXPECT_EQ(c->server.authority(), "[fd00::1]:8443");
}

TEST(Kubeconfig, Errors) {
  struct Case {
    const char* name;
    std::string text;
    const char* want;
  };
  const std::vector<Case> cases = {
      {"not yaml", "a: [", "not YAML"},
      {"not a mapping", "- a\n- b\n", "not a mapping"},
      {"no current-context", "clusters: []\n", "current-context: required"},
      {"context missing", "current-context: x\ncontexts: []\n", "contexts: no entry named 'x'"},
      {"context without cluster", "current-context: x\ncontexts:\n- name: x\n  context: {user: u}\n",
       "contexts[x].context.cluster: required"},
      {"cluster missing", "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n",
       "clusters: no entry named 'c'"},
      {"server missing", kubeconfig("", "", "''"), "clusters[c1].cluster.server: required"},
      {"http server", kubeconfig("", "", "http://1.2.3.4"), "must start with https://"},
      {"bad port", kubeconfig("", "", "https://h:99999"), "bad port"},
      {"user missing",
       "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\nclusters:\n- name: c\n  cluster: "
       "{server: 'https://h'}\n",
       "users: no entry named 'u'"},
      {"bad ca data", kubeconfig("    certificate-authority-data: '***'\n", ""),
       "certificate-authority-data: not base64"},
      {"bad insecure", kubeconfig("    insecure-skip-tls-verify: maybe\n", ""),
       "insecure-skip-tls-verify: must be true or false"},
      {"exec", kubeconfig("", "    exec: {command: aws}\n"), "users[u1].user.exec: not supported"},
      {"auth-provider", kubeconfig("", "    auth-provider: {name: gcp}\n"), "auth-provider: not supported"},
      {"basic auth", kubeconfig("", "    username: admin\n    password: x\n"), "username: not supported"},
      {"cert without key", kubeconfig("", "    client-certificate: c.crt\n"),
       "client-certificate and client-key must be given together"},
      {"clusters not a list", "current-context: x\ncontexts: {}\n", "contexts: must be a list"},
  };
  for (const auto& c : cases) {
    auto r = parse_kubeconfig(c.text, "/d", "kubeconfig /d/k");
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_EQ(r.error().err, EINVAL) << c.name;
    EXPECT_NE(r.error().context.find(c.want), std::string::npos) << c.name << ": " << r.error().message();
    EXPECT_TRUE(r.error().context.starts_with("kubeconfig /d/k")) << c.name << ": " << r.error().message();
  }
}

TEST(Kubeconfig, AnonymousContextHasNoCredentials) {
  auto c = parse_kubeconfig(
      "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {server: "
      "'https://h'}\n",
      "/d");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->server, (ServerUrl{"h", 443, ""}));
  EXPECT_EQ(c->token, "");
  EXPECT_EQ(c->client_cert_pem, "");
}

TEST(ServerUrl, ParsesAndRefuses) {
  EXPECT_EQ(*parse_server_url("https://api"), (ServerUrl{"api", 443, ""}));
  EXPECT_EQ(*parse_server_url("https://api:6443/"), (ServerUrl{"api", 6443, ""}));
  EXPECT_EQ(*parse_server_url("https://[::1]"), (ServerUrl{"::1", 443, ""}));
  EXPECT_EQ(parse_server_url("https://api:6443").value().authority(), "api:6443");
  for (const char* bad : {"http://api", "api:6443", "https://", "https://:1", "https://[::1", "https://[::1]x",
                          "https://a:0", "https://a:x", "https://a:", "https://u@a", "https://a/p?q=1"}) {
    auto r = parse_server_url(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) { EXPECT_EQ(r.error().err, EINVAL) << bad; }
  }
}

TEST(InCluster, FromEnvironmentValues) {
  auto c = in_cluster_config("10.96.0.1", "443", "/sa");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->server, (ServerUrl{"10.96.0.1", 443, ""}));
  EXPECT_EQ(c->ca_file, "/sa/ca.crt");
  EXPECT_EQ(c->token_file, "/sa/token");
  EXPECT_EQ(c->token, "");
  EXPECT_EQ(c->origin, "in-cluster");
  auto v6 = in_cluster_config("fd00:10:96::1", "6443", "/sa");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->server, (ServerUrl{"fd00:10:96::1", 6443, ""}));
  for (auto [h, p] : {std::pair{"", "443"}, std::pair{"10.96.0.1", ""}, std::pair{"10.96.0.1", "http"}}) {
    auto r = in_cluster_config(h, p, "/sa");
    ASSERT_FALSE(r.has_value()) << h << " " << p;
    EXPECT_EQ(r.error().err, EINVAL);
  }
}

class Files : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "strand-k8scfg-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(Files, LoadFilesReadsCaCertAndKey) {
  ASSERT_TRUE(write_file_atomic(dir_ + "/ca.crt", "CA").has_value());
  ASSERT_TRUE(write_file_atomic(dir_ + "/c.crt", "CERT").has_value());
  ASSERT_TRUE(write_file_atomic(dir_ + "/c.key", "KEY").has_value());
  ASSERT_TRUE(write_file_atomic(dir_ + "/kubeconfig",
                                kubeconfig("    certificate-authority: ca.crt\n",
                                           "    client-certificate: c.crt\n    client-key: c.key\n"))
                  .has_value());
  auto c = load_kubeconfig(dir_ + "/kubeconfig");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->ca_pem, "CA");
  EXPECT_EQ(c->client_cert_pem, "CERT");
  EXPECT_EQ(c->client_key_pem, "KEY");
  EXPECT_EQ(c->origin, "kubeconfig " + dir_ + "/kubeconfig context work");
}

TEST_F(Files, MissingReferencedFileIsAnError) {
  ASSERT_TRUE(write_file_atomic(dir_ + "/kubeconfig", kubeconfig("    certificate-authority: nope.crt\n", "")).has_value());
  auto c = load_kubeconfig(dir_ + "/kubeconfig");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().err, ENOENT);
  EXPECT_NE(c.error().message().find("certificate-authority"), std::string::npos) << c.error().message();
  auto missing = load_kubeconfig(dir_ + "/none");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().err, ENOENT);
}

TEST_F(Files, TokenFileReReadWhenItChanges) {
  const std::string f = dir_ + "/token";
  ASSERT_TRUE(write_file_atomic(f, "first\n").has_value());
  TokenSource ts("", f);
  EXPECT_EQ(ts.current().value(), "first");
  EXPECT_EQ(ts.current().value(), "first");
  EXPECT_EQ(ts.reads(), 1u);
  // The kubelet swaps the projected token in with a rename.
  ASSERT_TRUE(write_file_atomic(f, "  second  \n").has_value());
  EXPECT_EQ(ts.current().value(), "second");
  EXPECT_EQ(ts.reads(), 2u);
  // Gone afterwards: the last good token stays.
  fs::remove(f);
  EXPECT_EQ(ts.current().value(), "second");
}

TEST_F(Files, TokenFileMissingAtFirstIsAnError) {
  TokenSource ts("", dir_ + "/none");
  auto t = ts.current();
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().err, ENOENT);
  TokenSource inline_token("abc", dir_ + "/none");
  EXPECT_EQ(inline_token.current().value(), "abc");
  TokenSource none("", "");
  EXPECT_EQ(none.current().value(), "");
}

TEST(Base64, DecodesAndRefuses) {
  EXPECT_EQ(base64_decode("").value(), "");
  EXPECT_EQ(base64_decode("Zg==").value(), "f");
  EXPECT_EQ(base64_decode("Zm8=").value(), "fo");
  EXPECT_EQ(base64_decode("Zm9v").value(), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg").value(), "foob");  // padding optional
  EXPECT_EQ(base64_decode("Zm9v\nYmFy\r\n").value(), "foobar");
  EXPECT_EQ(base64_decode(b64(kCaPem)).value(), kCaPem);
  for (const char* bad : {"Z", "Zm9v*", "Zg==Zg", "Zm9=v", "Zg="}) {
    auto r = base64_decode(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) { EXPECT_EQ(r.error().err, EINVAL); }
  }
}

}  // namespace
}  // namespace strand::sources::k8s
