/* Just enough JSON for the strand shim (cni/shim/strand_shim.c), which must
 * decide in well under a millisecond, with no C++ runtime, whether the node's
 * agent takes the verb: find a top-level member, read a string or an integer,
 * write a string. Anything it does not understand is "no answer" and the full
 * plugin, with a real parser, takes over. Pure C, also compiled into the
 * C++ unit tests. */
#ifndef STRAND_CNI_SHIM_JSON_LITE_H
#define STRAND_CNI_SHIM_JSON_LITE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A growable byte buffer; data is NUL-terminated after every append. */
struct jl_buf {
  char* data;
  size_t len;
  size_t cap;
};
/* 0, or -1 when out of memory (the buffer is then unchanged). */
int jl_append(struct jl_buf* b, const char* s, size_t n);
/* `s` as a JSON string, quotes included: ", \ and control characters
 * escaped, other bytes as they are. */
int jl_append_string(struct jl_buf* b, const char* s, size_t n);
void jl_free(struct jl_buf* b);

/* The raw text of the top-level member `key` of the object doc[0..len): a
 * string with its quotes, a number, a literal, or a nested object or array.
 * Returns 1 and sets *val and *val_len when found; 0 when `doc` is an object
 * without `key`; -1 when `doc` is not an object this scanner can walk. */
int jl_member(const char* doc, size_t len, const char* key, const char** val, size_t* val_len);

/* Appends the JSON string token tok[0..len) (quotes included) to `out`,
 * \uXXXX and surrogate pairs to UTF-8. 0, or -1 when not a valid string. */
int jl_string_value(const char* tok, size_t len, struct jl_buf* out);

/* A JSON integer token within +-10^18. 0, or -1 otherwise. */
int jl_int_value(const char* tok, size_t len, long long* out);

#ifdef __cplusplus
}
#endif

#endif
