#pragma once
// Human units for tables only (JSON output keeps the API's raw numbers).
#include <cstdint>
#include <string>

namespace strand::ctl {

// 900 -> "900B", 1234 -> "1.2KiB", 5 << 20 -> "5.0MiB" (binary prefixes, one decimal).
[[nodiscard]] std::string format_bytes(uint64_t bytes);

// Microseconds: 42 -> "42us", 1500 -> "1.5ms", 2'300'000 -> "2.3s".
[[nodiscard]] std::string format_micros(uint64_t us);

// An age in milliseconds, two most significant units: "0s", "45s", "3m12s", "2h5m", "3d4h".
[[nodiscard]] std::string format_age(int64_t ms);

// A wall-clock instant (unix ms) in UTC: "19:04:05.123" within a day of now_ms,
// else "2026-11-20T19:04:05".
[[nodiscard]] std::string format_time(int64_t unix_ms, int64_t now_ms);

}  // namespace strand::ctl
