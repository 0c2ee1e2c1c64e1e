#pragma once
// Certificates made at test time (nothing checked in): a CA, a server
// certificate it signs for 127.0.0.1 and localhost, and a client CA with a
// client certificate. EC P-256, valid for a day.
#include <string>
#include <vector>

#include "agent/sources/k8s/tls.h"

namespace strand::sources::k8s::testing {

struct Issued {
  std::string cert_pem;
  std::string key_pem;
};

struct Pki {
  Issued ca;          // signs `server`
  Issued server;      // SAN IP:127.0.0.1, DNS:localhost
  Issued client_ca;   // signs `client`
  Issued client;      // CN=system:node:test, O=system:nodes
  Issued other_ca;    // signs nothing the server uses: a CA mismatch
  Issued other_client;  // signed by other_ca: a client the server refuses
};

// Generates a fresh set (aborts the test binary on an OpenSSL failure).
[[nodiscard]] Pki make_pki();

}  // namespace strand::sources::k8s::testing
