#include "lab/sync.h"

#include <httplib.h>

#include <thread>

#include <fmt/format.h>

#include "common/fs.h"
#include "common/netns.h"
#include "lab/generation.h"
#include "lab/named_netns.h"

namespace strand::lab {

Result<uint64_t> bump_generation(const std::string& manifests_dir) {
  const std::string path = manifests_dir + "/.generation";
  uint64_t cur = 0;
  if (auto t = read_file(path); t) {
    auto g = parse_generation_file(*t);
    if (!g) return std::unexpected(with_context(g.error(), path));
    cur = *g;
  } else if (t.error().err != ENOENT) {
    return std::unexpected(t.error());
  }
  if (auto st = write_file_atomic(path, std::to_string(cur + 1) + "\n"); !st) return std::unexpected(st.error());
  return cur + 1;
}

Result<uint64_t> agent_generation(const std::string& netns_path, const std::string& http) {
  auto ns = Netns::open(netns_path);
  if (!ns) return std::unexpected(ns.error());
  const auto colon = http.rfind(':');
  const std::string host = http.substr(0, colon);
  const int port = std::stoi(http.substr(colon + 1));
  Result<uint64_t> out = fail("agent generation", EIO, "not asked");
  // The client's socket is made in the netns of the thread that connects.
  std::thread t([&] {
    auto g = ns->enter();
    if (!g) {
      out = std::unexpected(g.error());
      return;
    }
    httplib::Client cli(host, port);
    cli.set_connection_timeout(0, 500000);
    cli.set_read_timeout(2, 0);
    auto res = cli.Get("/v1/policies?summary=true");
    if (!res) {
      out = fail("GET /v1/policies", ECONNREFUSED, http + ": " + httplib::to_string(res.error()));
      return;
    }
    if (res->status != 200) {
      out = fail("GET /v1/policies", EIO, http + ": HTTP " + std::to_string(res->status));
      return;
    }
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    if (body.is_discarded()) {
      out = fail("GET /v1/policies", EBADMSG, http + ": not JSON");
      return;
    }
    out = generation_of(body);
  });
  t.join();
  return out;
}

Status wait_generation(const LabState& s, const std::string& http, uint64_t want, std::chrono::milliseconds timeout,
                       bool required, std::vector<std::string>* not_enforcing) {
  std::vector<std::string> names;
  for (const auto& n : s.nodes) names.push_back(n.name);
  // The agents answer in well under a millisecond: poll often.
  return wait_for_generation(names, want, timeout, std::chrono::milliseconds(5),
                             [&](size_t i) { return agent_generation(netns_path(s.nodes[i].netns), http); }, required,
                             not_enforcing);
}

Status sync_agents(const LabState& s, const std::string& manifests_dir, const std::string& http, bool required,
                   std::vector<std::string>* not_enforcing, std::chrono::milliseconds timeout) {
  auto want = bump_generation(manifests_dir);
  if (!want) return std::unexpected(want.error());
  return wait_generation(s, http, *want, timeout, required, not_enforcing);
}

}  // namespace strand::lab
