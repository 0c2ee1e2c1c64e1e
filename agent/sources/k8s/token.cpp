#include "agent/sources/k8s/token.h"

#include <sys/stat.h>

#include "common/fs.h"
#include "common/log.h"

namespace strand::sources::k8s {

std::string trim_token(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t b = text.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  const size_t e = text.find_last_not_of(kSpace);
  return std::string(text.substr(b, e - b + 1));
}

TokenSource::TokenSource(std::string token, std::string file)
    : file_(token.empty() ? std::move(file) : std::string()), token_(std::move(token)), loaded_(true) {
  if (!file_.empty()) loaded_ = false;
}

Result<std::string> TokenSource::current() {
  std::lock_guard lock(mu_);
  if (file_.empty()) return token_;
  struct stat st{};
  if (::stat(file_.c_str(), &st) != 0) {
    auto e = fail_errno("stat", "token file " + file_);
    if (!loaded_) return std::unexpected(e.error());
    log::warn("token file not readable, keeping the last token", {{"error", e.error().message()}});
    return token_;
  }
  if (loaded_ && st.st_dev == dev_ && st.st_ino == ino_ && st.st_size == size_ &&
      st.st_mtim.tv_sec == mtime_.tv_sec && st.st_mtim.tv_nsec == mtime_.tv_nsec) {
    return token_;
  }
  auto text = read_file(file_);
  if (!text) {
    if (!loaded_) return std::unexpected(with_context(text.error(), "token file"));
    log::warn("token file not readable, keeping the last token", {{"error", text.error().message()}});
    return token_;
  }
  token_ = trim_token(*text);
  if (loaded_) log::info("token reloaded", {{"file", file_}});
  loaded_ = true;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  size_ = st.st_size;
  mtime_ = st.st_mtim;
  ++reads_;
  return token_;
}

uint64_t TokenSource::reads() const {
  std::lock_guard lock(mu_);
  return reads_;
}

}  // namespace strand::sources::k8s
