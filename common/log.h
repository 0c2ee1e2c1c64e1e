#pragma once
// Logging: spdlog with a fixed event phrase followed by key=value fields.
//   log::info("veth created", {{"container", id}, {"host_if", name}});
#include <spdlog/spdlog.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace strand::log {

using Field = std::pair<std::string_view, std::string>;

// Sets up the default logger: a file (append, flushed on every line at warn and
// above) or, with an empty path, stderr. Never stdout. Level names as spdlog's.
void init(const std::string& name, const std::string& file, const std::string& level);

// Fields carried on every line this thread logs (container=..., ifname=...).
void set_context(std::initializer_list<Field> fields);

// One line in another process's log file, in the format init() gives: how
// strand-agent records, in the plugin's logFile, a verb it ran for the plugin
// with process id `pid`. O_APPEND, one write; errors are ignored.
void append_line(const std::string& file, std::string_view name, int pid, std::string_view level,
                 std::string_view event, std::initializer_list<Field> fields);

[[nodiscard]] std::string format(std::string_view event, std::initializer_list<Field> fields);

inline void debug(std::string_view ev, std::initializer_list<Field> f = {}) { spdlog::debug("{}", format(ev, f)); }
inline void info(std::string_view ev, std::initializer_list<Field> f = {}) { spdlog::info("{}", format(ev, f)); }
inline void warn(std::string_view ev, std::initializer_list<Field> f = {}) { spdlog::warn("{}", format(ev, f)); }
inline void error(std::string_view ev, std::initializer_list<Field> f = {}) { spdlog::error("{}", format(ev, f)); }

}  // namespace strand::log
