#include "cni/ipam/resolv_conf.h"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "common/fd.h"

namespace strand::cni::ipam {
namespace {

std::vector<std::string> fields(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) out.emplace_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

Dns parse_resolv_conf(std::string_view text) {
  Dns dns;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto f = fields(line);
    if (f.empty() || f[0][0] == '#' || f[0][0] == ';') continue;
    std::vector<std::string> rest(f.begin() + 1, f.end());
    if (f[0] == "nameserver" && !rest.empty()) {
      dns.nameservers.push_back(rest[0]);
    } else if (f[0] == "domain" && !rest.empty()) {
      dns.domain = rest[0];
    } else if (f[0] == "search") {
      dns.search = std::move(rest);
    } else if (f[0] == "options") {
      dns.options.insert(dns.options.end(), rest.begin(), rest.end());
    }
  }
  return dns;
}

strand::Result<Dns> read_resolv_conf(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open", path);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("read", path);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return parse_resolv_conf(text);
}

}  // namespace strand::cni::ipam
