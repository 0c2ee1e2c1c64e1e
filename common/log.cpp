#include "common/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace strand::log {

namespace {
std::string& context() {
  static std::string ctx;
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

}  // namespace strand::log
