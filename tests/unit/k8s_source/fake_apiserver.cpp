#include "fake_apiserver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <strings.h>

#include <chrono>
#include <cstdio>
#include <utility>

namespace strand::sources::k8s::testing {

using nlohmann::json;

namespace {

struct ResourceInfo {
  const char* kind;
  const char* list_kind;
  const char* api_version;
};

const ResourceInfo* info_of(const std::string& path) {
  static const std::map<std::string, ResourceInfo> kInfo = {
      {kPods, {"Pod", "PodList", "v1"}},
      {kNamespaces, {"Namespace", "NamespaceList", "v1"}},
      {kNodes, {"Node", "NodeList", "v1"}},
      {kPolicies, {"NetworkPolicy", "NetworkPolicyList", "networking.k8s.io/v1"}},
  };
  auto it = kInfo.find(path);
  return it == kInfo.end() ? nullptr : &it->second;
}

std::string key_of(const json& obj) {
  const json& m = obj.at("metadata");
  return m.value("namespace", "") + "/" + m.value("name", "");
}

json status_json(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"status", "Failure"},
          {"message", message}, {"reason", reason}, {"code", code}};
}

const char* reason_phrase(int code) {
  switch (code) {
    case 200: return "OK";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 410: return "Gone";
    default: return "Error";
  }
}

bool write_all(SSL* ssl, std::string_view data) {
  while (!data.empty()) {
    const int n = SSL_write(ssl, data.data(), static_cast<int>(data.size()));
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool write_chunk(SSL* ssl, std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  std::string out = size;
  out.append(data).append("\r\n");
  return write_all(ssl, out);
}

bool respond(SSL* ssl, int code, const std::string& body) {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + reason_phrase(code) +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n" + body;
  return write_all(ssl, out);
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

uint64_t to_u64(const std::string& s) {
  try {
    return s.empty() ? 0 : std::stoull(s);
  } catch (...) {
    return 0;
  }
}

}  // namespace

FakeApiServer::FakeApiServer(FakeApiServerOptions opts) : opts_(std::move(opts)) {
  ctx_.reset(SSL_CTX_new(TLS_server_method()));
  auto certs = read_pem_certs(opts_.cert_pem, "server cert");
  auto key = read_pem_key(opts_.key_pem, "server key");
  if (!ctx_ || !certs || !key || SSL_CTX_use_certificate(ctx_.get(), (*certs)[0].get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx_.get(), key->get()) != 1) {
    std::fprintf(stderr, "fake apiserver: TLS setup failed: %s\n", ssl_error_text().c_str());
    std::abort();
  }
  if (!opts_.client_ca_pem.empty()) {
    auto cas = read_pem_certs(opts_.client_ca_pem, "client CA");
    if (!cas) std::abort();
    for (auto& c : *cas) X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_.get()), c.get());
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  for (const char* p : {kPods, kNamespaces, kNodes, kPolicies}) stores_[p];
}

FakeApiServer::~FakeApiServer() { stop(); }

bool FakeApiServer::start() {
  std::lock_guard lock(mu_);
  if (!down_) return true;
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return false;
  int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port_);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(s.get(), 64) != 0) return false;
  socklen_t len = sizeof(a);
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  listener_ = std::move(s);
  stop_fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  down_ = false;
  acceptor_ = std::thread([this] { accept_loop(); });
  return true;
}

void FakeApiServer::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    if (down_) return;
    down_ = true;
    ++generation_;
    for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
    const uint64_t one = 1;
    (void)!::write(stop_fd_.get(), &one, sizeof(one));
  }
  cv_.notify_all();
  acceptor_.join();
  {
    std::lock_guard lock(mu_);
    threads.swap(conn_threads_);
  }
  for (auto& t : threads) t.join();
  std::lock_guard lock(mu_);
  listener_.reset();
  stop_fd_.reset();
}

void FakeApiServer::accept_loop() {
  while (true) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if ((fds[1].revents & POLLIN) != 0) return;
    UniqueFd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) continue;
    std::lock_guard lock(mu_);
    if (down_) return;
    conn_fds_.push_back(c.get());
    conn_threads_.emplace_back([this](UniqueFd fd) { serve(std::move(fd)); }, std::move(c));
  }
}

void FakeApiServer::serve(UniqueFd fd) {
  const int raw = fd.get();
  struct Forget {
    FakeApiServer* s;
    int fd;
    ~Forget() {
      std::lock_guard lock(s->mu_);
      std::erase(s->conn_fds_, fd);
    }
  } forget{this, raw};  // before the fd closes (declared after `fd`: runs first)
  SslPtr ssl(SSL_new(ctx_.get()));
  SSL_set_fd(ssl.get(), raw);
  if (SSL_accept(ssl.get()) != 1) {
    ERR_clear_error();
    std::lock_guard lock(mu_);
    ++handshake_failures_;
    return;
  }
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    const int n = SSL_read(ssl.get(), buf, sizeof(buf));
    if (n <= 0 || head.size() > 65536) return;
    head.append(buf, static_cast<size_t>(n));
  }
  // "GET /path?query HTTP/1.1"
  const size_t sp1 = head.find(' ');
  const size_t sp2 = head.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return;
  const std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
  RecordedRequest req;
  const size_t qm = target.find('?');
  req.path = target.substr(0, qm);
  if (qm != std::string::npos) {
    std::string_view q(target);
    q.remove_prefix(qm + 1);
    while (!q.empty()) {
      const size_t amp = q.find('&');
      std::string_view kv = q.substr(0, amp);
      const size_t eq = kv.find('=');
      req.query[url_decode(kv.substr(0, eq))] = eq == std::string_view::npos ? "" : url_decode(kv.substr(eq + 1));
      if (amp == std::string_view::npos) break;
      q.remove_prefix(amp + 1);
    }
  }
  for (size_t pos = head.find("\r\n"); pos != std::string::npos;) {
    const size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    if (line.size() > 14 && strncasecmp(line.c_str(), "authorization:", 14) == 0) {
      req.authorization = line.substr(14);
      while (!req.authorization.empty() && req.authorization.front() == ' ') req.authorization.erase(0, 1);
    }
    pos = next;
  }
  RecordedRequest rec = req;
  std::string token;
  {
    std::lock_guard lock(mu_);
    token = opts_.token;
  }
  if (!token.empty() && req.authorization != "Bearer " + token) {
    rec.status = 401;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(rec);
    }
    respond(ssl.get(), 401, status_json(401, "Unauthorized", "Unauthorized").dump());
    return;
  }
  if (info_of(req.path) == nullptr) {
    rec.status = 404;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(rec);
    }
    respond(ssl.get(), 404, status_json(404, "NotFound", "the server could not find the requested resource").dump());
    return;
  }
  const std::string w = req.q("watch");
  if (w == "1" || w == "true") {
    handle_watch(ssl.get(), req.path, req, rec);
  } else {
    handle_list(ssl.get(), req.path, req, rec);
  }
}

void FakeApiServer::handle_list(SSL* ssl, const std::string& path, const RecordedRequest& req, RecordedRequest& rec) {
  const ResourceInfo* info = info_of(path);
  const size_t limit = static_cast<size_t>(to_u64(req.q("limit")));
  const std::string cont = req.q("continue");
  std::vector<json> items;
  std::string rv;
  {
    std::lock_guard lock(mu_);
    if (!cont.empty()) {
      auto it = continues_.find(cont);
      if (std::exchange(expire_next_continue_, false)) it = continues_.end();
      if (it == continues_.end()) {
        rec.status = 410;
        requests_.push_back(rec);
        respond(ssl, 410, status_json(410, "Expired", "The provided continue parameter is too old").dump());
        return;
      }
      items = std::move(it->second);
      rv = continue_rv_[cont];
      continues_.erase(it);
    } else {
      for (const auto& [k, obj] : stores_[path].objects) {
        json item = obj;
        item.erase("kind");
        item.erase("apiVersion");
        items.push_back(std::move(item));
      }
      rv = std::to_string(rv_);
    }
    rec.status = 200;
    requests_.push_back(rec);
  }
  json meta = {{"resourceVersion", rv}};
  if (limit > 0 && items.size() > limit) {
    std::vector<json> rest(std::make_move_iterator(items.begin() + static_cast<long>(limit)),
                           std::make_move_iterator(items.end()));
    items.resize(limit);
    std::lock_guard lock(mu_);
    const std::string token = "c" + std::to_string(next_continue_++) + "/" + rv + "+=";
    meta["continue"] = token;
    meta["remainingItemCount"] = rest.size();
    continues_[token] = std::move(rest);
    continue_rv_[token] = rv;
  }
  json body = {{"kind", info->list_kind}, {"apiVersion", info->api_version}, {"metadata", meta}, {"items", items}};
  const std::string text = body.dump();
  if (text.size() <= kChunkedListOver) {
    respond(ssl, 200, text);
    return;
  }
  // Large lists stream chunked, as kube-apiserver sends them.
  {
    std::lock_guard lock(mu_);
    ++chunked_lists_;
  }
  if (!write_all(ssl, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")) return;
  for (size_t off = 0; off < text.size(); off += 1500) {
    if (!write_chunk(ssl, std::string_view(text).substr(off, 1500))) return;
  }
  write_all(ssl, "0\r\n\r\n");
}

void FakeApiServer::handle_watch(SSL* ssl, const std::string& path, const RecordedRequest& req, RecordedRequest& rec) {
  const uint64_t from = to_u64(req.q("resourceVersion"));
  const bool bookmarks = req.q("allowWatchBookmarks") == "true";
  const uint64_t timeout = req.query.contains("timeoutSeconds") ? to_u64(req.q("timeoutSeconds")) : 1800;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  std::unique_lock lock(mu_);
  const uint64_t gen = generation_;
  rec.status = 0;
  requests_.push_back(rec);
  const size_t rec_index = requests_.size() - 1;
  if (hold_) {
    ++held_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_ || generation_ != gen; });
    --held_;
    if (generation_ != gen) return;
  }
  if (from < compacted_ || always_gone_) {
    const json st = status_json(410, "Expired", "too old resource version: " + std::to_string(from) + " (" +
                                                    std::to_string(compacted_) + ")");
    const GoneMode mode = gone_mode_;
    requests_[rec_index].status = mode == GoneMode::kHttpStatus ? 410 : 200;
    lock.unlock();
    if (mode == GoneMode::kHttpStatus) {
      respond(ssl, 410, st.dump());
    } else if (write_all(ssl, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")) {
      json ev = {{"type", "ERROR"}, {"object", st}};
      if (write_chunk(ssl, ev.dump() + "\n")) write_all(ssl, "0\r\n\r\n");
    }
    return;
  }
  requests_[rec_index].status = 200;
  ++open_watches_;
  struct Closed {
    FakeApiServer* s;
    ~Closed() { --s->open_watches_; }  // runs with mu_ held (lock re-taken below)
  };
  lock.unlock();
  if (!write_all(ssl, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")) {
    lock.lock();
    --open_watches_;
    return;
  }
  lock.lock();
  Closed closed{this};
  const uint64_t close_gen = close_gen_;
  const uint64_t error_gen = error_gen_;
  const Store& store = stores_[path];
  size_t idx = 0;
  while (idx < store.log.size() && store.log[idx].rv <= from) ++idx;
  while (true) {
    cv_.wait_until(lock, deadline, [&] {
      return store.log.size() > idx || close_gen_ != close_gen || error_gen_ != error_gen || generation_ != gen;
    });
    if (generation_ != gen) return;  // server down: the connection is cut
    if (error_gen_ != error_gen) {
      const std::string ev = json{{"type", "ERROR"}, {"object", error_status_}}.dump() + "\n";
      lock.unlock();
      if (write_chunk(ssl, ev)) write_all(ssl, "0\r\n\r\n");
      lock.lock();
      return;
    }
    if (close_gen_ != close_gen) {
      lock.unlock();
      write_all(ssl, "0\r\n\r\n");
      lock.lock();
      return;
    }
    std::vector<std::string> lines;
    size_t sent = 0;
    for (; idx < store.log.size(); ++idx) {
      const Event& e = store.log[idx];
      if (e.type == "BOOKMARK" && !bookmarks) continue;
      if (e.type != "BOOKMARK") ++sent;
      lines.push_back(json{{"type", e.type}, {"object", e.object}}.dump() + "\n");
    }
    const size_t split = split_;
    const bool timed_out = std::chrono::steady_clock::now() >= deadline;
    lock.unlock();
    bool ok = true;
    if (split > 0) {
      std::string all;
      for (const auto& l : lines) all += l;
      for (size_t off = 0; ok && off < all.size(); off += split) ok = write_chunk(ssl, std::string_view(all).substr(off, split));
    } else {
      for (const auto& l : lines) ok = ok && write_chunk(ssl, l);
    }
    if (ok && timed_out) write_all(ssl, "0\r\n\r\n");
    lock.lock();
    events_sent_ += sent;
    if (!ok || timed_out) return;
  }
}

uint64_t FakeApiServer::record(const std::string& path, const std::string& type, json obj) {
  uint64_t rv;
  {
    std::lock_guard lock(mu_);
    Store& store = stores_.at(path);
    rv = ++rv_;
    obj["metadata"]["resourceVersion"] = std::to_string(rv);
    if (type == "DELETED") {
      store.objects.erase(key_of(obj));
    } else {
      store.objects[key_of(obj)] = obj;
    }
    store.log.push_back({rv, type, std::move(obj)});
  }
  cv_.notify_all();
  return rv;
}

uint64_t FakeApiServer::add(const std::string& path, json obj) { return record(path, "ADDED", std::move(obj)); }
uint64_t FakeApiServer::modify(const std::string& path, json obj) { return record(path, "MODIFIED", std::move(obj)); }

uint64_t FakeApiServer::remove(const std::string& path, const std::string& ns, const std::string& name) {
  json obj;
  {
    std::lock_guard lock(mu_);
    auto& objs = stores_.at(path).objects;
    auto it = objs.find(ns + "/" + name);
    if (it == objs.end()) return 0;
    obj = it->second;
  }
  return record(path, "DELETED", std::move(obj));
}

uint64_t FakeApiServer::bookmark(const std::string& path) {
  const ResourceInfo* info = info_of(path);
  uint64_t rv;
  {
    std::lock_guard lock(mu_);
    rv = rv_;
    stores_.at(path).log.push_back({rv, "BOOKMARK",
                                    json{{"kind", info->kind}, {"apiVersion", info->api_version},
                                         {"metadata", {{"resourceVersion", std::to_string(rv)}}}}});
  }
  cv_.notify_all();
  return rv;
}

void FakeApiServer::compact() {
  std::lock_guard lock(mu_);
  compacted_ = rv_;
}

void FakeApiServer::set_gone_mode(GoneMode m) {
  std::lock_guard lock(mu_);
  gone_mode_ = m;
}

void FakeApiServer::close_watches() {
  {
    std::lock_guard lock(mu_);
    ++close_gen_;
  }
  cv_.notify_all();
}

void FakeApiServer::fail_watches(int code, const std::string& reason, const std::string& message) {
  {
    std::lock_guard lock(mu_);
    error_status_ = status_json(code, reason, message);
    ++error_gen_;
  }
  cv_.notify_all();
}

void FakeApiServer::hold_watches(bool hold) {
  {
    std::lock_guard lock(mu_);
    hold_ = hold;
  }
  cv_.notify_all();
}

void FakeApiServer::set_chunk_split(size_t n) {
  std::lock_guard lock(mu_);
  split_ = n;
}

void FakeApiServer::set_always_gone(bool on) {
  std::lock_guard lock(mu_);
  always_gone_ = on;
}

void FakeApiServer::expire_next_continue() {
  std::lock_guard lock(mu_);
  expire_next_continue_ = true;
}

void FakeApiServer::set_token(std::string token) {
  std::lock_guard lock(mu_);
  opts_.token = std::move(token);
}

uint64_t FakeApiServer::resource_version() const {
  std::lock_guard lock(mu_);
  return rv_;
}
std::vector<RecordedRequest> FakeApiServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}
size_t FakeApiServer::held_watches() const {
  std::lock_guard lock(mu_);
  return held_;
}
size_t FakeApiServer::open_watches() const {
  std::lock_guard lock(mu_);
  return open_watches_;
}
size_t FakeApiServer::handshake_failures() const {
  std::lock_guard lock(mu_);
  return handshake_failures_;
}
size_t FakeApiServer::chunked_lists() const {
  std::lock_guard lock(mu_);
  return chunked_lists_;
}
size_t FakeApiServer::events_sent() const {
  std::lock_guard lock(mu_);
  return events_sent_;
}

}  // namespace strand::sources::k8s::testing
