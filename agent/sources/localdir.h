#pragma once
// LocalDirSource: the model fed from manifests in one directory (strand-lab's
// and the demo's source). Every *.yaml, *.yml and *.json file directly in the
// directory (not hidden, not recursive) contributes its Namespaces, Pods,
// NetworkPolicies and Nodes. inotify tells which files changed: written and
// closed, renamed in (write a temp file, then rename), renamed out or
// deleted. The objects a file contributed leave the model when the file goes
// or stops containing them. A file that fails to parse keeps its previous
// objects (the error is logged with file and line). A full rescan runs at
// start and when the inotify queue overflows.
//
// When two files define the same object, the one loaded last wins; when it
// drops the object, the other file's version comes back.
//
// Generations: a writer that needs to know when its manifests took effect
// writes a decimal number to `.generation` in the directory (temp file +
// rename) after them. The source reads it after applying every manifest
// change queued before it and reports (generation, model version): once the
// agent has applied that model version, everything written before the
// generation is in effect (GET /v1/policies "generation").
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/model/model.h"
#include "common/error.h"
#include "common/fd.h"

namespace strand::sources {

struct LocalDirStats {
  uint64_t loads = 0;     // files read and parsed successfully (a removed file counts as loaded empty)
  uint64_t errors = 0;    // files that failed to read or parse (their previous objects kept)
  uint64_t rescans = 0;   // full rescans (start, queue overflow)
  uint64_t overflows = 0; // IN_Q_OVERFLOW seen

  bool operator==(const LocalDirStats&) const = default;
};

class LocalDirSource {
 public:
  // Watches `dir` (which must exist). Nothing is read until start() or rescan().
  [[nodiscard]] static Result<std::unique_ptr<LocalDirSource>> open(const std::string& dir, model::Model& model);
  ~LocalDirSource();
  LocalDirSource(const LocalDirSource&) = delete;
  LocalDirSource& operator=(const LocalDirSource&) = delete;

  // Rescans synchronously (the model is complete when it returns), then
  // follows the directory on its own thread until stop() or destruction.
  [[nodiscard]] Status start();
  void stop();

  // Poll-driven use (tests, or a caller with its own loop): read every file
  // again; handle the queued inotify events without blocking. Not to be
  // mixed with start().
  void rescan();
  [[nodiscard]] Result<size_t> process_events();  // events read
  [[nodiscard]] int fd() const { return inotify_.get(); }

  // Called with (generation, model version) whenever `.generation` is read
  // with a valid number (at every rescan and after every change of it).
  // Set before start(); called on the source's thread.
  using GenerationFn = std::function<void(uint64_t generation, uint64_t model_version)>;
  void on_generation(GenerationFn fn) { on_generation_ = std::move(fn); }
  // True once the first full scan is done.
  [[nodiscard]] bool synced() const { return synced_.load(); }
  [[nodiscard]] LocalDirStats stats() const;
  [[nodiscard]] const std::string& dir() const { return dir_; }

 private:
  LocalDirSource(std::string dir, model::Model& model, UniqueFd inotify, UniqueFd wake);
  void run();
  // Reads `names` again (a missing one contributes nothing) and applies the
  // net change to the model in one update.
  void reload(const std::set<std::string>& names);
  // Reads `.generation` and reports it (a missing file is silent, a bad one logged).
  void read_generation();
  GenerationFn on_generation_;

  std::string dir_;
  model::Model& model_;
  UniqueFd inotify_;
  UniqueFd wake_;  // eventfd: stop() wakes the thread
  std::thread thread_;
  std::atomic<bool> synced_{false};

  mutable std::mutex mu_;  // everything below
  // What each file contributed at its last successful load.
  std::map<std::string, std::map<model::Key, model::Object>> contributions_;
  // The files defining each key, the one loaded last at the back.
  std::map<model::Key, std::vector<std::string>> owners_;
  LocalDirStats stats_;
};

}  // namespace strand::sources
