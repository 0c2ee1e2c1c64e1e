#include "datapath/drop_reasons.h"

#include <algorithm>

namespace strand::datapath {
namespace {

constexpr bool numbers_ascending_and_in_slots() {
  for (std::size_t i = 0; i < kDropReasons.size(); ++i) {
    if (kDropReasons[i].number >= kDropSlots) return false;
    if (i > 0 && kDropReasons[i].number <= kDropReasons[i - 1].number) return false;
  }
  return true;
}

constexpr bool names_unique() {
  for (std::size_t i = 0; i < kDropReasons.size(); ++i) {
    for (std::size_t j = i + 1; j < kDropReasons.size(); ++j) {
      if (kDropReasons[i].name == kDropReasons[j].name) return false;
    }
  }
  return true;
}

// Ascending also means unique: a number is never listed twice.
static_assert(numbers_ascending_and_in_slots(),
              "drop reason numbers must ascend and fit STRAND_DROP_SLOTS counters");
static_assert(names_unique(), "drop reason names must be unique");
static_assert(kDropReasons.front().number == 0 && kDropReasons.front().name == "none");

}  // namespace

std::span<const DropReasonInfo> drop_reasons() { return kDropReasons; }

std::string_view drop_reason_name(std::uint32_t number) {
  auto it = std::ranges::find(kDropReasons, number, &DropReasonInfo::number);
  return it == kDropReasons.end() ? std::string_view{"unknown"} : it->name;
}

std::optional<std::uint32_t> drop_reason_number(std::string_view name) {
  auto it = std::ranges::find(kDropReasons, name, &DropReasonInfo::name);
  if (it == kDropReasons.end()) return std::nullopt;
  return it->number;
}

}  // namespace strand::datapath
