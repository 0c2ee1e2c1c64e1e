#pragma once
// ApiClient: GET requests to the Kubernetes API over HTTPS, one connection
// per request (Connection: close). get() reads a whole response (lists);
// open() returns the response as soon as its head arrived and lets the caller
// read the body as it streams (watches). Every wait watches the wake fd, so
// stopping the source interrupts a request at once. Thread-safe: reflectors
// share one client.
#include <memory>
#include <string>

#include "agent/sources/k8s/cluster_config.h"
#include "agent/sources/k8s/http_wire.h"
#include "agent/sources/k8s/tls.h"
#include "agent/sources/k8s/token.h"

namespace strand::sources::k8s {

struct Response {
  int status = 0;
  std::string body;
};

class BodyReader {
 public:
  [[nodiscard]] int status() const { return head_.status; }
  [[nodiscard]] const ResponseHead& head() const { return head_; }
  // Appends the next decoded body bytes to `out` (waiting for some until the
  // deadline); false once the body has ended. A body cut short (EOF inside a
  // chunk or before Content-Length) is an error (ECONNRESET).
  [[nodiscard]] Result<bool> read(std::string& out, Clock::time_point deadline);
  // The whole rest of the body, bounded by max_bytes (EMSGSIZE beyond).
  [[nodiscard]] Result<std::string> read_all(Clock::time_point deadline, size_t max_bytes = 256u << 20);

 private:
  friend class ApiClient;
  enum class Framing { kChunked, kLength, kEof };
  BodyReader(TlsConn conn, ResponseHead head, std::string leftover, Framing framing, uint64_t length)
      : conn_(std::move(conn)), head_(std::move(head)), pending_(std::move(leftover)), framing_(framing),
        remaining_(length) {}
  TlsConn conn_;
  ResponseHead head_;
  std::string pending_;  // raw bytes read past the head, not yet decoded
  Framing framing_;
  uint64_t remaining_ = 0;
  ChunkedDecoder chunked_;
  bool ended_ = false;
};

class ApiClient {
 public:
  // Builds the TLS context (CA, client certificate) from `config`; the token
  // comes from `config.token` or `config.token_file`.
  [[nodiscard]] static Result<std::unique_ptr<ApiClient>> create(ClusterConfig config, int wake_fd);

  // Sends GET `target` (path and query, without the server's path prefix)
  // and reads the response head; `timeout` bounds connect, handshake, send
  // and head.
  [[nodiscard]] Result<BodyReader> open(const std::string& target, Clock::duration timeout);
  // open() and read_all() within `timeout`.
  [[nodiscard]] Result<Response> get(const std::string& target, Clock::duration timeout);

  [[nodiscard]] const ClusterConfig& config() const { return config_; }
  [[nodiscard]] int wake_fd() const { return wake_fd_; }

 private:
  ApiClient(ClusterConfig config, SslCtxPtr ctx, int wake_fd);
  ClusterConfig config_;
  SslCtxPtr ctx_;
  TokenSource token_;
  int wake_fd_;
};

}  // namespace strand::sources::k8s
