#include "agent/sources/k8s/reflector.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include "common/log.h"

namespace strand::sources::k8s {

namespace {
constexpr int kMaxListRestarts = 3;  // a continue token that expires (410) restarts the list

std::string http_error_text(const Response& r) {
  std::string text = "HTTP " + std::to_string(r.status);
  if (auto st = parse_status_body(r.body); st) {
    if (!st->reason.empty()) text += " " + st->reason;
    if (!st->message.empty()) text += ": " + st->message;
  }
  return text;
}
}  // namespace

Reflector::Reflector(const Resource& resource, ApiClient& client, model::Model& model, ReflectorOptions opts,
                     uint64_t seed)
    : resource_(resource), client_(client), model_(model), opts_(opts),
      backoff_(opts.backoff_min, opts.backoff_max, seed) {}

Reflector::~Reflector() { join(); }

void Reflector::start() {
  thread_ = std::thread([this] {
    // A write to a connection the server reset must fail with EPIPE, not
    // kill the process (the agent may not ignore SIGPIPE yet).
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    run();
  });
}

void Reflector::join() {
  if (thread_.joinable()) thread_.join();
}

ReflectorStats Reflector::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Reflector::note_error(const Error& e, const char* what) {
  log::warn(what, {{"resource", std::string(resource_.plural)}, {"error", e.message()}});
  update_stats([&](ReflectorStats& s) {
    ++s.errors;
    s.last_error = e.message();
  });
}

bool Reflector::sleep(std::chrono::milliseconds d) {
  const auto deadline = Clock::now() + d;
  auto st = wait_fd(client_.wake_fd(), POLLIN, -1, deadline, "backoff");
  // The wake fd itself is what we wait on: ready means stopped.
  return !st.has_value() && st.error().err == ETIMEDOUT;
}

void Reflector::run() {
  bool need_list = true;
  int gone_in_a_row = 0;  // 410s with nothing received between them: back off
  while (true) {
    if (need_list) {
      if (auto st = list(); !st) {
        if (st.error().err == ECANCELED) return;
        note_error(st.error(), "list failed");
        const auto wait = backoff_.next();
        log::info("retrying", {{"resource", std::string(resource_.plural)}, {"after_ms", std::to_string(wait.count())}});
        if (!sleep(wait)) return;
        update_stats([](ReflectorStats& s) { ++s.reconnects; });
        continue;
      }
      // A list is a success, unless its watch keeps being gone at once:
      // then the waits between relists keep growing.
      if (gone_in_a_row <= 1) backoff_.reset();
      need_list = false;
    }
    Error err;
    const auto started = Clock::now();
    const uint64_t events_before = stats().watch_events + stats().bookmarks;
    switch (watch(err)) {
      case WatchEnd::kCancelled: return;
      case WatchEnd::kGone: {
        log::info("resource version gone, relisting", {{"resource", std::string(resource_.plural)}, {"resource_version", rv_}});
        update_stats([](ReflectorStats& s) { ++s.gone; });
        need_list = true;
        const auto s = stats();
        gone_in_a_row = s.watch_events + s.bookmarks > events_before ? 1 : gone_in_a_row + 1;
        if (gone_in_a_row > 1) {
          // A fresh list's resourceVersion already too old: the server is
          // not keeping up; do not relist in a tight loop.
          if (!sleep(backoff_.next())) return;
          update_stats([](ReflectorStats& st) { ++st.reconnects; });
        }
        continue;
      }
      case WatchEnd::kClosed: {
        gone_in_a_row = 0;
        const auto s = stats();
        // A watch that ran or delivered something is a success; one the
        // server ends at once, again and again, must not spin.
        if (s.watch_events + s.bookmarks > events_before || Clock::now() - started >= std::chrono::seconds(1)) {
          backoff_.reset();
          continue;
        }
        const auto wait = backoff_.next();
        if (!sleep(wait)) return;
        update_stats([](ReflectorStats& s) { ++s.reconnects; });
        continue;
      }
      case WatchEnd::kError: {
        note_error(err, "watch failed");
        const auto wait = backoff_.next();
        log::info("reconnecting", {{"resource", std::string(resource_.plural)}, {"resource_version", rv_},
                                   {"after_ms", std::to_string(wait.count())}});
        if (!sleep(wait)) return;
        update_stats([](ReflectorStats& s) { ++s.reconnects; });
        continue;
      }
    }
  }
}

Status Reflector::list() {
  std::vector<nlohmann::json> items;
  std::string cont;
  std::string rv;
  int restarts = 0;
  while (true) {
    auto r = client_.get(list_target(resource_, opts_.page_limit, cont), opts_.request_timeout);
    if (!r) return std::unexpected(with_context(r.error(), "list " + std::string(resource_.plural)));
    if (r->status == 410 && !cont.empty() && restarts < kMaxListRestarts) {
      // The continue token expired: the snapshot is gone, start over.
      log::info("list continue expired, restarting", {{"resource", std::string(resource_.plural)}});
      ++restarts;
      items.clear();
      cont.clear();
      continue;
    }
    if (r->status != 200) {
      return fail("list " + std::string(resource_.plural), r->status == 401 || r->status == 403 ? EACCES : EPROTO,
                  http_error_text(*r));
    }
    auto page = parse_list(r->body);
    if (!page) return std::unexpected(with_context(page.error(), std::string(resource_.plural)));
    update_stats([](ReflectorStats& s) { ++s.list_pages; });
    for (auto& it : page->items) items.push_back(std::move(it));
    rv = page->resource_version;
    cont = page->cont;
    if (cont.empty()) break;
  }

  model::Update update;
  std::set<model::Key> now;
  uint64_t skipped = 0;
  for (auto& item : items) {
    auto key = key_of(resource_, item);
    if (!key) {
      log::warn("object skipped", {{"resource", std::string(resource_.plural)}, {"error", key.error().message()}});
      ++skipped;
      continue;
    }
    auto obj = parse_item(resource_, std::move(item));
    if (!obj) {
      log::warn("object skipped", {{"object", key->str()}, {"error", obj.error().message()}});
      ++skipped;
      if (known_.contains(*key)) now.insert(*key);  // its last good version stays
      continue;
    }
    if (!*obj) continue;
    now.insert(*key);
    update.upserts.push_back(std::move(**obj));
  }
  for (const auto& k : known_) {
    if (!now.contains(k)) update.removals.push_back(k);
  }
  const size_t removals = update.removals.size();
  const size_t upserts = update.upserts.size();
  const uint64_t version = model_.apply(std::move(update));
  known_ = std::move(now);
  rv_ = rv;
  const bool first = !synced_.load();
  update_stats([&](ReflectorStats& s) {
    ++s.lists;
    if (!first) ++s.relists;
    s.skipped += skipped;
    s.resource_version = rv;
  });
  log::info(first ? "list applied" : "relist applied",
            {{"resource", std::string(resource_.plural)}, {"objects", std::to_string(upserts)},
             {"removed", std::to_string(removals)}, {"skipped", std::to_string(skipped)}, {"resource_version", rv},
             {"model_version", std::to_string(version)}});
  synced_.store(true);
  return {};
}

Reflector::WatchEnd Reflector::watch(Error& err) {
  const std::string target = watch_target(resource_, rv_, opts_.watch_timeout_seconds);
  auto r = client_.open(target, opts_.request_timeout);
  if (!r) {
    if (r.error().err == ECANCELED) return WatchEnd::kCancelled;
    err = with_context(r.error(), "watch " + std::string(resource_.plural));
    return WatchEnd::kError;
  }
  if (r->status() == 410) return WatchEnd::kGone;
  if (r->status() != 200) {
    auto body = r->read_all(Clock::now() + opts_.request_timeout, 1 << 20);
    Response resp{r->status(), body ? *body : std::string()};
    err = fail("watch " + std::string(resource_.plural), r->status() == 401 || r->status() == 403 ? EACCES : EPROTO,
               http_error_text(resp)).error();
    return WatchEnd::kError;
  }
  update_stats([](ReflectorStats& s) { ++s.watches; });
  log::debug("watch started", {{"resource", std::string(resource_.plural)}, {"resource_version", rv_}});
  const auto idle = std::chrono::seconds(opts_.watch_timeout_seconds) + opts_.watch_idle_grace;
  LineSplitter lines;
  std::string buf;
  while (true) {
    buf.clear();
    auto more = r->read(buf, Clock::now() + idle);
    if (!more) {
      if (more.error().err == ECANCELED) return WatchEnd::kCancelled;
      err = with_context(more.error(), "watch " + std::string(resource_.plural));
      return WatchEnd::kError;
    }
    if (auto st = lines.feed(buf); !st) {
      err = st.error();
      return WatchEnd::kError;
    }
    while (auto line = lines.next()) {
      WatchEnd end = WatchEnd::kClosed;
      if (!handle_line(*line, end, err)) return end;
    }
    if (!*more) {
      if (lines.pending_bytes() > 0) {
        log::warn("watch ended inside an event", {{"resource", std::string(resource_.plural)},
                                                   {"bytes", std::to_string(lines.pending_bytes())}});
      }
      log::debug("watch ended", {{"resource", std::string(resource_.plural)}, {"resource_version", rv_}});
      return WatchEnd::kClosed;
    }
  }
}

bool Reflector::handle_line(const std::string& line, WatchEnd& end, Error& err) {
  auto ev = parse_watch_event(line);
  if (!ev) {
    // The stream is not what we think it is: resume from the last good event.
    err = with_context(ev.error(), "watch " + std::string(resource_.plural));
    end = WatchEnd::kError;
    return false;
  }
  if (ev->type == EventType::kError) {
    auto st = parse_status(ev->object);
    if (st && st->code == 410) {
      end = WatchEnd::kGone;
      return false;
    }
    err = fail("watch " + std::string(resource_.plural), EPROTO,
               "ERROR event" + (st ? " code " + std::to_string(st->code) + " " + st->reason + ": " + st->message
                                   : std::string(": ") + ev->object.dump()))
              .error();
    end = WatchEnd::kError;
    return false;
  }
  std::string rv = resource_version_of(ev->object);
  uint64_t skipped = 0;
  if (ev->type == EventType::kBookmark) {
    // Carries only metadata.resourceVersion.
  } else if (auto key = key_of(resource_, ev->object); !key) {
    log::warn("event skipped", {{"resource", std::string(resource_.plural)}, {"type", std::string(event_type_name(ev->type))},
                                {"error", key.error().message()}});
    ++skipped;
  } else if (ev->type == EventType::kDeleted) {
    model_.remove(*key);
    known_.erase(*key);
  } else {
    auto obj = parse_item(resource_, std::move(ev->object));
    if (!obj) {
      log::warn("object skipped", {{"object", key->str()}, {"type", std::string(event_type_name(ev->type))},
                                   {"error", obj.error().message()}});
      ++skipped;
    } else if (*obj) {
      model_.upsert(std::move(**obj));
      known_.insert(*key);
    }
  }
  if (!rv.empty()) rv_ = rv;
  update_stats([&](ReflectorStats& s) {
    if (ev->type == EventType::kBookmark) {
      ++s.bookmarks;
    } else {
      ++s.watch_events;
    }
    s.skipped += skipped;
    s.resource_version = rv_;
  });
  return true;
}

}  // namespace strand::sources::k8s
