#pragma once
// HTTP/1.1 on the wire, as the API client needs it: the GET request, the
// response head, and incremental decoders for a chunked body and for
// newline-delimited records (watch events) that may be split anywhere across
// chunks or reads. Pure: bytes in, values out.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace strand::sources::k8s {

// GET `target` with Host, Accept: application/json, User-Agent and, when the
// token is not empty, Authorization: Bearer. Connection: close.
[[nodiscard]] std::string build_get(std::string_view authority, std::string_view target, std::string_view token);

struct ResponseHead {
  int status = 0;
  std::string reason;
  std::map<std::string, std::string> headers;  // names lower-cased; a repeated header keeps the last value

  [[nodiscard]] const std::string* header(const std::string& lower_name) const;
};

// The head up to (not including) the blank line. EPROTO on a malformed
// status line or header.
[[nodiscard]] Result<ResponseHead> parse_response_head(std::string_view head);

// Transfer-Encoding: chunked. feed() appends the decoded payload of `in` to
// `out` and may be called with any split of the stream; done() after the
// last chunk and its trailers. Bytes after the end are ignored.
class ChunkedDecoder {
 public:
  [[nodiscard]] Status feed(std::string_view in, std::string& out);
  [[nodiscard]] bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataCrlf, kTrailer, kDone };
  State state_ = State::kSize;
  std::string line_;      // size or trailer line collected so far
  uint64_t remaining_ = 0;
  size_t crlf_seen_ = 0;
};

// Splits a byte stream into '\n'-terminated records ('\r' before it dropped,
// empty records skipped). A record longer than `max_record` is an error
// (EMSGSIZE): the stream is broken.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_record = 64u << 20) : max_(max_record) {}
  [[nodiscard]] Status feed(std::string_view in);
  [[nodiscard]] std::optional<std::string> next();
  [[nodiscard]] size_t pending_bytes() const { return partial_.size(); }

 private:
  size_t max_;
  std::string partial_;
  std::deque<std::string> ready_;
};

// Percent-encodes a query value (RFC 3986 unreserved characters kept).
[[nodiscard]] std::string url_encode(std::string_view v);

}  // namespace strand::sources::k8s
