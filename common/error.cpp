#include "common/error.h"

#include <cstring>

namespace strand {

std::string errno_name(int err) {
  // strerrorname_np is a glibc extension (2.32+); Debian 12 has it.
  if (const char* name = strerrorname_np(err); name != nullptr) return name;
  return "E" + std::to_string(err);
}

std::string Error::message() const {
  std::string out = op;
  if (!context.empty()) out += " " + context;
  if (err != 0) {
    out += ": ";
    out += std::strerror(err);
    out += " (" + errno_name(err) + ")";
  }
  return out;
}

}  // namespace strand
