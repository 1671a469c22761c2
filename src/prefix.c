/* prefix — the country address set. See prefix.h. */
#include "prefix.h"

#include "text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BITS16 (1u << 16)
#define BITS24 (1u << 24)

/* Built-in sets: the blocks routed for each country. */
static const struct {
    const char *cc;
    const char *const prefixes[8];
} builtin[] = {
    {"KP", {"175.45.176.0/22", "210.52.109.0/24", "77.94.35.0/24", NULL}},
};

struct prefix_set *prefix_new(void)
{
    struct prefix_set *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    /* calloc'd maps stay on shared zero pages until written: a small set costs little. */
    p->any16 = calloc(BITS16 / 64, sizeof(uint64_t));
    p->full24 = calloc(BITS24 / 64, sizeof(uint64_t));
    p->part24 = calloc(BITS24 / 64, sizeof(uint64_t));
    if (!p->any16 || !p->full24 || !p->part24)
        goto err;
    return p;
err:
    prefix_free(p);
    return NULL;
}

void prefix_free(struct prefix_set *p)
{
    if (!p)
        return;
    free(p->v6);
    free(p->parts);
    free(p->part24);
    free(p->full24);
    free(p->any16);
    free(p);
}

static void set_bit(uint64_t *map, uint32_t i)
{
    map[i >> 6] |= (uint64_t)1 << (i & 63);
}

/* Sets bits [from, to] of a map. */
static void set_bits(uint64_t *map, uint32_t from, uint32_t to)
{
    while (from <= to && (from & 63) != 0)
        set_bit(map, from++);
    while (from <= to && to - from >= 63) {
        map[from >> 6] = ~(uint64_t)0;
        if (from + 64 < from)
            return;
        from += 64;
    }
    while (from <= to) {
        set_bit(map, from);
        if (from++ == UINT32_MAX)
            return;
    }
}

static int add_part(struct prefix_set *p, uint32_t net24, unsigned lo, unsigned hi, char *err,
                    size_t errlen)
{
    if (p->nparts == p->cap_parts) {
        size_t cap = p->cap_parts ? p->cap_parts * 2 : 64;
        if (cap > PREFIX_MAX_PARTS) {
            snprintf(err, errlen, "more than %u partly covered /24 networks", PREFIX_MAX_PARTS);
            return -1;
        }
        struct prefix_part *n = realloc(p->parts, cap * sizeof *n);
        if (!n) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        p->parts = n;
        p->cap_parts = cap;
    }
    struct prefix_part *pt = &p->parts[p->nparts++];
    memset(pt, 0, sizeof *pt);
    pt->net24 = net24;
    for (unsigned i = lo; i <= hi; i++)
        pt->bits[i >> 6] |= (uint64_t)1 << (i & 63);
    set_bit(p->part24, net24);
    p->finished = false;
    return 0;
}

int prefix_add_v4_range(struct prefix_set *p, uint32_t first, uint32_t last, char *err,
                        size_t errlen)
{
    uint32_t a24 = first >> 8, b24 = last >> 8;

    if (first > last) {
        snprintf(err, errlen, "empty address range");
        return -1;
    }
    set_bits(p->any16, first >> 16, last >> 16);
    p->nentries++;
    if (a24 == b24) {
        if ((first & 255) == 0 && (last & 255) == 255) {
            set_bit(p->full24, a24);
            return 0;
        }
        return add_part(p, a24, first & 255, last & 255, err, errlen);
    }
    if ((first & 255) != 0) {
        if (add_part(p, a24, first & 255, 255, err, errlen) < 0)
            return -1;
        a24++;
    }
    if ((last & 255) != 255) {
        if (add_part(p, b24, 0, last & 255, err, errlen) < 0)
            return -1;
        b24--;
    }
    if (a24 <= b24)
        set_bits(p->full24, a24, b24);
    return 0;
}

static int add_v6_range(struct prefix_set *p, const uint8_t first[16], const uint8_t last[16],
                        char *err, size_t errlen)
{
    if (p->nv6 == p->cap_v6) {
        size_t cap = p->cap_v6 ? p->cap_v6 * 2 : 16;
        if (cap > PREFIX_MAX_V6) {
            snprintf(err, errlen, "more than %u IPv6 prefixes", PREFIX_MAX_V6);
            return -1;
        }
        struct prefix_range6 *n = realloc(p->v6, cap * sizeof *n);
        if (!n) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        p->v6 = n;
        p->cap_v6 = cap;
    }
    struct prefix_range6 *r = &p->v6[p->nv6++];
    r->first_hi = r->first_lo = r->last_hi = r->last_lo = 0;
    for (int i = 0; i < 8; i++) {
        r->first_hi = r->first_hi << 8 | first[i];
        r->first_lo = r->first_lo << 8 | first[i + 8];
        r->last_hi = r->last_hi << 8 | last[i];
        r->last_lo = r->last_lo << 8 | last[i + 8];
    }
    p->nentries++;
    p->finished = false;
    return 0;
}

int prefix_add_cidr(struct prefix_set *p, const struct cidr *c, char *err, size_t errlen)
{
    if (c->version == 4)
        return prefix_add_v4_range(p, c->first4, c->last4, err, errlen);
    return add_v6_range(p, c->first6, c->last6, err, errlen);
}

static int parse_len(const char *s, unsigned max, unsigned *out)
{
    uint64_t v;
    if (text_parse_u64(s, 0, max, &v) < 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static void cidr_v6_bounds(struct cidr *c, const uint8_t addr[16])
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = c->len >= (i + 1) * 8 ? 8 : (c->len > i * 8 ? c->len - i * 8 : 0);
        uint8_t mask = (uint8_t)(keep ? 0xff << (8 - keep) : 0);
        c->first6[i] = addr[i] & mask;
        c->last6[i] = (uint8_t)(addr[i] | (uint8_t)~mask);
    }
}

int prefix_parse_cidr(const char *text, struct cidr *out, char *err, size_t errlen)
{
    char buf[64];
    unsigned len;
    uint8_t a6[16];
    struct in_addr a4;

    if (text_copy(buf, sizeof buf, text) < 0)
        goto bad;
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        len = 32;
        if (slash && parse_len(slash + 1, 32, &len) < 0)
            goto bad;
        uint32_t a = ntohl(a4.s_addr);
        uint32_t mask = len ? ~(uint32_t)0 << (32 - len) : 0;
        out->version = 4;
        out->len = (uint8_t)len;
        out->first4 = a & mask;
        out->last4 = a | ~mask;
        if (out->first4 != a)
            goto hostbits;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, a6) == 1) {
        len = 128;
        if (slash && parse_len(slash + 1, 128, &len) < 0)
            goto bad;
        out->version = 6;
        out->len = (uint8_t)len;
        cidr_v6_bounds(out, a6);
        if (memcmp(out->first6, a6, 16) != 0)
            goto hostbits;
        return 0;
    }
bad:
    snprintf(err, errlen, "bad prefix '%.64s'", text);
    return -1;
hostbits:
    snprintf(err, errlen, "host bits set in '%.64s'", text);
    return -1;
}

int prefix_load_builtin(struct prefix_set *p, const char *cc, char *err, size_t errlen)
{
    struct cidr c;

    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
        if (!text_ieq(builtin[i].cc, cc))
            continue;
        for (size_t j = 0; builtin[i].prefixes[j]; j++)
            if (prefix_parse_cidr(builtin[i].prefixes[j], &c, err, errlen) < 0 ||
                prefix_add_cidr(p, &c, err, errlen) < 0)
                return -1;
        return 0;
    }
    snprintf(err, errlen,
             "no built-in address set for country '%.8s' (give --prefixes FILE or --rir FILE)", cc);
    return -1;
}

static int prefix_line(void *ctx, const struct text_line *l, char *err, size_t errlen)
{
    struct prefix_set *p = ctx;
    struct cidr c;
    char why[160];

    if (prefix_parse_cidr(l->text, &c, why, sizeof why) < 0 ||
        prefix_add_cidr(p, &c, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s:%u: %s", l->path, l->lineno, why);
        return -1;
    }
    return 1;
}

int prefix_load_file(struct prefix_set *p, const char *path, char *err, size_t errlen)
{
    return text_each_line(path, prefix_line, p, err, errlen);
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
static int rir_add(struct prefix_set *p, const char *type, const char *start, const char *value,
                   char *why, size_t whylen)
{
    uint64_t v;
    struct in_addr a4;
    uint8_t a6[16];
    struct cidr c;

    if (strcmp(type, "ipv4") == 0) {
        if (inet_pton(AF_INET, start, &a4) != 1 || text_parse_u64(value, 1, 1ull << 32, &v) < 0) {
            snprintf(why, whylen, "bad ipv4 entry '%.40s|%.16s'", start, value);
            return -1;
        }
        uint64_t first = ntohl(a4.s_addr);
        if (first + v - 1 > UINT32_MAX) {
            snprintf(why, whylen, "ipv4 range past 255.255.255.255 at '%.40s'", start);
            return -1;
        }
        return prefix_add_v4_range(p, (uint32_t)first, (uint32_t)(first + v - 1), why, whylen);
    }
    if (inet_pton(AF_INET6, start, a6) != 1 || text_parse_u64(value, 0, 128, &v) < 0) {
        snprintf(why, whylen, "bad ipv6 entry '%.40s|%.16s'", start, value);
        return -1;
    }
    memset(&c, 0, sizeof c);
    c.version = 6;
    c.len = (uint8_t)v;
    cidr_v6_bounds(&c, a6);
    return prefix_add_cidr(p, &c, why, whylen);
}

/* Returns 1 when the line was taken, 0 when skipped, -1 on error (message in why). */
static int rir_line(struct prefix_set *p, char *s, const char *cc, char *why, size_t whylen)
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
    if (!text_ieq(f[1], cc))
        return 0;
    if (strcmp(f[6], "allocated") != 0 && strcmp(f[6], "assigned") != 0)
        return 0;
    return rir_add(p, f[2], f[3], f[4], why, whylen) < 0 ? -1 : 1;
}

struct rir_ctx {
    struct prefix_set *p;
    const char *cc;
};

static int rir_each(void *ctx, const struct text_line *l, char *err, size_t errlen)
{
    const struct rir_ctx *rc = ctx;
    char why[160];
    int r = rir_line(rc->p, l->text, rc->cc, why, sizeof why);

    if (r < 0)
        snprintf(err, errlen, "%s:%u: %s", l->path, l->lineno, why);
    return r;
}

int prefix_load_rir(struct prefix_set *p, const char *path, const char *cc, char *err,
                    size_t errlen)
{
    struct rir_ctx rc = {.p = p, .cc = cc};
    return text_each_line(path, rir_each, &rc, err, errlen);
}

static int cmp_part(const void *a, const void *b)
{
    uint32_t x = ((const struct prefix_part *)a)->net24, y = ((const struct prefix_part *)b)->net24;
    return x < y ? -1 : x > y;
}

static int cmp_u128(uint64_t ahi, uint64_t alo, uint64_t bhi, uint64_t blo)
{
    if (ahi != bhi)
        return ahi < bhi ? -1 : 1;
    return alo < blo ? -1 : alo > blo;
}

static int cmp_range6(const void *a, const void *b)
{
    const struct prefix_range6 *x = a, *y = b;
    return cmp_u128(x->first_hi, x->first_lo, y->first_hi, y->first_lo);
}

static void merge_parts(struct prefix_set *p)
{
    size_t out = 0;

    if (p->nparts > 1)
        qsort(p->parts, p->nparts, sizeof *p->parts, cmp_part);
    for (size_t i = 0; i < p->nparts; i++) {
        if (out > 0 && p->parts[out - 1].net24 == p->parts[i].net24) {
            for (int w = 0; w < 4; w++)
                p->parts[out - 1].bits[w] |= p->parts[i].bits[w];
            continue;
        }
        p->parts[out++] = p->parts[i];
    }
    p->nparts = out;
}

/* Merges overlapping and adjacent IPv6 ranges so a binary search finds at most one. */
static void merge_v6(struct prefix_set *p)
{
    size_t out = 0;

    if (p->nv6 > 1)
        qsort(p->v6, p->nv6, sizeof *p->v6, cmp_range6);
    for (size_t i = 0; i < p->nv6; i++) {
        struct prefix_range6 *r = &p->v6[i];
        if (out > 0) {
            struct prefix_range6 *last = &p->v6[out - 1];
            uint64_t nlo = last->last_lo + 1, nhi = last->last_hi + (nlo == 0);
            bool touches = cmp_u128(r->first_hi, r->first_lo, last->last_hi, last->last_lo) <= 0 ||
                           (cmp_u128(r->first_hi, r->first_lo, nhi, nlo) == 0 &&
                            !(last->last_hi == UINT64_MAX && last->last_lo == UINT64_MAX));
            if (touches) {
                if (cmp_u128(r->last_hi, r->last_lo, last->last_hi, last->last_lo) > 0) {
                    last->last_hi = r->last_hi;
                    last->last_lo = r->last_lo;
                }
                continue;
            }
        }
        p->v6[out++] = *r;
    }
    p->nv6 = out;
}

int prefix_finish(struct prefix_set *p)
{
    merge_parts(p);
    merge_v6(p);
    p->finished = true;
    return 0;
}

bool prefix_has_v4_part(const struct prefix_set *p, uint32_t a)
{
    size_t lo = 0, hi = p->nparts;
    uint32_t net = a >> 8;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->parts[mid].net24 < net)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == p->nparts || p->parts[lo].net24 != net)
        return false;
    unsigned host = a & 255;
    return (p->parts[lo].bits[host >> 6] >> (host & 63)) & 1;
}

bool prefix_has_v6(const struct prefix_set *p, const uint8_t a[16])
{
    uint64_t hi = 0, lo = 0;
    size_t l = 0, h = p->nv6;

    if (p->nv6 == 0)
        return false;
    for (int i = 0; i < 8; i++) {
        hi = hi << 8 | a[i];
        lo = lo << 8 | a[i + 8];
    }
    /* Last range whose first address is <= a. */
    while (l < h) {
        size_t mid = l + (h - l) / 2;
        if (cmp_u128(p->v6[mid].first_hi, p->v6[mid].first_lo, hi, lo) <= 0)
            l = mid + 1;
        else
            h = mid;
    }
    if (l == 0)
        return false;
    const struct prefix_range6 *r = &p->v6[l - 1];
    return cmp_u128(hi, lo, r->last_hi, r->last_lo) <= 0;
}

uint64_t prefix_v4_addresses(const struct prefix_set *p)
{
    uint64_t n = 0;

    for (size_t w = 0; w < BITS24 / 64; w++)
        n += (uint64_t)__builtin_popcountll(p->full24[w]) * 256;
    for (size_t i = 0; i < p->nparts; i++) {
        if (prefix_bit(p->full24, p->parts[i].net24))
            continue;
        for (int w = 0; w < 4; w++)
            n += (uint64_t)__builtin_popcountll(p->parts[i].bits[w]);
    }
    return n;
}

size_t prefix_v6_ranges(const struct prefix_set *p)
{
    return p->nv6;
}

bool cidr_contains(const struct cidr *c, uint8_t version, uint32_t a4, const uint8_t a16[16])
{
    if (c->version != version)
        return false;
    if (version == 4)
        return a4 >= c->first4 && a4 <= c->last4;
    return memcmp(a16, c->first6, 16) >= 0 && memcmp(a16, c->last6, 16) <= 0;
}

void prefix_set_code(struct prefix_set *p, const char *cc)
{
    snprintf(p->code, sizeof p->code, "%s", cc);
}

unsigned prefix_ncountries(const struct prefix_set *p)
{
    (void)p;
    return 1;
}

const char *prefix_country_code(const struct prefix_set *p, unsigned idx)
{
    return idx == 1 ? p->code : NULL;
}
