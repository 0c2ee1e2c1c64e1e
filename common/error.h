#pragma once
// Error and Result: every fallible operation returns Result<T>, carrying the
// operation, the errno and the objects involved. No exceptions cross modules.
#include <cerrno>
#include <expected>
#include <string>
#include <utility>

namespace strand {

struct Error {
  std::string op;       // the call or message: "RTM_NEWLINK", "open", "ipam.allocate"
  int err = 0;          // errno (positive), 0 when not an OS error
  std::string context;  // the objects: "veth st4a1 in /run/netns/x", plus ext-ack text

  // "RTM_NEWLINK veth st4a1: File exists (EEXIST)"
  [[nodiscard]] std::string message() const;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

[[nodiscard]] inline std::unexpected<Error> fail(std::string op, int err, std::string context = {}) {
  return std::unexpected<Error>(Error{std::move(op), err, std::move(context)});
}

// fail() with the current errno.
[[nodiscard]] inline std::unexpected<Error> fail_errno(std::string op, std::string context = {}) {
  return fail(std::move(op), errno, std::move(context));
}

// Prefixes more context onto an error as it travels up: "in netns /run/netns/x: ...".
[[nodiscard]] inline Error with_context(Error e, const std::string& outer) {
  e.context = e.context.empty() ? outer : outer + ": " + e.context;
  return e;
}

// Symbolic errno name ("EEXIST"), or "E<n>" when unknown.
[[nodiscard]] std::string errno_name(int err);

}  // namespace strand
