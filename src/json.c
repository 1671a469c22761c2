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
        while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
            run++;
        json_raw(j, (const char *)s + i, run - i);
        i = run;
        if (i >= n)
            break;
        size_t u = s[i] >= 0x80 ? utf8_len(s + i, n - i) : 0;
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
