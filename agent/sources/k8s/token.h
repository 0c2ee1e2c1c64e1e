#pragma once
// TokenSource: the bearer token for each request. A file token (projected
// service account tokens are rotated by the kubelet, by swapping a symlink)
// is read again whenever the file's identity or mtime changes, so a rotated
// token is used from the next request on. Thread-safe.
#include <sys/types.h>

#include <ctime>
#include <mutex>
#include <string>

#include "common/error.h"

namespace strand::sources::k8s {

class TokenSource {
 public:
  // Neither set: no Authorization header. Both: the inline token.
  TokenSource(std::string token, std::string file);

  // "" when there is no token. An error when the file cannot be read and no
  // earlier read succeeded (a later failure keeps the last good token).
  [[nodiscard]] Result<std::string> current();
  [[nodiscard]] uint64_t reads() const;  // times the file was (re)read

 private:
  std::string file_;
  mutable std::mutex mu_;
  std::string token_;
  bool loaded_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  off_t size_ = -1;
  timespec mtime_{};
  uint64_t reads_ = 0;
};

// The token as written in a file: surrounding whitespace trimmed.
[[nodiscard]] std::string trim_token(std::string_view text);

}  // namespace strand::sources::k8s
