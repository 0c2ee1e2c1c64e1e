#include "agent/sources/k8s/base64.h"

#include <cerrno>

namespace strand::sources::k8s {

namespace {
int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

Result<std::string> base64_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  size_t digits = 0;
  size_t pad = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return fail("base64 decode", EINVAL, "data after padding at offset " + std::to_string(i));
    const int v = value_of(c);
    if (v < 0) return fail("base64 decode", EINVAL, "invalid character at offset " + std::to_string(i));
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    ++digits;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (digits % 4 == 1) return fail("base64 decode", EINVAL, "truncated input");
  if (pad > 0 && (digits + pad) % 4 != 0) return fail("base64 decode", EINVAL, "bad padding");
  return out;
}

}  // namespace strand::sources::k8s
