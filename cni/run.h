#pragma once
// One verb run to its end: what the plugin prints on stdout and its exit code.
// The plugin process runs it in main(); strand-agent runs the same function on
// a worker thread for a plugin that handed it the verb (cni/handoff_wire.h).
#include <string>

#include "cni/conf.h"
#include "cni/env.h"
#include "cni/types.h"

namespace strand::cni {

struct Outcome {
  int exit = 0;     // 0 on success, 1 with the spec's error JSON in `out`
  std::string out;  // stdout, newline-terminated; empty when the verb prints nothing
};

// The verb's minimum cniVersion: CHECK needs 0.4.0, GC and STATUS 1.1.0 (code 1).
[[nodiscard]] CniStatus version_gate(const Env& env, const NetConf& conf);

// ADD, DEL, CHECK, GC or STATUS with the version checks each needs. VERSION and
// the strand-ipam personality are main()'s. Logs the error it reports.
[[nodiscard]] Outcome run_verb(const Env& env, const NetConf& conf);

// The spec's error JSON for `e` in `version`, logged as "failed".
[[nodiscard]] Outcome error_outcome(const CniError& e, const std::string& version);

}  // namespace strand::cni
