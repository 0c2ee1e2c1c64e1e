#include "common/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "common/fd.h"

namespace strand::log {

namespace {
// Per thread: strand-agent runs handed-over verbs on worker threads, each with
// its container's fields.
std::string& context() {
  thread_local std::string ctx;
  return ctx;
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n') return true;
  }
  return false;
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
  out += ' ';
  out += key;
  out += '=';
  if (!needs_quotes(value)) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\n') ? ' ' : c;
  }
  out += '"';
}
}  // namespace

void init(const std::string& name, const std::string& file, const std::string& level) {
  spdlog::sink_ptr sink;
  if (!file.empty()) {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, false);
    } catch (const spdlog::spdlog_ex&) {
      sink.reset();  // unwritable log file: fall back to stderr, never fail the caller
    }
  }
  if (!sink) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
  // UTC, offset written out: local time (and %z) would read /etc/localtime in
  // every plugin process.
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%f+00:00 %l " + name + "[%P] %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level.empty() ? "info" : level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

void set_context(std::initializer_list<Field> fields) {
  std::string out;
  for (const auto& [k, v] : fields) append_field(out, k, v);
  context() = std::move(out);
}

std::string format(std::string_view event, std::initializer_list<Field> fields) {
  std::string out(event);
  for (const auto& [k, v] : fields) append_field(out, k, v);
  out += context();
  return out;
}

void append_line(const std::string& file, std::string_view name, int pid, std::string_view level,
                 std::string_view event, std::initializer_list<Field> fields) {
  if (file.empty()) return;
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  ::gmtime_r(&now.tv_sec, &utc);
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%06ld+00:00", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, now.tv_nsec / 1000);
  std::string line = std::string(stamp) + " " + std::string(level) + " " + std::string(name) + "[" +
                     std::to_string(pid) + "] " + std::string(event);
  for (const auto& [k, v] : fields) append_field(line, k, v);
  line += '\n';
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd) (void)!::write(fd.get(), line.data(), line.size());
}

}  // namespace strand::log
