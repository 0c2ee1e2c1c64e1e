// Drop reason names for user space, generated from the one list in
// datapath/bpf/include/drop_reasons.h that also makes the BPF enum.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "datapath/bpf/include/drop_reasons.h"

namespace strand::datapath {

struct DropReasonInfo {
  std::uint32_t number;
  std::string_view name;
};

inline constexpr std::uint32_t kDropSlots = STRAND_DROP_SLOTS;

inline constexpr std::array kDropReasons = {
#define STRAND_DROP_INFO(name, num, str) DropReasonInfo{num, str},
    STRAND_DROP_REASONS(STRAND_DROP_INFO)
#undef STRAND_DROP_INFO
};

// Every reason in ascending number, "none" (0) included.
std::span<const DropReasonInfo> drop_reasons();

// "truncated-l3" for 4; "unknown" for a number not in the list.
std::string_view drop_reason_name(std::uint32_t number);

// The inverse, for filters given by name.
std::optional<std::uint32_t> drop_reason_number(std::string_view name);

}  // namespace strand::datapath
