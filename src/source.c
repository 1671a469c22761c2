/* source — the text files of the country map's addresses. See source.h. */
#include "source.h"

#include "text.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

struct file_ctx {
    struct prefix_set *p;
    const char *cc; /* of lines without one, or NULL */
};

/* "CIDR [CC]": returns 1 (taken), 0 (ZZ, skipped) or -1 (message in why). */
static int prefix_line(const struct file_ctx *fc, char *s, char *why, size_t whylen)
{
    struct cidr c;
    char *rest = s + strcspn(s, " \t");
    const char *cc = fc->cc;

    if (*rest) {
        *rest++ = '\0';
        cc = rest + strspn(rest, " \t");
        if (cc[strcspn(cc, " \t")] != '\0') {
            snprintf(why, whylen, "expected 'CIDR [CC]'");
            return -1;
        }
    } else if (!cc) {
        snprintf(why, whylen,
                 "no country code after '%.64s' (needed unless --country is one country)", s);
        return -1;
    }
    if (prefix_parse_cidr(s, &c, why, whylen) < 0)
        return -1;
    return prefix_add_cidr(fc->p, &c, cc, why, whylen);
}

/* Puts "FILE:LINE: why" into err when r < 0; returns r. */
static int at_line(int r, const struct text_line *l, const char *why, char *err, size_t errlen)
{
    if (r < 0)
        snprintf(err, errlen, "%s:%u: %s", l->path, l->lineno, why);
    return r;
}

static int prefix_each(void *ctx, const struct text_line *l, char *err, size_t errlen)
{
    char why[200];
    return at_line(prefix_line(ctx, l->text, why, sizeof why), l, why, err, errlen);
}

int source_load_prefixes(struct prefix_set *p, const char *path, const char *cc, char *err,
                         size_t errlen)
{
    struct file_ctx fc = {.p = p, .cc = cc};
    return text_each_line(path, prefix_each, &fc, err, errlen);
}

/* Splits s at '|' into at most max fields; returns the count. */
static unsigned split_fields(char *s, char **fields, unsigned max)
{
    unsigned n = 0;
    fields[n++] = s;
    for (char *q = s; *q && n < max; q++) {
        if (*q == '|') {
            *q = '\0';
            fields[n++] = q + 1;
        }
    }
    return n;
}

/* One ipv4/ipv6 line of an RIR file: start address and count (v4) or prefix length (v6). */
static int rir_add(struct prefix_set *p, char **f, char *why, size_t whylen)
{
    const char *cc = f[1], *type = f[2], *start = f[3], *value = f[4];
    uint64_t v;
    struct in_addr a4;
    struct cidr c;
    char text[64];

    if (strcmp(type, "ipv4") == 0) {
        if (inet_pton(AF_INET, start, &a4) != 1) {
            snprintf(why, whylen, "bad ipv4 address '%.40s'", start);
            return -1;
        }
        uint64_t first = ntohl(a4.s_addr);
        if (text_parse_u64(value, 1, (1ull << 32) - first, &v) < 0) {
            snprintf(why, whylen, "bad ipv4 address count '%.16s' at %.40s", value, start);
            return -1;
        }
        return prefix_add_v4_range(p, (uint32_t)first, (uint32_t)(first + v - 1), cc, why, whylen);
    }
    if (text_parse_u64(value, 1, 128, &v) < 0) {
        snprintf(why, whylen, "bad ipv6 prefix length '%.16s'", value);
        return -1;
    }
    snprintf(text, sizeof text, "%.45s/%u", start, (unsigned)v);
    if (strchr(start, ':') == NULL || prefix_parse_cidr(text, &c, why, whylen) < 0) {
        snprintf(why, whylen, "bad ipv6 prefix '%.40s/%.16s'", start, value);
        return -1;
    }
    return prefix_add_cidr(p, &c, cc, why, whylen);
}

/* Returns 1 when the line was taken, 0 when skipped, -1 on error (message in why). */
static int rir_line(struct prefix_set *p, char *s, char *why, size_t whylen)
{
    char *f[9];
    unsigned n = split_fields(s, f, 9);

    if (n >= 1 && f[0][0] >= '0' && f[0][0] <= '9')
        return 0; /* version line */
    if (n >= 6 && strcmp(f[5], "summary") == 0)
        return 0;
    if (n < 7) {
        snprintf(why, whylen, "expected registry|cc|type|start|value|date|status");
        return -1;
    }
    if (strcmp(f[2], "ipv4") != 0 && strcmp(f[2], "ipv6") != 0)
        return 0; /* asn */
    if (strcmp(f[6], "allocated") != 0 && strcmp(f[6], "assigned") != 0)
        return 0; /* available, reserved */
    return rir_add(p, f, why, whylen);
}

static int rir_each(void *ctx, const struct text_line *l, char *err, size_t errlen)
{
    char why[200];
    return at_line(rir_line(ctx, l->text, why, sizeof why), l, why, err, errlen);
}

int source_load_rir(struct prefix_set *p, const char *path, char *err, size_t errlen)
{
    return text_each_line(path, rir_each, p, err, errlen);
}
