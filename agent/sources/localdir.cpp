#include "agent/sources/localdir.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>

#include "agent/sources/manifest.h"
#include "common/fs.h"
#include "common/log.h"

namespace strand::sources {

namespace {

constexpr uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
                                IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

// A ConfigMap volume swaps this symlink to publish new content.
constexpr std::string_view kConfigMapData = "..data";

constexpr std::string_view kGenerationFile = ".generation";

Result<std::vector<std::string>> list_manifests(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return fail_errno("opendir", dir);
  std::vector<std::string> out;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_type == DT_DIR || !is_manifest_name(e->d_name)) continue;
    out.emplace_back(e->d_name);
  }
  ::closedir(d);
  return out;
}

}  // namespace

Result<std::unique_ptr<LocalDirSource>> LocalDirSource::open(const std::string& dir, model::Model& model) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) return fail_errno("stat", "source dir " + dir);
  if (!S_ISDIR(st.st_mode)) return fail("stat", ENOTDIR, "source dir " + dir);
  UniqueFd in(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!in) return fail_errno("inotify_init1", dir);
  if (::inotify_add_watch(in.get(), dir.c_str(), kWatchMask) < 0) return fail_errno("inotify_add_watch", dir);
  UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake) return fail_errno("eventfd", dir);
  return std::unique_ptr<LocalDirSource>(new LocalDirSource(dir, model, std::move(in), std::move(wake)));
}

LocalDirSource::LocalDirSource(std::string dir, model::Model& model, UniqueFd inotify, UniqueFd wake)
    : dir_(std::move(dir)), model_(model), inotify_(std::move(inotify)), wake_(std::move(wake)) {}

LocalDirSource::~LocalDirSource() { stop(); }

Status LocalDirSource::start() {
  if (thread_.joinable()) return fail("localdir start", EALREADY, dir_);
  rescan();
  {
    std::lock_guard lock(mu_);
    log::info("source synced", {{"dir", dir_}, {"files", std::to_string(contributions_.size())},
                                {"objects", std::to_string(owners_.size())}, {"errors", std::to_string(stats_.errors)}});
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void LocalDirSource::stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  if (::write(wake_.get(), &one, sizeof(one)) != sizeof(one)) {
    log::error("source not woken", {{"dir", dir_}, {"error", fail_errno("write", "eventfd").error().message()}});
  }
  thread_.join();
}

void LocalDirSource::run() {
  while (true) {
    pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log::error("source poll failed", {{"dir", dir_}, {"error", fail_errno("poll", dir_).error().message()}});
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) != 0) {
      if (auto n = process_events(); !n) {
        log::error("source events not read", {{"dir", dir_}, {"error", n.error().message()}});
        return;
      }
    }
  }
}

void LocalDirSource::rescan() {
  std::set<std::string> names;
  if (auto files = list_manifests(dir_); files) {
    names.insert(files->begin(), files->end());
  } else {
    // Keep what we have: a directory that cannot be listed is not an empty one.
    log::error("source dir not read", {{"dir", dir_}, {"error", files.error().message()}});
    std::lock_guard lock(mu_);
    ++stats_.errors;
    return;
  }
  {
    std::lock_guard lock(mu_);
    for (const auto& [file, objs] : contributions_) names.insert(file);
    ++stats_.rescans;
  }
  reload(names);
  read_generation();
  synced_.store(true);
}

void LocalDirSource::read_generation() {
  const std::string path = dir_ + "/" + std::string(kGenerationFile);
  auto text = read_file(path);
  if (!text) {
    if (text.error().err != ENOENT) log::warn("generation not read", {{"file", path}, {"error", text.error().message()}});
    return;
  }
  std::string t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ' || t.back() == '\r')) t.pop_back();
  uint64_t gen = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), gen);
  if (ec != std::errc{} || end != t.data() + t.size() || t.empty()) {
    log::warn("generation not a number", {{"file", path}, {"content", t.substr(0, 32)}});
    return;
  }
  if (on_generation_) on_generation_(gen, model_.version());
}

Result<size_t> LocalDirSource::process_events() {
  alignas(inotify_event) char buf[16 * 1024];
  std::set<std::string> dirty;
  bool full = false;
  bool generation = false;
  size_t events = 0;
  while (true) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return fail_errno("read", "inotify of " + dir_);
    }
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      ++events;
      if ((ev->mask & IN_Q_OVERFLOW) != 0) {
        log::warn("source events overflowed, rescanning", {{"dir", dir_}});
        std::lock_guard lock(mu_);
        ++stats_.overflows;
        full = true;
        continue;
      }
      if ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) != 0) {
        log::error("source dir removed, keeping its objects", {{"dir", dir_}});
        continue;
      }
      if (ev->len == 0) continue;
      std::string name(ev->name);
      if (name == kConfigMapData) {
        full = true;
        continue;
      }
      if (name == kGenerationFile) {
        if ((ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) != 0) generation = true;
        continue;
      }
      if (!is_manifest_name(name)) continue;
      if ((ev->mask & IN_CREATE) != 0) {
        // A new regular file is read when closed after writing; a symlink
        // has no such moment.
        struct stat st{};
        if (::lstat((dir_ + "/" + name).c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) continue;
      }
      dirty.insert(std::move(name));
    }
  }
  if (full) {
    rescan();  // reads the generation too
  } else {
    if (!dirty.empty()) reload(dirty);
    if (generation) read_generation();
  }
  return events;
}

void LocalDirSource::reload(const std::set<std::string>& names) {
  std::lock_guard lock(mu_);
  std::set<model::Key> touched;
  for (const auto& name : names) {
    const std::string path = dir_ + "/" + name;
    std::map<model::Key, model::Object> now;
    struct stat st{};
    bool present = ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    if (present) {
      auto text = read_file(path);
      if (!text && text.error().err == ENOENT) {
        present = false;  // removed since the event
      } else if (!text) {
        log::error("manifest not read, keeping its objects", {{"file", path}, {"error", text.error().message()}});
        ++stats_.errors;
        continue;
      } else {
        auto manifest = parse_manifest(*text, path);
        if (!manifest) {
          log::error("manifest not loaded, keeping its objects",
                     {{"file", path}, {"error", manifest.error().message()}});
          ++stats_.errors;
          continue;
        }
        for (const auto& what : manifest->ignored) log::debug("manifest kind ignored", {{"object", what}});
        for (auto& obj : manifest->objects) {
          model::Key k = model::key_of(obj);
          now.insert_or_assign(std::move(k), std::move(obj));
        }
      }
    }
    ++stats_.loads;
    auto old = contributions_.find(name);
    if (old != contributions_.end()) {
      for (const auto& [k, obj] : old->second) {
        touched.insert(k);
        auto& files = owners_[k];
        std::erase(files, name);
        if (files.empty()) owners_.erase(k);
      }
    }
    for (const auto& [k, obj] : now) {
      touched.insert(k);
      auto& files = owners_[k];
      files.push_back(name);
      if (files.size() > 1) {
        std::string all;
        for (const auto& f : files) all += (all.empty() ? "" : ",") + f;
        log::warn("object defined in several files, the last loaded wins",
                  {{"object", k.str()}, {"files", all}, {"dir", dir_}});
      }
    }
    log::info(present ? "manifest loaded" : "manifest gone",
              {{"file", path}, {"objects", std::to_string(now.size())}});
    if (now.empty()) {
      contributions_.erase(name);
    } else {
      contributions_[name] = std::move(now);
    }
  }

  model::Update update;
  for (const auto& k : touched) {
    auto it = owners_.find(k);
    if (it == owners_.end()) {
      update.removals.push_back(k);
    } else {
      update.upserts.push_back(contributions_.at(it->second.back()).at(k));
    }
  }
  if (!update.removals.empty() || !update.upserts.empty()) model_.apply(std::move(update));
}

LocalDirStats LocalDirSource::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace strand::sources
