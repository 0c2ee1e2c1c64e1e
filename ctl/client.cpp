#include "ctl/client.h"

#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include "common/fd.h"

namespace strand::ctl {
namespace {

std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string percent_encode(const std::string& v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

std::string reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

}  // namespace

std::string build_target(const std::string& path, const Params& params) {
  std::string out = path;
  char sep = '?';
  for (const auto& [k, v] : params) {
    out += sep;
    out += percent_encode(k);
    out += '=';
    out += percent_encode(v);
    sep = '&';
  }
  return out;
}

std::string probe_connect_error(const AgentAddress& addr, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(addr.port);
  if (const int rc = getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return lower_first(rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  int last = 0;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      last = errno;
      continue;
    }
    if (connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0) return "connection closed without a response";
    if (errno != EINPROGRESS) {
      last = errno;
      continue;
    }
    pollfd p{fd.get(), POLLOUT, 0};
    const int n = poll(&p, 1, timeout_ms);
    if (n == 0) {
      last = ETIMEDOUT;
      continue;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (n < 0 || getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) {
      last = errno;
      continue;
    }
    if (so_error == 0) return "connection closed without a response";
    last = so_error;
  }
  return last != 0 ? lower_first(std::strerror(last)) : "no address to connect to";
}

std::string http_error_detail(int status, const std::string& body) {
  std::string out = "HTTP " + std::to_string(status);
  if (const std::string phrase = reason_phrase(status); !phrase.empty()) out += " " + phrase;
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return out + ": " + j["error"].get<std::string>();
  std::string excerpt = body.substr(0, 200);
  while (!excerpt.empty() && std::isspace(static_cast<unsigned char>(excerpt.back()))) excerpt.pop_back();
  for (char& c : excerpt)
    if (c == '\n' || c == '\r') c = ' ';
  return excerpt.empty() ? out : out + ": " + excerpt;
}

AgentClient::AgentClient(AgentAddress addr, int connect_timeout_ms, int read_timeout_ms)
    : addr_(std::move(addr)), connect_timeout_ms_(connect_timeout_ms), read_timeout_ms_(read_timeout_ms) {}

Result<Response> AgentClient::get(const std::string& path, const Params& params) const {
  httplib::Client cli(addr_.host, addr_.port);
  cli.set_connection_timeout(connect_timeout_ms_ / 1000, (connect_timeout_ms_ % 1000) * 1000);
  cli.set_read_timeout(read_timeout_ms_ / 1000, (read_timeout_ms_ % 1000) * 1000);
  const std::string target = build_target(path, params);
  auto res = cli.Get(target);
  if (!res) {
    const httplib::Error e = res.error();
    const std::string op = "cannot reach agent at " + addr_.str();
    switch (e) {
      case httplib::Error::Connection:
        return fail(op, 0, probe_connect_error(addr_, connect_timeout_ms_));
      case httplib::Error::ConnectionTimeout:
        return fail(op, ETIMEDOUT, "connection timed out");
      case httplib::Error::Read:
        return fail(op, 0, "GET " + target + ": no complete response within " +
                               std::to_string(read_timeout_ms_ / 1000) + "s");
      case httplib::Error::Write:
        return fail(op, 0, "GET " + target + ": sending the request failed");
      default:
        return fail(op, 0, "GET " + target + ": " + httplib::to_string(e));
    }
  }
  return Response{res->status, res->body};
}

Result<nlohmann::ordered_json> AgentClient::get_json(const std::string& path, const Params& params) const {
  auto r = get(path, params);
  if (!r) return std::unexpected(r.error());
  const std::string op = "agent at " + addr_.str();
  const std::string what = "GET " + build_target(path, params);
  if (r->status < 200 || r->status > 299) return fail(op, 0, what + ": " + http_error_detail(r->status, r->body));
  auto j = nlohmann::ordered_json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail(op, 0, what + ": the body is not JSON");
  return j;
}

std::string describe(const Error& e) { return e.context.empty() ? e.op : e.op + ": " + e.context; }

}  // namespace strand::ctl
