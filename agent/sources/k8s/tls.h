#pragma once
// TLS over OpenSSL: RAII owners for OpenSSL objects, the client context built
// from a ClusterConfig (CA, verification, client certificate), and TlsConn, a
// non-blocking TCP + TLS connection whose every wait also watches a wake fd,
// so stop() interrupts a connect, handshake or read at once (ECANCELED).
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sources/k8s/cluster_config.h"
#include "common/error.h"
#include "common/fd.h"

namespace strand::sources::k8s {

struct SslCtxFree { void operator()(SSL_CTX* p) const { SSL_CTX_free(p); } };
struct SslFree { void operator()(SSL* p) const { SSL_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The OpenSSL error queue as text (emptied): "error:0A000086:SSL routines::certificate verify failed".
[[nodiscard]] std::string ssl_error_text();

// Every certificate in PEM text, in order. EINVAL when there is none.
[[nodiscard]] Result<std::vector<X509Ptr>> read_pem_certs(std::string_view pem, const std::string& what);
[[nodiscard]] Result<PkeyPtr> read_pem_key(std::string_view pem, const std::string& what);

// TLS 1.2+; the server's certificate verified against ca_pem (or the system
// store) unless insecure_skip_tls_verify; the client certificate and key
// loaded when given.
[[nodiscard]] Result<SslCtxPtr> make_client_context(const ClusterConfig& c);

using Clock = std::chrono::steady_clock;

class TlsConn {
 public:
  // TCP connect to host:port, then the TLS handshake verifying `verify_name`
  // (an IP address or a DNS name) unless the context does not verify.
  [[nodiscard]] static Result<TlsConn> connect(SSL_CTX* ctx, const std::string& host, uint16_t port,
                                               const std::string& verify_name, int wake_fd,
                                               Clock::time_point deadline);
  TlsConn(TlsConn&&) noexcept = default;
  TlsConn& operator=(TlsConn&&) noexcept = default;
  ~TlsConn();

  [[nodiscard]] Status write_all(std::string_view data, Clock::time_point deadline);
  // Up to `cap` bytes into buf; 0 at the end of the stream (close_notify or
  // TCP EOF). ETIMEDOUT at the deadline, ECANCELED when woken.
  [[nodiscard]] Result<size_t> read_some(char* buf, size_t cap, Clock::time_point deadline);

 private:
  TlsConn(UniqueFd fd, SslPtr ssl, int wake_fd, std::string peer)
      : fd_(std::move(fd)), ssl_(std::move(ssl)), wake_fd_(wake_fd), peer_(std::move(peer)) {}
  UniqueFd fd_;  // declared before ssl_: SSL_free runs first
  SslPtr ssl_;
  int wake_fd_ = -1;
  std::string peer_;
};

// Waits until `fd` is ready for `events` (POLLIN/POLLOUT). ECANCELED when
// wake_fd becomes readable, ETIMEDOUT at the deadline.
[[nodiscard]] Status wait_fd(int fd, short events, int wake_fd, Clock::time_point deadline, const std::string& what);

}  // namespace strand::sources::k8s
