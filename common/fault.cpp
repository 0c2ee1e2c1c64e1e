#include "common/fault.h"

#include <cstdlib>
#include <string>

namespace strand {

Status fault_point(std::string_view step) {
  static const char* target = std::getenv("STRAND_TEST_FAIL_AT");
  if (target != nullptr && step == target) return fail(std::string(step), EIO, "injected by STRAND_TEST_FAIL_AT");
  return {};
}

}  // namespace strand
