#include "cni/env.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace strand::cni {
namespace {

using Vars = std::map<std::string, std::string, std::less<>>;

Vars add_vars() {
  return {{"CNI_COMMAND", "ADD"},
          {"CNI_CONTAINERID", "3f6940ab5ab4"},
          {"CNI_NETNS", "/var/run/netns/pod1"},
          {"CNI_IFNAME", "eth0"},
          {"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_UID=1234-abcd"},
          {"CNI_PATH", "/opt/cni/bin::/usr/lib/cni:"}};
}

TEST(Env, ParsesAdd) {
  auto env = parse_env(add_vars());
  ASSERT_TRUE(env) << env.error().msg;
  EXPECT_EQ(env->command, Command::kAdd);
  EXPECT_EQ(env->container_id, "3f6940ab5ab4");
  EXPECT_EQ(env->netns, "/var/run/netns/pod1");
  EXPECT_EQ(env->ifname, "eth0");
  EXPECT_EQ(env->path_raw, "/opt/cni/bin::/usr/lib/cni:");
  EXPECT_EQ(env->path, (std::vector<std::string>{"/opt/cni/bin", "/usr/lib/cni"}));
  EXPECT_EQ(env->pod_namespace(), "default");
  EXPECT_EQ(env->pod_name(), "web-0");
  EXPECT_EQ(env->pod_uid(), "1234-abcd");
  EXPECT_TRUE(env->ignore_unknown());
  EXPECT_EQ(env->args.size(), 4u);
  EXPECT_EQ(env->args_raw, add_vars()["CNI_ARGS"]);
}

TEST(Env, CommandNamesRoundTrip) {
  for (auto c : {Command::kAdd, Command::kDel, Command::kCheck, Command::kVersion, Command::kStatus, Command::kGc}) {
    EXPECT_EQ(parse_command(command_name(c)), c);
  }
  EXPECT_FALSE(parse_command("add"));
  EXPECT_FALSE(parse_command("GET"));
}

struct EnvCase {
  const char* name;
  Vars vars;
  const char* message;  // substring of the error message; nullptr = must succeed
};

Vars with(Vars v, const std::string& key, const char* value) {
  if (value == nullptr) {
    v.erase(key);
  } else {
    v[key] = value;
  }
  return v;
}

TEST(Env, RequiredAndValidatedPerCommand) {
  const Vars only_command = {{"CNI_COMMAND", "VERSION"}};
  const EnvCase cases[] = {
      {"no command", with(add_vars(), "CNI_COMMAND", nullptr), "CNI_COMMAND is not set"},
      {"empty command", with(add_vars(), "CNI_COMMAND", ""), "CNI_COMMAND is not set"},
      {"lower-case command", with(add_vars(), "CNI_COMMAND", "add"), "CNI_COMMAND \"add\" is unknown"},
      {"unknown command", with(add_vars(), "CNI_COMMAND", "GET"), "CNI_COMMAND \"GET\" is unknown"},
      {"ADD without container id", with(add_vars(), "CNI_CONTAINERID", nullptr),
       "required environment variables missing for ADD: CNI_CONTAINERID"},
      {"ADD without netns", with(add_vars(), "CNI_NETNS", nullptr), "missing for ADD: CNI_NETNS"},
      {"ADD without ifname", with(add_vars(), "CNI_IFNAME", nullptr), "missing for ADD: CNI_IFNAME"},
      {"ADD without path", with(add_vars(), "CNI_PATH", ""), "missing for ADD: CNI_PATH"},
      {"ADD without several", with(with(add_vars(), "CNI_IFNAME", nullptr), "CNI_CONTAINERID", nullptr),
       "missing for ADD: CNI_CONTAINERID, CNI_IFNAME"},
      {"CHECK without netns", with(with(add_vars(), "CNI_COMMAND", "CHECK"), "CNI_NETNS", nullptr),
       "missing for CHECK: CNI_NETNS"},
      {"DEL without netns", with(with(add_vars(), "CNI_COMMAND", "DEL"), "CNI_NETNS", nullptr), nullptr},
      {"DEL without ifname", with(with(add_vars(), "CNI_COMMAND", "DEL"), "CNI_IFNAME", nullptr),
       "missing for DEL: CNI_IFNAME"},
      {"DEL without path", with(with(add_vars(), "CNI_COMMAND", "DEL"), "CNI_PATH", nullptr),
       "missing for DEL: CNI_PATH"},
      {"CHECK without path", with(with(add_vars(), "CNI_COMMAND", "CHECK"), "CNI_PATH", nullptr),
       "missing for CHECK: CNI_PATH"},
      {"DEL without container id", with(with(add_vars(), "CNI_COMMAND", "DEL"), "CNI_CONTAINERID", nullptr),
       "missing for DEL: CNI_CONTAINERID"},
      {"GC without path", with(only_command, "CNI_COMMAND", "GC"), "missing for GC: CNI_PATH"},
      {"GC with path only", with(with(only_command, "CNI_COMMAND", "GC"), "CNI_PATH", "/opt/cni/bin"), nullptr},
      {"STATUS with nothing", with(only_command, "CNI_COMMAND", "STATUS"), nullptr},
      {"VERSION with nothing", only_command, nullptr},
      {"container id starts with '-'", with(add_vars(), "CNI_CONTAINERID", "-abc"),
       "CNI_CONTAINERID \"-abc\" is invalid"},
      {"container id with space", with(add_vars(), "CNI_CONTAINERID", "ab c"), "CNI_CONTAINERID \"ab c\" is invalid"},
      {"container id with slash", with(add_vars(), "CNI_CONTAINERID", "a/b"), "CNI_CONTAINERID \"a/b\" is invalid"},
      {"container id with $", with(add_vars(), "CNI_CONTAINERID", "ab$"), "CNI_CONTAINERID \"ab$\" is invalid"},
      {"container id all allowed", with(add_vars(), "CNI_CONTAINERID", "A1_b.c-D"), nullptr},
      {"container id one char", with(add_vars(), "CNI_CONTAINERID", "7"), nullptr},
      {"ifname 16 bytes", with(add_vars(), "CNI_IFNAME", "abcdefghijklmnop"), "longer than 15 bytes"},
      {"ifname 15 bytes", with(add_vars(), "CNI_IFNAME", "abcdefghijklmno"), nullptr},
      {"ifname dot", with(add_vars(), "CNI_IFNAME", "."), "CNI_IFNAME \".\" is invalid"},
      {"ifname dotdot", with(add_vars(), "CNI_IFNAME", ".."), "CNI_IFNAME \"..\" is invalid"},
      {"ifname slash", with(add_vars(), "CNI_IFNAME", "eth/0"), "contains '/'"},
      {"ifname colon", with(add_vars(), "CNI_IFNAME", "eth0:1"), "contains ':'"},
      {"ifname space", with(add_vars(), "CNI_IFNAME", "eth 0"), "contains whitespace"},
      {"ifname tab", with(add_vars(), "CNI_IFNAME", "eth\t0"), "contains whitespace"},
      {"ifname dotted ok", with(add_vars(), "CNI_IFNAME", "eth0.100"), nullptr},
      {"STATUS with bad optional ifname", with(with(only_command, "CNI_COMMAND", "STATUS"), "CNI_IFNAME", "a/b"),
       "CNI_IFNAME \"a/b\" is invalid"},
      {"args pair without =", with(add_vars(), "CNI_ARGS", "K8S_POD_NAME"),
       "CNI_ARGS has a malformed pair \"K8S_POD_NAME\""},
      {"args empty key", with(add_vars(), "CNI_ARGS", "A=1;=x"), "CNI_ARGS has a malformed pair \"=x\""},
      {"args last pair bad", with(add_vars(), "CNI_ARGS", "A=B;C"), "CNI_ARGS has a malformed pair \"C\""},
      {"args trailing ;", with(add_vars(), "CNI_ARGS", "A=B;;C=;"), nullptr},
  };
  for (const auto& c : cases) {
    auto env = parse_env(c.vars);
    if (c.message == nullptr) {
      EXPECT_TRUE(env) << c.name << ": " << (env ? "" : env.error().msg);
      continue;
    }
    ASSERT_FALSE(env) << c.name;
    EXPECT_EQ(env.error().code, 4) << c.name;
    EXPECT_NE(env.error().msg.find(c.message), std::string::npos) << c.name << ": " << env.error().msg;
  }
}

TEST(Env, ArgsKeepOrderAndValues) {
  auto args = parse_cni_args("A=1;B=x=y;A=2;C=");
  ASSERT_TRUE(args);
  ASSERT_EQ(args->size(), 4u);
  EXPECT_EQ((*args)[1], (std::pair<std::string, std::string>{"B", "x=y"}));
  EXPECT_EQ((*args)[3], (std::pair<std::string, std::string>{"C", ""}));
  Env env;
  env.args = *args;
  EXPECT_EQ(env.arg("A"), "2");  // the last one wins
  EXPECT_EQ(env.arg("C"), "");
  EXPECT_FALSE(env.arg("D"));
  EXPECT_EQ(env.pod_name(), "");
  EXPECT_TRUE(parse_cni_args("")->empty());
}

TEST(Env, IgnoreUnknownAsGoParseBool) {
  for (const char* yes : {"1", "t", "T", "true", "True", "TRUE"}) {
    Env env;
    env.args = {{"IgnoreUnknown", yes}};
    EXPECT_TRUE(env.ignore_unknown()) << yes;
  }
  for (const char* no : {"0", "false", "yes", ""}) {
    Env env;
    env.args = {{"IgnoreUnknown", no}};
    EXPECT_FALSE(env.ignore_unknown()) << no;
  }
  EXPECT_FALSE(Env{}.ignore_unknown());
}

TEST(Env, FromEnvironArray) {
  const char* envp[] = {"PATH=/usr/bin",   "CNI_COMMAND=DEL", "CNI_CONTAINERID=c1", "CNI_IFNAME=eth0",
                        "CNI_PATH=/opt/cni/bin", "CNI_BROKEN",      "CNI_ARGS=A=B",       nullptr};
  auto env = parse_env(envp);
  ASSERT_TRUE(env) << env.error().msg;
  EXPECT_EQ(env->command, Command::kDel);
  EXPECT_EQ(env->container_id, "c1");
  EXPECT_EQ(env->netns, "");
  EXPECT_EQ(env->arg("A"), "B");

  const char* none[] = {"HOME=/root", nullptr};
  auto missing = parse_env(none);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, 4);
}

}  // namespace
}  // namespace strand::cni
