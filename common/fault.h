#pragma once
// Fault points for tests: when STRAND_TEST_FAIL_AT names a step, that step
// fails with EIO ("injected"). Used by the rollback tests to fail ADD at each
// step; inert otherwise (one getenv per process).
#include <string_view>

#include "common/error.h"

namespace strand {

[[nodiscard]] Status fault_point(std::string_view step);

}  // namespace strand
