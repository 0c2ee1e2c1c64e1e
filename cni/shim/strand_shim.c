/* strand: the CNI plugin's entry point, a small static C program.
 *
 * A runtime starts the plugin for every verb. On this machine a process of
 * the full plugin (C++, static glibc) costs ~1.7 ms before it does anything
 * and an ADD ~4.4 ms in all, while the same ADD in a warm process takes
 * ~0.7 ms. This program, built against musl, starts in ~0.6 ms. It reads the
 * config, and when this node's agent listens on the config's agentSocket it
 * hands the verb over (cni/handoff_wire.h: the CNI_* environment, the config
 * and its namespaces), prints the agent's stdout and exits with its code. The
 * agent runs the plugin's own run_verb() (agent/cni_handoff.h).
 *
 * Everything else goes to the full plugin, strand-plugin, next to this file:
 * VERSION, the strand-ipam personality, delegated IPAM, fault injection
 * (STRAND_TEST_FAIL_AT), no agent, an agent that declines (other namespaces,
 * another agent's socket, busy, an older agent) and an agent that dies before
 * answering a verb other than ADD (every other verb is safe to run again).
 * strand-plugin gets the same arguments, environment and config (on stdin,
 * from a memfd). An ADD the agent took and never answered, or any verb that
 * timed out, also goes there with STRAND_AGENT_LOST set: it reports 11 (try
 * again later) in the config's version, and the runtime's DEL then removes
 * whatever the ADD made. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cni/shim/json_lite.h"

extern char** environ;

#define FULL_PLUGIN "strand-plugin"
#define DEFAULT_SOCKET "/run/strand/agent.sock"
#define DEFAULT_TIMEOUT_MS 2000
/* Beyond agentTimeoutMs, for the verb's own work in the agent. */
#define MARGIN_MS 10000
/* The agent closes a connection whose request line is longer than this
 * (agent/server.h, Server::kMaxRequest): a larger request runs here. */
#define MAX_REQUEST (64 * 1024)

/* Appends a string literal. */
#define APPEND_LIT(b, lit) jl_append((b), (lit), sizeof(lit) - 1)

static const char* env_value(const char* name) {
  size_t n = strlen(name);
  for (char** e = environ; *e; ++e) {
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  }
  return NULL;
}

static long long mono_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int read_stdin(struct jl_buf* in) {
  char buf[16384];
  for (;;) {
    ssize_t n = read(0, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return 0;
    if (jl_append(in, buf, (size_t)n)) return -1;
  }
}

static int write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* A string member of `doc`: 1 found (into out), 0 absent, -1 malformed. */
static int string_member(const char* doc, size_t len, const char* key, struct jl_buf* out) {
  const char* v;
  size_t vl;
  int r = jl_member(doc, len, key, &v, &vl);
  if (r <= 0) return r;
  return jl_string_value(v, vl, out) ? -1 : 1;
}

static int ns_id(const char* path, struct jl_buf* out) {
  struct stat sb;
  char s[64];
  if (stat(path, &sb) != 0) return -1;
  int n = snprintf(s, sizeof(s), "[%llu,%llu]", (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino);
  return jl_append(out, s, (size_t)n);
}

/* The request line (cni/handoff_wire.h), newline included. */
static int request_line(const struct jl_buf* conf, struct jl_buf* out) {
  if (APPEND_LIT(out, "{\"op\":\"cni\",\"env\":{")) return -1;
  int first = 1;
  for (char** e = environ; *e; ++e) {
    const char* eq = strchr(*e, '=');
    if (strncmp(*e, "CNI_", 4) != 0 || !eq) continue;
    if (!first && APPEND_LIT(out, ",")) return -1;
    first = 0;
    if (jl_append_string(out, *e, (size_t)(eq - *e)) || APPEND_LIT(out, ":") ||
        jl_append_string(out, eq + 1, strlen(eq + 1))) {
      return -1;
    }
  }
  if (APPEND_LIT(out, "},\"conf\":") || jl_append_string(out, conf->data, conf->len) ||
      APPEND_LIT(out, ",\"netns\":") || ns_id("/proc/thread-self/ns/net", out) ||
      APPEND_LIT(out, ",\"mntns\":") || ns_id("/proc/self/ns/mnt", out) || APPEND_LIT(out, "}\n")) {
    return -1;
  }
  return 0;
}

enum io { IO_OK, IO_NOT_DELIVERED, IO_LOST, IO_TIMED_OUT };

/* One request line out, one reply line back (into `reply`, without '\n'). */
static enum io exchange(const char* path, const struct jl_buf* req, long long timeout_ms, struct jl_buf* reply) {
  struct sockaddr_un a;
  memset(&a, 0, sizeof(a));
  if (strlen(path) >= sizeof(a.sun_path)) return IO_NOT_DELIVERED;
  a.sun_family = AF_UNIX;
  strcpy(a.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return IO_NOT_DELIVERED;
  /* An agent that stopped accepting (its backlog full) is no agent: connect
   * and send give up after the budget instead of blocking. */
  struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, (struct sockaddr*)&a, sizeof(a)) != 0) {
    close(fd);
    return IO_NOT_DELIVERED;
  }
  /* The agent starts nothing before the whole line has arrived. */
  size_t off = 0;
  while (off < req->len) {
    ssize_t n = send(fd, req->data + off, req->len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return IO_NOT_DELIVERED;
    }
    off += (size_t)n;
  }
  const long long deadline = mono_ms() + timeout_ms;
  char buf[4096];
  enum io r = IO_LOST;
  for (;;) {
    char* nl = reply->len ? memchr(reply->data, '\n', reply->len) : NULL;
    if (nl) {
      reply->len = (size_t)(nl - reply->data);
      reply->data[reply->len] = '\0';
      r = IO_OK;
      break;
    }
    long long left = deadline - mono_ms();
    if (left <= 0) {
      r = IO_TIMED_OUT;
      break;
    }
    struct pollfd p = {fd, POLLIN, 0};
    int pr = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
    if (pr < 0 && errno != EINTR) break;
    if (pr <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0 || jl_append(reply, buf, (size_t)n)) break;
  }
  close(fd);
  return r;
}

/* The verb's outcome from a reply line: 1 (stdout into out, *code set), or
 * 0 for a decline or anything that is not a result. */
static int reply_outcome(const struct jl_buf* line, struct jl_buf* out, int* code) {
  const char* v;
  size_t vl;
  if (jl_member(line->data, line->len, "ok", &v, &vl) != 1 || vl != 4 || memcmp(v, "true", 4) != 0) return 0;
  long long c;
  if (jl_member(line->data, line->len, "exit", &v, &vl) != 1 || jl_int_value(v, vl, &c) || c < 0 || c > 255) return 0;
  if (string_member(line->data, line->len, "stdout", out) != 1) return 0;
  *code = (int)c;
  return 1;
}

/* 1 when the verb may go to the agent at all; *socket and *timeout_ms set. */
static int eligible(const struct jl_buf* conf, struct jl_buf* socket, long long* timeout_ms) {
  const char* cmd = env_value("CNI_COMMAND");
  if (!cmd || env_value("STRAND_TEST_FAIL_AT")) return 0;
  if (strcmp(cmd, "ADD") && strcmp(cmd, "DEL") && strcmp(cmd, "CHECK") && strcmp(cmd, "GC") && strcmp(cmd, "STATUS")) {
    return 0;
  }
  /* Delegated IPAM plugins inherit the plugin's environment: the plugin runs them. */
  const char* ipam;
  size_t ipam_len;
  if (jl_member(conf->data, conf->len, "ipam", &ipam, &ipam_len) != 1) return 0;
  struct jl_buf type = {0};
  int ok = string_member(ipam, ipam_len, "type", &type) == 1 && strcmp(type.data, "strand-ipam") == 0;
  jl_free(&type);
  if (!ok) return 0;
  int r = string_member(conf->data, conf->len, "agentSocket", socket);
  if (r < 0 || (r == 1 && socket->len == 0)) return 0;
  if (r == 0 && jl_append(socket, DEFAULT_SOCKET, strlen(DEFAULT_SOCKET))) return 0;
  *timeout_ms = DEFAULT_TIMEOUT_MS;
  const char* v;
  size_t vl;
  r = jl_member(conf->data, conf->len, "agentTimeoutMs", &v, &vl);
  if (r < 0) return 0;
  if (r == 1 && (jl_int_value(v, vl, timeout_ms) || *timeout_ms < 1 || *timeout_ms > 120000)) return 0;
  return 1;
}

/* Runs strand-plugin from this file's directory with the config on stdin.
 * Returns only when that fails. */
static void exec_full(char** argv, const struct jl_buf* conf, const char* lost) {
  static char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - sizeof(FULL_PLUGIN) - 1);
  if (n <= 0) return;
  self[n] = '\0';
  char* slash = strrchr(self, '/');
  if (!slash) return;
  strcpy(slash + 1, FULL_PLUGIN);
  int fd = memfd_create("strand-conf", 0);
  if (fd < 0) return;
  if (write_all(fd, conf->data ? conf->data : "", conf->len) || lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, 0) < 0) {
    close(fd);
    return;
  }
  close(fd);
  if (lost) setenv("STRAND_AGENT_LOST", lost, 1);
  execv(self, argv);
}

/* The spec's error JSON for code 5 when strand-plugin cannot be run, in the
 * config's version when it names one. */
static void report_no_plugin(const struct jl_buf* conf, int err) {
  struct jl_buf version = {0}, msg = {0};
  if (!conf->data || string_member(conf->data, conf->len, "cniVersion", &version) != 1) {
    version.len = 0;
    (void)APPEND_LIT(&version, "1.1.0");
  }
  const char* why = strerror(err);
  if (APPEND_LIT(&msg, "{\"cniVersion\":") == 0 && jl_append_string(&msg, version.data, version.len) == 0 &&
      APPEND_LIT(&msg, ",\"code\":5,\"msg\":\"cannot run " FULL_PLUGIN " next to the strand plugin\",\"details\":") == 0 &&
      jl_append_string(&msg, why, strlen(why)) == 0 && APPEND_LIT(&msg, "}\n") == 0) {
    (void)write_all(1, msg.data, msg.len);
  }
}

int main(int argc, char** argv) {
  (void)argc;
  struct jl_buf conf = {0};
  const char* lost = NULL;
  if (read_stdin(&conf) == 0) {
    const char* base = argv[0] ? strrchr(argv[0], '/') : NULL;
    base = base ? base + 1 : (argv[0] ? argv[0] : "");
    struct jl_buf socket = {0};
    long long timeout_ms = 0;
    struct stat sb;
    if (strcmp(base, "strand-ipam") != 0 && eligible(&conf, &socket, &timeout_ms) && stat(socket.data, &sb) == 0 &&
        S_ISSOCK(sb.st_mode)) {
      struct jl_buf req = {0}, reply = {0}, out = {0};
      if (request_line(&conf, &req) == 0 && req.len <= MAX_REQUEST) {
        const char* cmd = env_value("CNI_COMMAND");
        int code = 0;
        switch (exchange(socket.data, &req, timeout_ms + MARGIN_MS, &reply)) {
          case IO_OK:
            /* The agent ran it: never run it again, even when stdout fails. */
            if (reply_outcome(&reply, &out, &code)) _exit(write_all(1, out.data, out.len) == 0 ? code : 1);
            break; /* declined */
          case IO_TIMED_OUT:
            lost = "the agent did not answer in time";
            break;
          case IO_LOST:
            if (strcmp(cmd, "ADD") == 0) lost = "the agent closed the connection before answering";
            break;
          case IO_NOT_DELIVERED:
            break;
        }
      }
    }
  }
  exec_full(argv, &conf, lost);
  report_no_plugin(&conf, errno);
  return 1;
}
