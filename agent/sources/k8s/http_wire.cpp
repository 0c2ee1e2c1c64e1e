#include "agent/sources/k8s/http_wire.h"

#include <cctype>
#include <cerrno>
#include <charconv>

namespace strand::sources::k8s {

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}
std::unexpected<Error> proto(const std::string& why) { return fail("http", EPROTO, why); }
}  // namespace

std::string build_get(std::string_view authority, std::string_view target, std::string_view token) {
  std::string r;
  r.reserve(256 + target.size() + token.size());
  r.append("GET ").append(target).append(" HTTP/1.1\r\n");
  r.append("Host: ").append(authority).append("\r\n");
  r.append("Accept: application/json\r\n");
  r.append("User-Agent: strand-agent\r\n");
  if (!token.empty()) r.append("Authorization: Bearer ").append(token).append("\r\n");
  r.append("Connection: close\r\n\r\n");
  return r;
}

const std::string* ResponseHead::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? nullptr : &it->second;
}

Result<ResponseHead> parse_response_head(std::string_view head) {
  ResponseHead out;
  size_t eol = head.find('\n');
  std::string_view status_line = trim(head.substr(0, eol));
  if (!status_line.starts_with("HTTP/1.")) return proto("bad status line '" + std::string(status_line) + "'");
  const size_t sp = status_line.find(' ');
  if (sp == std::string_view::npos || status_line.size() < sp + 4) return proto("bad status line '" + std::string(status_line) + "'");
  std::string_view code = status_line.substr(sp + 1, 3);
  auto [p, ec] = std::from_chars(code.data(), code.data() + 3, out.status);
  if (ec != std::errc() || p != code.data() + 3 || out.status < 100 || out.status > 599) {
    return proto("bad status code in '" + std::string(status_line) + "'");
  }
  if (status_line.size() > sp + 4) out.reason = trim(status_line.substr(sp + 4));
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 1);
    eol = head.find('\n');
    std::string_view line = trim(head.substr(0, eol));
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return proto("bad header line '" + std::string(line) + "'");
    out.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return out;
}

Status ChunkedDecoder::feed(std::string_view in, std::string& out) {
  while (!in.empty() && state_ != State::kDone) {
    switch (state_) {
      case State::kSize:
      case State::kTrailer: {
        const size_t nl = in.find('\n');
        line_.append(in.substr(0, nl));
        if (line_.size() > 4096) return proto("chunk header line too long");
        if (nl == std::string_view::npos) return {};
        in.remove_prefix(nl + 1);
        std::string_view line = trim(line_);
        if (state_ == State::kTrailer) {
          if (line.empty()) state_ = State::kDone;
          line_.clear();
          break;
        }
        std::string_view hex = line.substr(0, line.find(';'));  // chunk extensions ignored
        hex = trim(hex);
        uint64_t size = 0;
        auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
        if (hex.empty() || ec != std::errc() || p != hex.data() + hex.size()) {
          return proto("bad chunk size '" + std::string(line) + "'");
        }
        line_.clear();
        if (size == 0) {
          state_ = State::kTrailer;
        } else {
          remaining_ = size;
          state_ = State::kData;
        }
        break;
      }
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
        out.append(in.substr(0, n));
        in.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) {
          state_ = State::kDataCrlf;
          crlf_seen_ = 0;
        }
        break;
      }
      case State::kDataCrlf: {
        // "\r\n" after the data ("\n" alone tolerated).
        const char c = in.front();
        in.remove_prefix(1);
        if (c == '\r' && crlf_seen_ == 0) {
          crlf_seen_ = 1;
        } else if (c == '\n') {
          state_ = State::kSize;
        } else {
          return proto("missing CRLF after chunk data");
        }
        break;
      }
      case State::kDone: break;
    }
  }
  return {};
}

Status LineSplitter::feed(std::string_view in) {
  while (!in.empty()) {
    const size_t nl = in.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(in);
      if (partial_.size() > max_) return fail("watch stream", EMSGSIZE, "record over " + std::to_string(max_) + " bytes");
      return {};
    }
    partial_.append(in.substr(0, nl));
    in.remove_prefix(nl + 1);
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    if (partial_.size() > max_) return fail("watch stream", EMSGSIZE, "record over " + std::to_string(max_) + " bytes");
    if (!partial_.empty()) ready_.push_back(std::move(partial_));
    partial_.clear();
  }
  return {};
}

std::optional<std::string> LineSplitter::next() {
  if (ready_.empty()) return std::nullopt;
  std::string out = std::move(ready_.front());
  ready_.pop_front();
  return out;
}

std::string url_encode(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace strand::sources::k8s
