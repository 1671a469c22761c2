/* text — shared string helpers. See text.h. */
#include "text.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int text_read_line(FILE *f, char *buf, size_t size)
{
    if (!fgets(buf, (int)size, f))
        return ferror(f) ? -1 : 0;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n') {
        buf[--n] = '\0';
        if (n > 0 && buf[n - 1] == '\r')
            buf[--n] = '\0';
        return 1;
    }
    if (feof(f))
        return 1; /* last line without a newline */
    int ch = 0;
    while (ch != EOF && ch != '\n')
        ch = fgetc(f);
    return -1;
}

char *text_strip(char *s)
{
    char *hash = strchr(s, '#');
    if (hash)
        *hash = '\0';
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int text_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;

    if (!s || !isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int text_parse_double(const char *s, double min, double max, double *out)
{
    char *end;

    if (!s || *s == '\0' || isspace((unsigned char)s[0]))
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

bool text_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

bool text_list_has(const char *list, const char *item)
{
    size_t n = strlen(item);

    for (const char *p = list; n > 0; p++) {
        size_t len = strcspn(p, ",");
        if (len == n && strncasecmp(p, item, n) == 0)
            return true;
        p += len;
        if (*p == '\0')
            break;
    }
    return false;
}

int text_copy(char *dst, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (size == 0)
        return -1;
    if (n >= size) {
        memcpy(dst, s, size - 1);
        dst[size - 1] = '\0';
        return -1;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

int text_each_line(const char *path, text_line_fn fn, void *ctx, char *err, size_t errlen)
{
    char buf[TEXT_LINE_MAX];
    struct text_line l = {.path = path};
    int n = 0, r;

    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    for (;;) {
        r = text_read_line(f, buf, sizeof buf);
        if (r == 0)
            break;
        l.lineno++;
        if (r < 0) {
            snprintf(err, errlen, "%s:%u: line too long or unreadable", path, l.lineno);
            goto fail;
        }
        l.text = text_strip(buf);
        if (*l.text == '\0')
            continue;
        r = fn(ctx, &l, err, errlen);
        if (r < 0)
            goto fail;
        n += r;
    }
    fclose(f);
    return n;
fail:
    fclose(f);
    return -1;
}
