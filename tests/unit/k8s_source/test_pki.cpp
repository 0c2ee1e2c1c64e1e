#include "test_pki.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>

namespace strand::sources::k8s::testing {

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "test pki: %s failed: %s\n", what, ssl_error_text().c_str());
  std::abort();
}

std::string pem_of(X509* x) {
  BioPtr b(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(b.get(), x) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string pem_of(EVP_PKEY* k) {
  BioPtr b(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr) == 1, "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

struct Made {
  X509Ptr cert;
  PkeyPtr key;
};

// Signed by (issuer, issuer_key), or self-signed when issuer is null.
Made make_cert(const char* cn, const char* org, X509* issuer, EVP_PKEY* issuer_key, bool ca, const char* san,
               const char* eku) {
  static long serial = 1;
  Made m;
  m.key.reset(EVP_EC_gen("P-256"));
  check(m.key != nullptr, "EVP_EC_gen");
  m.cert.reset(X509_new());
  X509* x = m.cert.get();
  check(X509_set_version(x, 2) == 1, "X509_set_version");
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, m.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  if (org != nullptr) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(org), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509* signer = issuer == nullptr ? x : issuer;
  check(X509_set_issuer_name(x, X509_get_subject_name(signer)) == 1, "X509_set_issuer_name");
  if (ca) {
    add_ext(x, signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x, signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, signer, NID_key_usage, "critical,digitalSignature");
    add_ext(x, signer, NID_ext_key_usage, eku);
  }
  add_ext(x, signer, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) add_ext(x, signer, NID_authority_key_identifier, "keyid:always");
  if (san != nullptr) add_ext(x, signer, NID_subject_alt_name, san);
  check(X509_sign(x, issuer_key == nullptr ? m.key.get() : issuer_key, EVP_sha256()) > 0, "X509_sign");
  return m;
}

Issued issued(const Made& m) { return {pem_of(m.cert.get()), pem_of(m.key.get())}; }

}  // namespace

Pki make_pki() {
  Pki p;
  Made ca = make_cert("strand-test-ca", nullptr, nullptr, nullptr, true, nullptr, nullptr);
  Made server = make_cert("kube-apiserver", nullptr, ca.cert.get(), ca.key.get(), false,
                          "IP:127.0.0.1,DNS:localhost", "serverAuth");
  Made client_ca = make_cert("strand-test-client-ca", nullptr, nullptr, nullptr, true, nullptr, nullptr);
  Made client = make_cert("system:node:test", "system:nodes", client_ca.cert.get(), client_ca.key.get(), false,
                          nullptr, "clientAuth");
  Made other = make_cert("strand-test-other-ca", nullptr, nullptr, nullptr, true, nullptr, nullptr);
  Made other_client = make_cert("intruder", nullptr, other.cert.get(), other.key.get(), false, nullptr, "clientAuth");
  p.ca = issued(ca);
  p.server = issued(server);
  p.client_ca = issued(client_ca);
  p.client = issued(client);
  p.other_ca = issued(other);
  p.other_client = issued(other_client);
  return p;
}

}  // namespace strand::sources::k8s::testing
