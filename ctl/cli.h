#pragma once
// argv -> Options (CLI11). Help is exit 0; any usage error is exit 2.
#include <expected>
#include <ostream>

#include "ctl/commands.h"

namespace strand::ctl {

// On success the options to run; otherwise the exit code, after printing help
// (to out) or the usage error (to err). env_agent is $STRAND_AGENT or null.
[[nodiscard]] std::expected<Options, int> parse_args(int argc, const char* const* argv, const char* env_agent,
                                                     std::ostream& out, std::ostream& err);

}  // namespace strand::ctl
