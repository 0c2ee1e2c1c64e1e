#include "cni/shim/json_lite.h"

#include <stdlib.h>
#include <string.h>

enum { kMaxDepth = 64 };

int jl_append(struct jl_buf* b, const char* s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char* d = (char*)realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int jl_append_string(struct jl_buf* b, const char* s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  if (jl_append(b, "\"", 1)) return -1;
  size_t run = 0; /* bytes copied as they are, flushed before each escape */
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c != '"' && c != '\\' && c >= 0x20) continue;
    if (jl_append(b, s + run, i - run)) return -1;
    char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
    size_t esc_len = 2;
    if (c < 0x20) {
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 0xF];
      esc_len = 6;
    }
    if (jl_append(b, esc, esc_len)) return -1;
    run = i + 1;
  }
  if (jl_append(b, s + run, n - run)) return -1;
  return jl_append(b, "\"", 1);
}

void jl_free(struct jl_buf* b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

static void skip_ws(const char* s, size_t n, size_t* i) {
  while (*i < n && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r')) ++*i;
}

/* Past the string token at s[*i] == '"'. */
static int skip_string(const char* s, size_t n, size_t* i) {
  ++*i;
  while (*i < n) {
    unsigned char c = (unsigned char)s[*i];
    if (c == '"') {
      ++*i;
      return 1;
    }
    if (c < 0x20) return 0;
    *i += (c == '\\') ? 2 : 1;
  }
  return 0;
}

/* Past one value of any kind at s[*i]. */
static int skip_value(const char* s, size_t n, size_t* i, int depth) {
  if (*i >= n || depth > kMaxDepth) return 0;
  char c = s[*i];
  if (c == '"') return skip_string(s, n, i);
  if (c == '{' || c == '[') {
    const char close = c == '{' ? '}' : ']';
    ++*i;
    skip_ws(s, n, i);
    if (*i < n && s[*i] == close) {
      ++*i;
      return 1;
    }
    for (;;) {
      if (c == '{') {
        if (*i >= n || s[*i] != '"' || !skip_string(s, n, i)) return 0;
        skip_ws(s, n, i);
        if (*i >= n || s[*i] != ':') return 0;
        ++*i;
        skip_ws(s, n, i);
      }
      if (!skip_value(s, n, i, depth + 1)) return 0;
      skip_ws(s, n, i);
      if (*i >= n) return 0;
      if (s[*i] == close) {
        ++*i;
        return 1;
      }
      if (s[*i] != ',') return 0;
      ++*i;
      skip_ws(s, n, i);
    }
  }
  /* number or literal: a run of their characters (the full parser judges) */
  size_t start = *i;
  while (*i < n) {
    char d = s[*i];
    if ((d >= '0' && d <= '9') || (d >= 'a' && d <= 'z') || d == '-' || d == '+' || d == '.' || d == 'E') {
      ++*i;
    } else {
      break;
    }
  }
  return *i > start;
}

int jl_member(const char* doc, size_t n, const char* key, const char** val, size_t* val_len) {
  size_t i = 0;
  const size_t key_len = strlen(key);
  skip_ws(doc, n, &i);
  if (i >= n || doc[i] != '{') return -1;
  ++i;
  skip_ws(doc, n, &i);
  if (i < n && doc[i] == '}') return 0;
  struct jl_buf name = {0};
  int found = -1;
  for (;;) {
    if (i >= n || doc[i] != '"') break;
    size_t k = i;
    if (!skip_string(doc, n, &i)) break;
    name.len = 0;
    if (jl_string_value(doc + k, i - k, &name)) break;
    skip_ws(doc, n, &i);
    if (i >= n || doc[i] != ':') break;
    ++i;
    skip_ws(doc, n, &i);
    size_t v = i;
    if (!skip_value(doc, n, &i, 1)) break;
    if (name.len == key_len && memcmp(name.data, key, key_len) == 0) {
      *val = doc + v;
      *val_len = i - v;
      found = 1;
      break;
    }
    skip_ws(doc, n, &i);
    if (i >= n) break;
    if (doc[i] == '}') {
      found = 0;
      break;
    }
    if (doc[i] != ',') break;
    ++i;
    skip_ws(doc, n, &i);
  }
  jl_free(&name);
  return found;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Four hex digits at t[i..i+4) with i + 4 <= end. */
static int read_u16(const char* t, size_t i, size_t end, unsigned* out) {
  if (i + 4 > end) return -1;
  *out = 0;
  for (size_t k = 0; k < 4; ++k) {
    int h = hexval(t[i + k]);
    if (h < 0) return -1;
    *out = *out * 16 + (unsigned)h;
  }
  return 0;
}

static int append_utf8(struct jl_buf* out, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  return jl_append(out, u, n);
}

int jl_string_value(const char* t, size_t len, struct jl_buf* out) {
  if (len < 2 || t[0] != '"' || t[len - 1] != '"') return -1;
  const size_t end = len - 1; /* index of the closing quote */
  if (jl_append(out, "", 0)) return -1;
  size_t run = 1;
  for (size_t i = 1; i < end; ++i) {
    unsigned char c = (unsigned char)t[i];
    if (c < 0x20 || c == '"') return -1;
    if (c != '\\') continue;
    if (jl_append(out, t + run, i - run)) return -1;
    if (++i >= end) return -1;
    char e = t[i];
    const char* lit = NULL;
    switch (e) {
      case '"': lit = "\""; break;
      case '\\': lit = "\\"; break;
      case '/': lit = "/"; break;
      case 'b': lit = "\b"; break;
      case 'f': lit = "\f"; break;
      case 'n': lit = "\n"; break;
      case 'r': lit = "\r"; break;
      case 't': lit = "\t"; break;
      case 'u': break;
      default: return -1;
    }
    if (lit) {
      if (jl_append(out, lit, 1)) return -1;
    } else {
      unsigned cp = 0;
      if (read_u16(t, i + 1, end, &cp)) return -1;
      i += 4;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned lo = 0;
        if (i + 2 >= end || t[i + 1] != '\\' || t[i + 2] != 'u' || read_u16(t, i + 3, end, &lo) || lo < 0xDC00 ||
            lo > 0xDFFF) {
          return -1;
        }
        i += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return -1;
      }
      if (append_utf8(out, cp)) return -1;
    }
    run = i + 1;
  }
  return jl_append(out, t + run, end - run);
}

int jl_int_value(const char* t, size_t len, long long* out) {
  size_t i = 0;
  int neg = len > 0 && t[0] == '-';
  if (neg) ++i;
  if (i >= len || len - i > 18) return -1;
  long long v = 0;
  for (; i < len; ++i) {
    if (t[i] < '0' || t[i] > '9') return -1;
    v = v * 10 + (t[i] - '0');
  }
  *out = neg ? -v : v;
  return 0;
}
