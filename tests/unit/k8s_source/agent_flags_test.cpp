// The agent's source flags: --kubeconfig, --in-cluster and --source-dir (and
// their config-file keys) are mutually exclusive.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <vector>

#include "agent/config.h"
#include "common/fs.h"

namespace strand::agent {
namespace {

Result<Config> parse(std::vector<std::string> args, int& code) {
  args.insert(args.begin(), "strand-agent");
  args.insert(args.begin() + 1, {"--node", "n1"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_config(static_cast<int>(argv.size()), argv.data(), code);
}

TEST(AgentFlags, KubeconfigAndInCluster) {
  int code = -1;
  auto c = parse({"--kubeconfig", "/etc/k/config"}, code);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kubeconfig, "/etc/k/config");
  EXPECT_FALSE(c->in_cluster);
  auto ic = parse({"--in-cluster"}, code);
  ASSERT_TRUE(ic.has_value());
  EXPECT_TRUE(ic->in_cluster);
  EXPECT_EQ(ic->kubeconfig, "");
}

TEST(AgentFlags, SourcesAreMutuallyExclusive) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--kubeconfig", "/k", "--in-cluster"},
                                                                {"--kubeconfig", "/k", "--source-dir", "/d"},
                                                                {"--in-cluster", "--source-dir", "/d"}}) {
    int code = -1;
    auto c = parse(args, code);
    ASSERT_FALSE(c.has_value()) << args[0];
    EXPECT_EQ(code, 2);
    EXPECT_NE(c.error().context.find("mutually exclusive"), std::string::npos);
  }
}

TEST(AgentFlags, ConfigFileKeys) {
  namespace fs = std::filesystem;
  std::string dir = (fs::temp_directory_path() / "strand-agentflags-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  ASSERT_TRUE(write_file_atomic(dir + "/a.yaml", "kubeconfig: /etc/k/config\n").has_value());
  ASSERT_TRUE(write_file_atomic(dir + "/b.yaml", "in-cluster: true\n").has_value());
  ASSERT_TRUE(write_file_atomic(dir + "/c.yaml", "in-cluster: true\nsource-dir: /d\n").has_value());
  int code = -1;
  auto a = parse({"--config", dir + "/a.yaml"}, code);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->kubeconfig, "/etc/k/config");
  auto b = parse({"--config", dir + "/b.yaml"}, code);
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(b->in_cluster);
  auto c = parse({"--config", dir + "/c.yaml"}, code);
  EXPECT_FALSE(c.has_value());
  EXPECT_EQ(code, 2);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace strand::agent
