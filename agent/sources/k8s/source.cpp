#include "agent/sources/k8s/source.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <random>

#include "common/log.h"

namespace strand::sources::k8s {

Result<std::unique_ptr<K8sSource>> K8sSource::open(ClusterConfig config, model::Model& model, ReflectorOptions opts) {
  UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake) return fail_errno("eventfd", "k8s source");
  const std::string origin = config.origin;
  const std::string server = config.server.authority() + config.server.path_prefix;
  auto client = ApiClient::create(std::move(config), wake.get());
  if (!client) return std::unexpected(with_context(client.error(), origin));
  std::unique_ptr<K8sSource> src(new K8sSource(std::move(wake), std::move(*client)));
  std::random_device rd;
  for (const auto& r : resources()) {
    src->reflectors_.push_back(std::make_unique<Reflector>(r, *src->client_, model, opts, (uint64_t{rd()} << 32) | rd()));
  }
  log::info("k8s source opened", {{"server", server}, {"from", origin}});
  return src;
}

K8sSource::~K8sSource() { stop(); }

Status K8sSource::start() {
  if (started_) return fail("k8s source start", EALREADY);
  started_ = true;
  for (auto& r : reflectors_) r->start();
  return {};
}

void K8sSource::stop() {
  if (stopped_) return;
  stopped_ = true;
  const uint64_t one = 1;
  if (::write(wake_.get(), &one, sizeof(one)) != sizeof(one)) {
    log::error("k8s source not woken", {{"error", fail_errno("write", "eventfd").error().message()}});
  }
  for (auto& r : reflectors_) r->join();
}

bool K8sSource::synced() const {
  for (const auto& r : reflectors_) {
    if (!r->synced()) return false;
  }
  return !reflectors_.empty();
}

K8sStats K8sSource::stats() const {
  K8sStats out;
  for (const auto& r : reflectors_) {
    ReflectorStats s = r->stats();
    out.lists += s.lists;
    out.relists += s.relists;
    out.watches += s.watches;
    out.watch_events += s.watch_events;
    out.bookmarks += s.bookmarks;
    out.gone += s.gone;
    out.reconnects += s.reconnects;
    out.errors += s.errors;
    out.skipped += s.skipped;
    out.per_kind[r->resource().kind] = std::move(s);
  }
  return out;
}

}  // namespace strand::sources::k8s
