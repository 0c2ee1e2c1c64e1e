#include "agent/sources/k8s/client.h"

#include <cerrno>
#include <charconv>

namespace strand::sources::k8s {

namespace {
constexpr size_t kMaxHead = 64 * 1024;
constexpr size_t kReadSize = 64 * 1024;
}  // namespace

Result<bool> BodyReader::read(std::string& out, Clock::time_point deadline) {
  if (ended_) return false;
  const size_t before = out.size();
  while (out.size() == before) {
    if (pending_.empty()) {
      if (framing_ == Framing::kLength && remaining_ == 0) {
        ended_ = true;
        return false;
      }
      char buf[kReadSize];
      auto n = conn_.read_some(buf, sizeof(buf), deadline);
      if (!n) return std::unexpected(n.error());
      if (*n == 0) {
        ended_ = true;
        if (framing_ == Framing::kEof) return out.size() != before;
        return fail("read body", ECONNRESET, "connection closed before the end of the body");
      }
      pending_.assign(buf, *n);
    }
    switch (framing_) {
      case Framing::kChunked: {
        if (auto st = chunked_.feed(pending_, out); !st) return std::unexpected(st.error());
        pending_.clear();
        if (chunked_.done()) {
          ended_ = true;
          return out.size() != before;
        }
        break;
      }
      case Framing::kLength: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, pending_.size()));
        out.append(pending_, 0, n);
        remaining_ -= n;
        pending_.clear();  // bytes past Content-Length are ignored (Connection: close)
        if (remaining_ == 0) {
          ended_ = true;
          return out.size() != before;
        }
        break;
      }
      case Framing::kEof:
        out.append(pending_);
        pending_.clear();
        break;
    }
  }
  return true;
}

Result<std::string> BodyReader::read_all(Clock::time_point deadline, size_t max_bytes) {
  std::string body;
  while (true) {
    auto more = read(body, deadline);
    if (!more) return std::unexpected(more.error());
    if (body.size() > max_bytes) return fail("read body", EMSGSIZE, "over " + std::to_string(max_bytes) + " bytes");
    if (!*more) return body;
  }
}

ApiClient::ApiClient(ClusterConfig config, SslCtxPtr ctx, int wake_fd)
    : config_(std::move(config)), ctx_(std::move(ctx)), token_(config_.token, config_.token_file), wake_fd_(wake_fd) {}

Result<std::unique_ptr<ApiClient>> ApiClient::create(ClusterConfig config, int wake_fd) {
  auto ctx = make_client_context(config);
  if (!ctx) return std::unexpected(ctx.error());
  return std::unique_ptr<ApiClient>(new ApiClient(std::move(config), std::move(*ctx), wake_fd));
}

Result<BodyReader> ApiClient::open(const std::string& target, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  auto token = token_.current();
  if (!token) return std::unexpected(token.error());
  const auto& s = config_.server;
  const std::string verify_name = config_.tls_server_name.empty() ? s.host : config_.tls_server_name;
  auto conn = TlsConn::connect(ctx_.get(), s.host, s.port, verify_name, wake_fd_, deadline);
  if (!conn) return std::unexpected(conn.error());
  if (auto st = conn->write_all(build_get(s.authority(), s.path_prefix + target, *token), deadline); !st) {
    return std::unexpected(st.error());
  }
  std::string raw;
  size_t end = std::string::npos;
  while (true) {
    char buf[kReadSize];
    auto n = conn->read_some(buf, sizeof(buf), deadline);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) return fail("read response", ECONNRESET, s.authority() + ": closed before the response head");
    const size_t from = raw.size() < 3 ? 0 : raw.size() - 3;
    raw.append(buf, *n);
    end = raw.find("\r\n\r\n", from);
    if (end != std::string::npos) break;
    if (raw.size() > kMaxHead) return fail("read response", EMSGSIZE, s.authority() + ": response head too long");
  }
  auto head = parse_response_head(std::string_view(raw).substr(0, end));
  if (!head) return std::unexpected(with_context(head.error(), s.authority()));
  std::string leftover = raw.substr(end + 4);
  auto framing = BodyReader::Framing::kEof;
  uint64_t length = 0;
  if (const std::string* te = head->header("transfer-encoding"); te != nullptr && te->find("chunked") != std::string::npos) {
    framing = BodyReader::Framing::kChunked;
  } else if (const std::string* cl = head->header("content-length"); cl != nullptr) {
    auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), length);
    if (ec != std::errc() || p != cl->data() + cl->size()) return fail("read response", EPROTO, "bad Content-Length '" + *cl + "'");
    framing = BodyReader::Framing::kLength;
  }
  return BodyReader(std::move(*conn), std::move(*head), std::move(leftover), framing, length);
}

Result<Response> ApiClient::get(const std::string& target, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  auto r = open(target, timeout);
  if (!r) return std::unexpected(r.error());
  auto body = r->read_all(deadline);
  if (!body) return std::unexpected(body.error());
  return Response{r->status(), std::move(*body)};
}

}  // namespace strand::sources::k8s
