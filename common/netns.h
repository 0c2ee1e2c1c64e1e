#pragma once
// Netns: an open network namespace handle. enter() switches the calling thread
// into it and returns a guard that switches back when destroyed.
#include <string>

#include "common/error.h"
#include "common/fd.h"

namespace strand {

class Netns {
 public:
  class Guard {
   public:
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    Guard(Guard&& o) noexcept = default;
    Guard& operator=(Guard&&) = delete;
    ~Guard();

   private:
    friend class Netns;
    explicit Guard(UniqueFd origin) : origin_(std::move(origin)) {}
    UniqueFd origin_;
  };

  // Opens a namespace by path (/run/netns/x, /proc/<pid>/ns/net).
  [[nodiscard]] static Result<Netns> open(const std::string& path);
  // The calling thread's current namespace.
  [[nodiscard]] static Result<Netns> current();

  // Moves the calling thread into this namespace until the guard is destroyed.
  [[nodiscard]] Result<Guard> enter() const;

  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  Netns(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

}  // namespace strand
