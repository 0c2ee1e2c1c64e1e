#include "cni/env.h"

#include <array>

namespace strand::cni {
namespace {

constexpr Code kEnv = Code::kInvalidEnv;

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Whitespace as Go's unicode.IsSpace sees it in ASCII.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

struct Requirement {
  bool container_id, netns, ifname, path;
};

Requirement required_for(Command c) {
  switch (c) {
    case Command::kAdd:
    case Command::kCheck:
      return {true, true, true, true};
    case Command::kDel:
      return {true, false, true, true};
    case Command::kGc:
      return {false, false, false, true};
    case Command::kStatus:
    case Command::kVersion:
      return {false, false, false, false};
  }
  return {false, false, false, false};
}

}  // namespace

std::optional<Command> parse_command(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, Command>, 6> kNames = {{{"ADD", Command::kAdd},
                                                                                  {"DEL", Command::kDel},
                                                                                  {"CHECK", Command::kCheck},
                                                                                  {"VERSION", Command::kVersion},
                                                                                  {"STATUS", Command::kStatus},
                                                                                  {"GC", Command::kGc}}};
  for (auto [name, cmd] : kNames) {
    if (name == text) return cmd;
  }
  return std::nullopt;
}

std::string_view command_name(Command c) {
  switch (c) {
    case Command::kAdd: return "ADD";
    case Command::kDel: return "DEL";
    case Command::kCheck: return "CHECK";
    case Command::kVersion: return "VERSION";
    case Command::kStatus: return "STATUS";
    case Command::kGc: return "GC";
  }
  return "?";
}

std::optional<std::string> Env::arg(std::string_view key) const {
  std::optional<std::string> out;
  for (const auto& [k, v] : args) {
    if (k == key) out = v;
  }
  return out;
}

bool Env::ignore_unknown() const {
  auto v = arg("IgnoreUnknown");
  if (!v) return false;
  return *v == "1" || *v == "t" || *v == "T" || *v == "true" || *v == "True" || *v == "TRUE";
}

CniStatus validate_container_id(std::string_view id) {
  if (id.empty()) return cni_fail(kEnv, "CNI_CONTAINERID must not be empty");
  bool ok = is_alnum(id.front());
  for (char c : id.substr(1)) ok = ok && (is_alnum(c) || c == '_' || c == '.' || c == '-');
  if (!ok) {
    return cni_fail(kEnv, "CNI_CONTAINERID \"" + std::string(id) +
                              "\" is invalid: it must start with a letter or digit, followed by letters, digits, "
                              "'_', '.' or '-'");
  }
  return {};
}

CniStatus validate_ifname(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return cni_fail(kEnv, "CNI_IFNAME \"" + std::string(name) + "\" is invalid: " + std::string(why));
  };
  if (name.empty()) return cni_fail(kEnv, "CNI_IFNAME must not be empty");
  if (name.size() > 15) return bad("longer than 15 bytes");
  if (name == "." || name == "..") return bad("\".\" and \"..\" are not interface names");
  for (char c : name) {
    if (c == '/') return bad("contains '/'");
    if (c == ':') return bad("contains ':'");
    if (is_space(c)) return bad("contains whitespace");
  }
  return {};
}

CniResult<std::vector<std::pair<std::string, std::string>>> parse_cni_args(std::string_view raw) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!raw.empty()) {
    size_t end = raw.find(';');
    std::string_view pair = raw.substr(0, end);
    raw.remove_prefix(end == std::string_view::npos ? raw.size() : end + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return cni_fail(kEnv, "CNI_ARGS has a malformed pair \"" + std::string(pair) + "\" (want KEY=VALUE)");
    }
    out.emplace_back(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
  }
  return out;
}

CniResult<Env> parse_env(const std::map<std::string, std::string, std::less<>>& vars) {
  auto get = [&](std::string_view name) -> std::string {
    auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };

  std::string command = get("CNI_COMMAND");
  if (command.empty()) return cni_fail(kEnv, "CNI_COMMAND is not set");
  auto cmd = parse_command(command);
  if (!cmd) {
    return cni_fail(kEnv, "CNI_COMMAND \"" + command + "\" is unknown (want ADD, DEL, CHECK, GC, STATUS or VERSION)");
  }

  Env env;
  env.command = *cmd;
  env.container_id = get("CNI_CONTAINERID");
  env.netns = get("CNI_NETNS");
  env.ifname = get("CNI_IFNAME");
  env.args_raw = get("CNI_ARGS");
  env.path_raw = get("CNI_PATH");

  Requirement req = required_for(*cmd);
  std::string missing;
  auto need = [&](bool required, const std::string& value, std::string_view name) {
    if (!required || !value.empty()) return;
    if (!missing.empty()) missing += ", ";
    missing += name;
  };
  need(req.container_id, env.container_id, "CNI_CONTAINERID");
  need(req.netns, env.netns, "CNI_NETNS");
  need(req.ifname, env.ifname, "CNI_IFNAME");
  need(req.path, env.path_raw, "CNI_PATH");
  if (!missing.empty()) {
    return cni_fail(kEnv, "required environment variables missing for " + std::string(command_name(*cmd)) + ": " +
                              missing);
  }

  if (!env.container_id.empty()) {
    if (auto s = validate_container_id(env.container_id); !s) return std::unexpected(s.error());
  }
  if (!env.ifname.empty()) {
    if (auto s = validate_ifname(env.ifname); !s) return std::unexpected(s.error());
  }
  auto args = parse_cni_args(env.args_raw);
  if (!args) return std::unexpected(args.error());
  env.args = std::move(*args);

  std::string_view p = env.path_raw;
  while (!p.empty()) {
    size_t end = p.find(':');
    std::string_view dir = p.substr(0, end);
    p.remove_prefix(end == std::string_view::npos ? p.size() : end + 1);
    if (!dir.empty()) env.path.emplace_back(dir);
  }
  return env;
}

CniResult<Env> parse_env(const char* const* envp) {
  std::map<std::string, std::string, std::less<>> vars;
  for (; envp != nullptr && *envp != nullptr; ++envp) {
    std::string_view entry = *envp;
    if (!entry.starts_with("CNI_")) continue;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    vars.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return parse_env(vars);
}

}  // namespace strand::cni
