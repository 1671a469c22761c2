/* json — JSON text builder. See json.h. */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_init(struct json *j)
{
    memset(j, 0, sizeof *j);
}

void json_free(struct json *j)
{
    free(j->buf);
    json_init(j);
}

void json_reset(struct json *j)
{
    j->len = 0;
    j->failed = false;
    j->need_comma = false;
}

bool json_ok(const struct json *j)
{
    return !j->failed;
}

void json_raw(struct json *j, const char *s, size_t n)
{
    if (j->failed)
        return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 512;
        while (cap < j->len + n + 1)
            cap *= 2;
        if (cap > JSON_MAX) {
            j->failed = true;
            return;
        }
        char *b = realloc(j->buf, cap);
        if (!b) {
            j->failed = true;
            return;
        }
        j->buf = b;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void pre_value(struct json *j)
{
    if (j->need_comma)
        json_raw(j, ",", 1);
}

void json_obj_open(struct json *j)
{
    pre_value(j);
    json_raw(j, "{", 1);
    j->need_comma = false;
}

void json_obj_close(struct json *j)
{
    json_raw(j, "}", 1);
    j->need_comma = true;
}

void json_arr_open(struct json *j)
{
    pre_value(j);
    json_raw(j, "[", 1);
    j->need_comma = false;
}

void json_arr_close(struct json *j)
{
    json_raw(j, "]", 1);
    j->need_comma = true;
}

/* Length of a valid UTF-8 sequence starting at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

void json_strn(struct json *j, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    char esc[8];

    pre_value(j);
    json_raw(j, "\"", 1);
    for (size_t i = 0; i < n;) {
        size_t run = i;
        while (run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\')
            run++;
        json_raw(j, (const char *)s + i, run - i);
        i = run;
        if (i >= n)
            break;
        size_t u = s[i] >= 0x80 ? utf8_len(s + i, n - i) : 0;
        if (u == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] & 0xfe) == 0xa8) {
            /* U+2028, U+2029: valid JSON, but line breaks to many readers */
            snprintf(esc, sizeof esc, "\\u%04x", 0x2028 + (s[i + 2] & 1));
            json_raw(j, esc, 6);
            i += 3;
            continue;
        }
        if (u) {
            json_raw(j, (const char *)s + i, u);
            i += u;
            continue;
        }
        if (s[i] == '"' || s[i] == '\\') {
            esc[0] = '\\';
            esc[1] = (char)s[i];
            json_raw(j, esc, 2);
        } else {
            snprintf(esc, sizeof esc, "\\u%04x", s[i]);
            json_raw(j, esc, 6);
        }
        i++;
    }
    json_raw(j, "\"", 1);
    j->need_comma = true;
}

void json_str(struct json *j, const char *s)
{
    json_strn(j, s, strlen(s));
}

void json_key(struct json *j, const char *key)
{
    json_str(j, key);
    json_raw(j, ":", 1);
    j->need_comma = false;
}

static void put_num(struct json *j, const char *buf, int n)
{
    pre_value(j);
    if (n > 0)
        json_raw(j, buf, (size_t)n);
    j->need_comma = true;
}

void json_u64(struct json *j, uint64_t v)
{
    char buf[24];
    put_num(j, buf, snprintf(buf, sizeof buf, "%" PRIu64, v));
}

void json_i64(struct json *j, int64_t v)
{
    char buf[24];
    put_num(j, buf, snprintf(buf, sizeof buf, "%" PRId64, v));
}

void json_double(struct json *j, double v)
{
    char buf[48];
    if (!isfinite(v))
        v = 0;
    if (v > 1e15 || v < -1e15)
        v = v > 0 ? 1e15 : -1e15;
    int n = snprintf(buf, sizeof buf, "%.3f", v);
    /* Trim trailing zeros: 8.900 -> 8.9, 0.000 -> 0 */
    while (n > 1 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 1 && buf[n - 1] == '.')
        buf[--n] = '\0';
    if (strcmp(buf, "-0") == 0)
        n = snprintf(buf, sizeof buf, "0");
    put_num(j, buf, n);
}

void json_bool(struct json *j, bool v)
{
    put_num(j, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json *j)
{
    put_num(j, "null", 4);
}

void json_kstr(struct json *j, const char *key, const char *s)
{
    json_key(j, key);
    json_str(j, s);
}

void json_ku64(struct json *j, const char *key, uint64_t v)
{
    json_key(j, key);
    json_u64(j, v);
}

void json_ki64(struct json *j, const char *key, int64_t v)
{
    json_key(j, key);
    json_i64(j, v);
}

void json_kdouble(struct json *j, const char *key, double v)
{
    json_key(j, key);
    json_double(j, v);
}

void json_kbool(struct json *j, const char *key, bool v)
{
    json_key(j, key);
    json_bool(j, v);
}

int json_print_line(struct json *j)
{
    if (j->failed)
        return -1;
    json_raw(j, "\n", 1);
    if (fwrite(j->buf, 1, j->len, stdout) != j->len)
        return -1;
    return 0;
}

/* ---- reading ---- */

struct reader {
    const char *s;
    size_t n, i;
    unsigned depth;
    char path[JSON_PATH_MAX];
    size_t plen;
    char str[JSON_STR_MAX];
    json_visit_fn fn;
    void *ctx;
};

static void skip_ws(struct reader *r)
{
    while (r->i < r->n &&
           (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r'))
        r->i++;
}

static bool take(struct reader *r, char c)
{
    skip_ws(r);
    if (r->i < r->n && r->s[r->i] == c) {
        r->i++;
        return true;
    }
    return false;
}

static int hex4(struct reader *r, unsigned *v)
{
    *v = 0;
    if (r->n - r->i < 4)
        return -1;
    for (int k = 0; k < 4; k++) {
        char c = r->s[r->i++];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        *v = *v * 16 + (unsigned)d;
    }
    return 0;
}

/* Appends code point cp as UTF-8 to out[*len], within size. */
static int put_utf8(char *out, size_t size, size_t *len, unsigned cp)
{
    uint8_t b[4];
    size_t k;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp, k = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xc0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3f)), k = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xe0 | cp >> 12), b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp & 0x3f)), k = 3;
    } else {
        b[0] = (uint8_t)(0xf0 | cp >> 18), b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f)), b[3] = (uint8_t)(0x80 | (cp & 0x3f)), k = 4;
    }
    if (*len + k >= size)
        return -1;
    memcpy(out + *len, b, k);
    *len += k;
    return 0;
}

/* One \u escape (the "\u" already read), with a surrogate pair when there is one. */
static int unicode_escape(struct reader *r, char *out, size_t size, size_t *len)
{
    unsigned cp, lo;
    if (hex4(r, &cp) < 0 || (cp >= 0xdc00 && cp < 0xe000))
        return -1;
    if (cp >= 0xd800 && cp < 0xdc00) {
        if (r->n - r->i < 2 || r->s[r->i] != '\\' || r->s[r->i + 1] != 'u')
            return -1;
        r->i += 2;
        if (hex4(r, &lo) < 0 || lo < 0xdc00 || lo >= 0xe000)
            return -1;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    return put_utf8(out, size, len, cp);
}

/* A string at r->i (the opening quote next), unescaped into out (terminated). */
static int read_string(struct reader *r, char *out, size_t size, size_t *len)
{
    static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
    *len = 0;
    if (!take(r, '"'))
        return -1;
    while (r->i < r->n) {
        unsigned char c = (unsigned char)r->s[r->i++];
        if (c == '"') {
            out[*len] = '\0';
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (r->i >= r->n)
                return -1;
            char e = r->s[r->i++];
            const char *p = e ? strchr(esc_in, e) : NULL;
            if (e == 'u') {
                if (unicode_escape(r, out, size, len) < 0)
                    return -1;
                continue;
            }
            if (!p)
                return -1;
            c = (unsigned char)esc_out[p - esc_in];
        }
        if (*len + 1 >= size)
            return -1;
        out[(*len)++] = (char)c;
    }
    return -1;
}

static bool is_digit(const struct reader *r)
{
    return r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9';
}

/* A number per the JSON grammar; its text is handed on as it is. */
static int read_number(struct reader *r)
{
    size_t start = r->i;
    if (r->i < r->n && r->s[r->i] == '-')
        r->i++;
    if (!is_digit(r))
        return -1;
    if (r->s[r->i] == '0')
        r->i++;
    else
        while (is_digit(r))
            r->i++;
    if (r->i < r->n && r->s[r->i] == '.') {
        r->i++;
        if (!is_digit(r))
            return -1;
        while (is_digit(r))
            r->i++;
    }
    if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
        r->i++;
        if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-'))
            r->i++;
        if (!is_digit(r))
            return -1;
        while (is_digit(r))
            r->i++;
    }
    size_t len = r->i - start;
    if (len >= sizeof r->str)
        return -1;
    memcpy(r->str, r->s + start, len);
    r->str[len] = '\0';
    r->fn(r->ctx, r->path, JSON_T_NUMBER, r->str, len);
    return 0;
}

static int read_word(struct reader *r, const char *w, enum json_type t)
{
    size_t len = strlen(w);
    if (r->n - r->i < len || memcmp(r->s + r->i, w, len) != 0)
        return -1;
    r->i += len;
    r->fn(r->ctx, r->path, t, w, len);
    return 0;
}

static int read_value(struct reader *r);

static int read_object(struct reader *r)
{
    size_t plen = r->plen;
    char key[JSON_PATH_MAX];
    size_t klen;

    r->i++;
    if (take(r, '}'))
        return 0;
    do {
        skip_ws(r);
        if (read_string(r, key, sizeof key, &klen) < 0 || !take(r, ':'))
            return -1;
        if (plen + (plen > 0) + klen >= sizeof r->path)
            return -1;
        if (plen > 0)
            r->path[r->plen++] = '.';
        memcpy(r->path + r->plen, key, klen + 1);
        r->plen += klen;
        int rc = read_value(r);
        r->plen = plen;
        r->path[plen] = '\0';
        if (rc < 0)
            return -1;
    } while (take(r, ','));
    return take(r, '}') ? 0 : -1;
}

static int read_array(struct reader *r)
{
    r->i++;
    if (take(r, ']'))
        return 0;
    do {
        if (read_value(r) < 0)
            return -1;
    } while (take(r, ','));
    return take(r, ']') ? 0 : -1;
}

static int read_value(struct reader *r)
{
    size_t len;
    int rc;

    skip_ws(r);
    if (r->i >= r->n || r->depth >= JSON_DEPTH_MAX)
        return -1;
    switch (r->s[r->i]) {
    case '{':
    case '[':
        r->depth++;
        rc = r->s[r->i] == '{' ? read_object(r) : read_array(r);
        r->depth--;
        return rc;
    case '"':
        if (read_string(r, r->str, sizeof r->str, &len) < 0)
            return -1;
        r->fn(r->ctx, r->path, JSON_T_STRING, r->str, len);
        return 0;
    case 't':
        return read_word(r, "true", JSON_T_TRUE);
    case 'f':
        return read_word(r, "false", JSON_T_FALSE);
    case 'n':
        return read_word(r, "null", JSON_T_NULL);
    default:
        return read_number(r);
    }
}

int json_walk(const char *s, size_t n, json_visit_fn fn, void *ctx)
{
    struct reader *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->s = s;
    r->n = n;
    r->fn = fn;
    r->ctx = ctx;
    int rc = read_value(r);
    skip_ws(r);
    if (rc == 0 && r->i != r->n)
        rc = -1;
    free(r);
    return rc;
}
