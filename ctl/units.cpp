#include "ctl/units.h"

#include <fmt/format.h>

#include <array>
#include <ctime>

namespace strand::ctl {

std::string format_bytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{}B", bytes);
  static constexpr std::array<const char*, 6> kUnits{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  size_t i = 0;
  // Round first so 1048575 shows as "1.0MiB", not "1024.0KiB".
  while (i + 1 < kUnits.size() && v >= 1023.95) {
    v /= 1024.0;
    ++i;
  }
  return fmt::format("{:.1f}{}", v, kUnits[i]);
}

std::string format_micros(uint64_t us) {
  if (us < 1000) return fmt::format("{}us", us);
  if (us < 999'950) return fmt::format("{:.1f}ms", static_cast<double>(us) / 1e3);
  return fmt::format("{:.1f}s", static_cast<double>(us) / 1e6);
}

std::string format_age(int64_t ms) {
  if (ms < 0) ms = 0;
  const int64_t s = ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return s % 60 ? fmt::format("{}m{}s", s / 60, s % 60) : fmt::format("{}m", s / 60);
  if (s < 86400) {
    const int64_t m = (s % 3600) / 60;
    return m ? fmt::format("{}h{}m", s / 3600, m) : fmt::format("{}h", s / 3600);
  }
  const int64_t h = (s % 86400) / 3600;
  return h ? fmt::format("{}d{}h", s / 86400, h) : fmt::format("{}d", s / 86400);
}

std::string format_time(int64_t unix_ms, int64_t now_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
  const int64_t millis = unix_ms - static_cast<int64_t>(secs) * 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  const int64_t diff = now_ms - unix_ms;
  if (diff > -86'400'000 && diff < 86'400'000)
    return fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace strand::ctl
