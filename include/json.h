/* json — builds JSON text into a growable buffer with a hard maximum, and walks JSON text.
 *
 * Used once per bin, event, flow record and summary (never per packet). Strings from
 * packets (host names) are escaped here: control bytes and DEL, quotes, backslashes, bytes
 * that are not valid UTF-8, and U+2028/U+2029 (line breaks to some readers) become \u
 * escapes, so every line printed is valid JSON and one line. Once the
 * maximum is reached the buffer stops growing and json_ok() turns false. */
#ifndef BLACKOUT_JSON_H
#define BLACKOUT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX (16u << 20)

struct json {
    char *buf;
    size_t len, cap;
    bool failed;
    bool need_comma; /* a value was written at this nesting level */
};

void json_init(struct json *j);
void json_free(struct json *j);
void json_reset(struct json *j);
bool json_ok(const struct json *j);

void json_raw(struct json *j, const char *s, size_t n);
void json_obj_open(struct json *j);             /* '{' */
void json_obj_close(struct json *j);            /* '}' */
void json_arr_open(struct json *j);             /* '[' */
void json_arr_close(struct json *j);            /* ']' */
void json_key(struct json *j, const char *key); /* "key": with a comma when needed */
void json_str(struct json *j, const char *s);   /* escaped string value */
void json_strn(struct json *j, const char *s, size_t n);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_double(struct json *j, double v); /* up to 3 decimals, no exponent */
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* Shorthands: key plus value. */
void json_kstr(struct json *j, const char *key, const char *s);
void json_ku64(struct json *j, const char *key, uint64_t v);
void json_ki64(struct json *j, const char *key, int64_t v);
void json_kdouble(struct json *j, const char *key, double v);
void json_kbool(struct json *j, const char *key, bool v);

/* Writes the buffer plus '\n' to stdout as one line; returns 0 or -1. */
int json_print_line(struct json *j);

/* ---- reading (what Redis hands back: stored events) ---- */

#define JSON_PATH_MAX  256  /* keys joined with '.' */
#define JSON_STR_MAX   4096 /* an unescaped string value */
#define JSON_DEPTH_MAX 16

enum json_type { JSON_T_STRING, JSON_T_NUMBER, JSON_T_TRUE, JSON_T_FALSE, JSON_T_NULL };

/* Called once per scalar: path is its keys joined with '.' ("evidence.routes_silent"; the
 * elements of an array share the array's path), val the unescaped string (UTF-8, may hold
 * NUL bytes: use len) or the number's text, terminated. Both valid during the call only. */
typedef void (*json_visit_fn)(void *ctx, const char *path, enum json_type t, const char *val,
                              size_t len);

/* Walks one JSON value (RFC 8259) in s[0..n), calling fn for every scalar in document order.
 * Returns 0, or -1 when the text is not one valid JSON value, nests deeper than
 * JSON_DEPTH_MAX, or has a key path or string longer than the limits above (fn may have been
 * called for what came before). */
int json_walk(const char *s, size_t n, json_visit_fn fn, void *ctx);

#endif
