#include "agent/sources/k8s/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace strand::sources::k8s {

std::string ssl_error_text() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Result<std::vector<X509Ptr>> read_pem_certs(std::string_view pem, const std::string& what) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return fail("BIO_new_mem_buf", ENOMEM, what);
  std::vector<X509Ptr> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the read that ended the loop
  if (out.empty()) return fail("read certificate", EINVAL, what + ": no PEM certificate");
  return out;
}

Result<PkeyPtr> read_pem_key(std::string_view pem, const std::string& what) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return fail("BIO_new_mem_buf", ENOMEM, what);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return fail("read private key", EINVAL, what + ": " + ssl_error_text());
  return key;
}

Result<SslCtxPtr> make_client_context(const ClusterConfig& c) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return fail("SSL_CTX_new", ENOMEM, ssl_error_text());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (c.insecure_skip_tls_verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!c.ca_pem.empty()) {
      auto certs = read_pem_certs(c.ca_pem, "certificate-authority of " + c.origin);
      if (!certs) return std::unexpected(certs.error());
      X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
      for (auto& x : *certs) {
        if (X509_STORE_add_cert(store, x.get()) != 1) {
          return fail("X509_STORE_add_cert", EINVAL, c.origin + ": " + ssl_error_text());
        }
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      return fail("SSL_CTX_set_default_verify_paths", EINVAL, ssl_error_text());
    }
  }
  if (!c.client_cert_pem.empty()) {
    auto certs = read_pem_certs(c.client_cert_pem, "client-certificate of " + c.origin);
    if (!certs) return std::unexpected(certs.error());
    if (SSL_CTX_use_certificate(ctx.get(), (*certs)[0].get()) != 1) {
      return fail("SSL_CTX_use_certificate", EINVAL, c.origin + ": " + ssl_error_text());
    }
    for (size_t i = 1; i < certs->size(); ++i) {
      if (SSL_CTX_add1_chain_cert(ctx.get(), (*certs)[i].get()) != 1) {
        return fail("SSL_CTX_add1_chain_cert", EINVAL, c.origin + ": " + ssl_error_text());
      }
    }
    auto key = read_pem_key(c.client_key_pem, "client-key of " + c.origin);
    if (!key) return std::unexpected(key.error());
    if (SSL_CTX_use_PrivateKey(ctx.get(), key->get()) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1) {
      return fail("SSL_CTX_use_PrivateKey", EINVAL, c.origin + ": client key does not match the certificate: " + ssl_error_text());
    }
  }
  return ctx;
}

Status wait_fd(int fd, short events, int wake_fd, Clock::time_point deadline, const std::string& what) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return fail("wait", ETIMEDOUT, what);
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    const int n = ::poll(fds, wake_fd >= 0 ? 2 : 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll", what);
    }
    if (wake_fd >= 0 && (fds[1].revents & POLLIN) != 0) return fail("wait", ECANCELED, what);
    if (fds[0].revents != 0) return {};
  }
}

namespace {

// One handshake/read/write step's SSL error: wait for the socket, or fail.
Status ssl_wait(SSL* ssl, int rc, int fd, int wake_fd, Clock::time_point deadline, const std::string& op,
                const std::string& peer) {
  const int e = SSL_get_error(ssl, rc);
  if (e == SSL_ERROR_WANT_READ) return wait_fd(fd, POLLIN, wake_fd, deadline, op + " " + peer);
  if (e == SSL_ERROR_WANT_WRITE) return wait_fd(fd, POLLOUT, wake_fd, deadline, op + " " + peer);
  if (e == SSL_ERROR_SYSCALL) {
    const int err = errno != 0 ? errno : ECONNRESET;
    std::string text = ssl_error_text();
    return fail(op, err, peer + (text.empty() ? "" : ": " + text));
  }
  std::string text = ssl_error_text();
  if (e == SSL_ERROR_SSL) {
    const long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) text += std::string(" (verify: ") + X509_verify_cert_error_string(v) + ")";
  }
  return fail(op, EPROTO, peer + ": " + (text.empty() ? "SSL error " + std::to_string(e) : text));
}

}  // namespace

Result<TlsConn> TlsConn::connect(SSL_CTX* ctx, const std::string& host, uint16_t port, const std::string& verify_name,
                                 int wake_fd, Clock::time_point deadline) {
  const std::string peer = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0) {
    return fail("getaddrinfo", rc == EAI_SYSTEM ? errno : EHOSTUNREACH, peer + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addrs(res, &::freeaddrinfo);
  Error last{"connect", ECONNREFUSED, peer};
  UniqueFd fd;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    UniqueFd s(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (!s) {
      last = fail_errno("socket", peer).error();
      continue;
    }
    if (::connect(s.get(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = fail_errno("connect", peer).error();
        continue;
      }
      if (auto st = wait_fd(s.get(), POLLOUT, wake_fd, deadline, "connect " + peer); !st) {
        if (st.error().err == ECANCELED) return std::unexpected(st.error());
        last = st.error();
        continue;
      }
      int soerr = 0;
      socklen_t len = sizeof(soerr);
      ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &soerr, &len);
      if (soerr != 0) {
        last = fail("connect", soerr, peer).error();
        continue;
      }
    }
    fd = std::move(s);
    break;
  }
  if (!fd) return std::unexpected(last);
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  // Keepalive: a silently dead peer ends a quiet watch within about a minute.
  ::setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
  int idle = 30, intvl = 10, cnt = 3;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));

  ERR_clear_error();
  SslPtr ssl(SSL_new(ctx));
  if (!ssl) return fail("SSL_new", ENOMEM, ssl_error_text());
  if (SSL_set_fd(ssl.get(), fd.get()) != 1) return fail("SSL_set_fd", EINVAL, ssl_error_text());
  in6_addr a6{};
  in_addr a4{};
  const bool is_ip = ::inet_pton(AF_INET, verify_name.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, verify_name.c_str(), &a6) == 1;
  if (SSL_CTX_get_verify_mode(ctx) != SSL_VERIFY_NONE) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, verify_name.c_str())
                         : X509_VERIFY_PARAM_set1_host(param, verify_name.c_str(), 0);
    if (ok != 1) return fail("X509_VERIFY_PARAM_set1", EINVAL, verify_name + ": " + ssl_error_text());
  }
  if (!is_ip) SSL_set_tlsext_host_name(ssl.get(), verify_name.c_str());
  while (true) {
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_connect(ssl.get());
    if (rc == 1) break;
    if (auto st = ssl_wait(ssl.get(), rc, fd.get(), wake_fd, deadline, "TLS handshake", peer); !st) {
      return std::unexpected(st.error());
    }
  }
  return TlsConn(std::move(fd), std::move(ssl), wake_fd, peer);
}

TlsConn::~TlsConn() {
  // No close_notify: the connection is dropped (Connection: close), and a
  // shutdown could block on a dead peer.
}

Status TlsConn::write_all(std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()));
    if (rc > 0) {
      data.remove_prefix(static_cast<size_t>(rc));
      continue;
    }
    if (auto st = ssl_wait(ssl_.get(), rc, fd_.get(), wake_fd_, deadline, "TLS write", peer_); !st) return st;
  }
  return {};
}

Result<size_t> TlsConn::read_some(char* buf, size_t cap, Clock::time_point deadline) {
  while (true) {
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_read(ssl_.get(), buf, static_cast<int>(std::min<size_t>(cap, 1 << 30)));
    if (rc > 0) return static_cast<size_t>(rc);
    const int e = SSL_get_error(ssl_.get(), rc);
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    // A peer that closes TCP without close_notify: the end, for a body
    // framed by chunks or a length the caller checks completeness itself.
    if (e == SSL_ERROR_SYSCALL && errno == 0) return 0;
    if (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      ERR_clear_error();
      return 0;
    }
    if (auto st = ssl_wait(ssl_.get(), rc, fd_.get(), wake_fd_, deadline, "TLS read", peer_); !st) {
      return std::unexpected(st.error());
    }
  }
}

}  // namespace strand::sources::k8s
