/* prefix — the country map. See prefix.h. */
#include "prefix.h"

#include "text.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define V4_SLOTS  (1u << 24)
#define NET16     (1u << 16)
#define HUGE_PAGE ((size_t)2 << 20)
#define V6_DENSE  8 /* runs in an IPv6 bucket beyond which it gets a table of its own */

/* A loaded prefix. IPv4 sits at the bottom of the 128-bit space (hi = 0, lo = address)
 * with len + 96, so one sweep serves both families. */
struct prefix_entry {
    uint64_t hi, lo; /* first address */
    uint32_t seq;    /* order added: the later wins among equal prefixes */
    uint16_t code;   /* prefix_code */
    uint8_t len;     /* 0..128 */
    uint8_t v6;
};

/* Built-in sets: the blocks routed for each country. */
static const struct {
    const char *cc;
    const char *const prefixes[8];
} builtin[] = {
    {"KP", {"175.45.176.0/22", "210.52.109.0/24", "77.94.35.0/24", NULL}},
};

/* The IPv4 table: anonymous memory aligned to a huge page, zero pages until written. */
static uint8_t *v4_alloc(void)
{
    uint8_t *m = mmap(NULL, V4_SLOTS + HUGE_PAGE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    size_t head = (HUGE_PAGE - (uintptr_t)m % HUGE_PAGE) % HUGE_PAGE;
    if (head)
        munmap(m, head);
    munmap(m + head + V4_SLOTS, HUGE_PAGE - head);
    return m + head;
}

struct prefix_set *prefix_new(void)
{
    struct prefix_set *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    /* calloc'd tables stay on shared zero pages until written: a small map costs little. */
    p->v4 = v4_alloc();
    p->split = calloc(V4_SLOTS / 64, sizeof(uint64_t));
    p->v4_any = calloc(NET16 / 64, sizeof(uint64_t));
    p->split_base = calloc(NET16 + 1, sizeof(uint32_t));
    p->v6_first = calloc(NET16 + 1, sizeof(uint32_t));
    p->v6_sub = calloc(NET16, sizeof(uint32_t));
    if (!p->v4 || !p->split || !p->v4_any || !p->split_base || !p->v6_first || !p->v6_sub)
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
    free(p->entries);
    free(p->v6_tables);
    free(p->v6_sub);
    free(p->v6_first);
    free(p->v6_cc);
    free(p->v6_lo);
    free(p->v6_hi);
    free(p->runs);
    free(p->split_off);
    free(p->split_base);
    free(p->v4_any);
    free(p->split);
    if (p->v4)
        munmap(p->v4, V4_SLOTS);
    free(p);
}

unsigned prefix_code(const char *cc)
{
    unsigned a = (unsigned char)cc[0] | 0x20, b;

    if (a < 'a' || a > 'z' || cc[1] == '\0')
        return 0;
    b = (unsigned char)cc[1] | 0x20;
    if (b < 'a' || b > 'z' || cc[2] != '\0')
        return 0;
    return 1 + (a - 'a') * 26 + (b - 'a');
}

static void code_text(unsigned code, char out[3])
{
    out[0] = (char)('A' + (code - 1) / 26);
    out[1] = (char)('A' + (code - 1) % 26);
    out[2] = '\0';
}

#define CODE_ZZ (26 * 26)

int prefix_country_list(const char *text, char (*out)[3], unsigned max, char *err, size_t errlen)
{
    char buf[PREFIX_LINE_MAX];
    unsigned n = 0;

    if (text_ieq(text, "all"))
        return 0;
    if (text_copy(buf, sizeof buf, text) < 0) {
        snprintf(err, errlen, "country list too long");
        return -1;
    }
    for (char *s = buf, *next; s; s = next) {
        next = strchr(s, ',');
        if (next)
            *next++ = '\0';
        unsigned code = prefix_code(s);
        if (code == 0 || code == CODE_ZZ) {
            snprintf(err, errlen, "'%.16s' is not a country code (two letters, or 'all')", s);
            return -1;
        }
        char cc[3];
        code_text(code, cc);
        bool dup = false;
        for (unsigned i = 0; i < n && !dup; i++)
            dup = strcmp(out[i], cc) == 0;
        if (dup)
            continue;
        if (n == max) {
            snprintf(err, errlen, "more than %u countries", max);
            return -1;
        }
        memcpy(out[n++], cc, 3);
    }
    return (int)n;
}

static int add_entry(struct prefix_set *p, uint64_t hi, uint64_t lo, unsigned len, bool v6,
                     unsigned code, char *err, size_t errlen)
{
    if (p->finished) {
        snprintf(err, errlen, "the map is already finished");
        return -1;
    }
    if (p->nentries == p->cap_entries) {
        size_t cap = p->cap_entries ? p->cap_entries * 2 : 256;
        if (p->nentries >= PREFIX_MAX_ENTRIES) {
            snprintf(err, errlen, "more than %u prefixes", PREFIX_MAX_ENTRIES);
            return -1;
        }
        struct prefix_entry *n = realloc(p->entries, cap * sizeof *n);
        if (!n) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        p->entries = n;
        p->cap_entries = cap;
    }
    struct prefix_entry *e = &p->entries[p->nentries++];
    *e = (struct prefix_entry){.hi = hi,
                               .lo = lo,
                               .seq = (uint32_t)p->stats.entries,
                               .code = (uint16_t)code,
                               .len = (uint8_t)len,
                               .v6 = v6};
    p->stats.entries++;
    p->stats.countries += !p->loaded[code];
    p->loaded[code] = true;
    return 0;
}

/* The code of cc for an entry: >0, 0 for ZZ (counted, skip), -1 when not a code. */
static int entry_code(struct prefix_set *p, const char *cc, char *err, size_t errlen)
{
    unsigned code = prefix_code(cc);

    if (code == 0) {
        snprintf(err, errlen, "bad country code '%.16s'", cc);
        return -1;
    }
    if (code == CODE_ZZ) {
        p->stats.zz++;
        return 0;
    }
    return (int)code;
}

static uint64_t load_be64(const uint8_t *b)
{
    uint64_t v;
    memcpy(&v, b, sizeof v);
    return be64toh(v);
}

int prefix_add_cidr(struct prefix_set *p, const struct cidr *c, const char *cc, char *err,
                    size_t errlen)
{
    int code = entry_code(p, cc, err, errlen);

    if (code <= 0)
        return code;
    if (c->version == 4)
        code = add_entry(p, 0, c->first4, c->len + 96u, false, (unsigned)code, err, errlen);
    else
        code = add_entry(p, load_be64(c->first6), load_be64(c->first6 + 8), c->len, true,
                         (unsigned)code, err, errlen);
    return code < 0 ? -1 : 1;
}

int prefix_add_v4_range(struct prefix_set *p, uint32_t first, uint32_t last, const char *cc,
                        char *err, size_t errlen)
{
    int code = entry_code(p, cc, err, errlen);
    uint64_t at = first, end = (uint64_t)last + 1;

    if (code <= 0)
        return code;
    if (first > last) {
        snprintf(err, errlen, "empty address range");
        return -1;
    }
    /* The largest aligned block at `at` that fits, until the range is covered. */
    while (at < end) {
        unsigned bits = at ? (unsigned)__builtin_ctzll(at) : 32;
        if (bits > 32)
            bits = 32;
        while (((uint64_t)1 << bits) > end - at)
            bits--;
        if (add_entry(p, 0, at, 128 - bits, false, (unsigned)code, err, errlen) < 0)
            return -1;
        at += (uint64_t)1 << bits;
    }
    return 1;
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
                prefix_add_cidr(p, &c, builtin[i].cc, err, errlen) < 0)
                return -1;
        return 0;
    }
    snprintf(err, errlen,
             "no built-in address set for country '%.8s' (give --rir, --geoip or --prefixes)", cc);
    return -1;
}

/* ---- resolving: most specific wins ---- */

struct bound {
    uint64_t hi, lo; /* first address of a run */
    uint16_t code;   /* its country code, 0 = none */
};

static int cmp_u128(uint64_t ahi, uint64_t alo, uint64_t bhi, uint64_t blo)
{
    if (ahi != bhi)
        return ahi < bhi ? -1 : 1;
    return alo < blo ? -1 : alo > blo;
}

/* By family, first address, length (the enclosing prefix first), then order added. */
static int cmp_entry(const void *a, const void *b)
{
    const struct prefix_entry *x = a, *y = b;
    int c = cmp_u128(x->v6, x->hi, y->v6, y->hi);

    if (c == 0)
        c = cmp_u128(0, x->lo, 0, y->lo);
    if (c == 0)
        c = x->len < y->len ? -1 : x->len > y->len;
    if (c == 0)
        c = x->seq < y->seq ? -1 : x->seq > y->seq;
    return c;
}

static void last_of(const struct prefix_entry *e, uint64_t *hi, uint64_t *lo)
{
    *hi = e->len >= 64 ? e->hi : e->hi | (~0ull >> e->len);
    *lo = e->len >= 128 ? e->lo : e->lo | (e->len <= 64 ? ~0ull : ~0ull >> (e->len - 64));
}

struct open_prefix {
    uint64_t fhi, flo, lhi, llo;
    uint16_t code;
    uint8_t len;
};

struct sweep {
    struct open_prefix stack[130]; /* nested prefixes have distinct lengths 0..128 */
    int top;
    struct bound *out;
    size_t nout;
    uint64_t conflicts;
};

/* Closes the innermost open prefix: the enclosing one (or none) resumes after it. */
static void sweep_pop(struct sweep *s)
{
    const struct open_prefix *t = &s->stack[s->top--];
    uint16_t code = s->top >= 0 ? s->stack[s->top].code : 0;

    if (t->lhi == UINT64_MAX && t->llo == UINT64_MAX)
        return;
    uint64_t lo = t->llo + 1, hi = t->lhi + (lo == 0);
    s->out[s->nout++] = (struct bound){.hi = hi, .lo = lo, .code = code};
}

/* Turns sorted prefixes (nested or disjoint) of one family into runs: the innermost open
 * prefix at each address gives its code. Writes at most 2n + 1 bounds, the first at 0. */
static size_t sweep(const struct prefix_entry *e, size_t n, struct bound *out, uint64_t *conf)
{
    struct sweep s = {.top = -1, .out = out};

    out[s.nout++] = (struct bound){0};
    for (size_t i = 0; i < n; i++) {
        uint64_t lhi, llo;
        last_of(&e[i], &lhi, &llo);
        while (s.top >= 0 && cmp_u128(s.stack[s.top].lhi, s.stack[s.top].llo, e[i].hi, e[i].lo) < 0)
            sweep_pop(&s);
        struct open_prefix *t = s.top >= 0 ? &s.stack[s.top] : NULL;
        if (t && t->fhi == e[i].hi && t->flo == e[i].lo && t->len == e[i].len) {
            s.conflicts += t->code != e[i].code;
            t->code = e[i].code;
        } else {
            s.stack[++s.top] = (struct open_prefix){.fhi = e[i].hi,
                                                    .flo = e[i].lo,
                                                    .lhi = lhi,
                                                    .llo = llo,
                                                    .code = e[i].code,
                                                    .len = e[i].len};
        }
        out[s.nout++] = (struct bound){.hi = e[i].hi, .lo = e[i].lo, .code = e[i].code};
    }
    while (s.top >= 0)
        sweep_pop(&s);
    *conf += s.conflicts;
    return s.nout;
}

/* Maps codes to watched indexes (sel) in place and merges: of bounds at one address the
 * last counts; neighbours with the same index become one run. Returns the new count. */
static size_t compact(struct bound *b, size_t n, const uint8_t *sel)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        uint16_t c = sel[b[i].code];
        if (k > 0 && b[k - 1].hi == b[i].hi && b[k - 1].lo == b[i].lo) {
            b[k - 1].code = c;
            if (k > 1 && b[k - 2].code == c)
                k--;
            continue;
        }
        if (k > 0 && b[k - 1].code == c)
            continue;
        b[k++] = (struct bound){.hi = b[i].hi, .lo = b[i].lo, .code = c};
    }
    return k;
}

/* ---- IPv4 table from runs ---- */

struct v4_fill {
    struct prefix_set *p;
    uint32_t net; /* the /24 being split */
    uint16_t runs[256];
    unsigned nruns;
    size_t cap_off, cap_runs;
};

/* Returns v grown to hold need items (maybe moved), or NULL (v is still valid). */
static void *grow(void *v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return v;
    size_t cap2 = *cap ? *cap * 2 : 1024;
    while (cap2 < need)
        cap2 *= 2;
    void *n = realloc(v, cap2 * size);
    if (n)
        *cap = cap2;
    return n;
}

/* Marks the /16s of the /24s first..last as holding a watched address. */
static void v4_mark(struct prefix_set *p, uint32_t first, uint32_t last)
{
    for (uint32_t n16 = first >> 8; n16 <= last >> 8; n16++)
        p->v4_any[n16 >> 6] |= (uint64_t)1 << (n16 & 63);
}

/* Ends the /24 in f->net: one country, or a split /24 with its runs. */
static int v4_flush(struct v4_fill *f)
{
    struct prefix_set *p = f->p;

    if (f->nruns == 0)
        return 0;
    if (f->nruns == 1) {
        p->v4[f->net] = (uint8_t)f->runs[0];
        if ((uint8_t)f->runs[0])
            v4_mark(p, f->net, f->net);
    } else {
        uint32_t *off = grow(p->split_off, &f->cap_off, p->nsplit + 2, sizeof *off);
        if (!off)
            return -1;
        p->split_off = off;
        uint16_t *runs = grow(p->runs, &f->cap_runs, p->nruns + f->nruns, sizeof *runs);
        if (!runs)
            return -1;
        p->runs = runs;
        p->v4[f->net] = PREFIX_SPLIT;
        v4_mark(p, f->net, f->net);
        p->split[f->net >> 6] |= (uint64_t)1 << (f->net & 63);
        p->split_base[(f->net >> 8) + 1]++;
        p->split_off[p->nsplit++] = (uint32_t)p->nruns;
        memcpy(p->runs + p->nruns, f->runs, f->nruns * sizeof f->runs[0]);
        p->nruns += f->nruns;
        p->split_off[p->nsplit] = (uint32_t)p->nruns;
    }
    f->nruns = 0;
    return 0;
}

/* Adds the run [s, e] (one /24 or less) of country c to the /24 being split. */
static void v4_part(struct v4_fill *f, uint32_t s, unsigned c)
{
    f->net = s >> 8;
    if (f->nruns == 0 || (f->runs[f->nruns - 1] & 255) != c)
        f->runs[f->nruns++] = (uint16_t)((s & 255) << 8 | c);
}

static int v4_run(struct v4_fill *f, uint32_t s, uint32_t e, unsigned c)
{
    if ((s & 255) != 0 || (s >> 8 == e >> 8 && (e & 255) != 255)) {
        v4_part(f, s, c);
        if (s >> 8 == e >> 8 && (e & 255) != 255)
            return 0;
        if (v4_flush(f) < 0)
            return -1;
        if (s >> 8 == e >> 8)
            return 0;
        s = (s | 255) + 1;
    }
    if ((e & 255) != 255) {
        uint32_t whole = (e >> 8) - (s >> 8);
        if (c && whole) {
            memset(f->p->v4 + (s >> 8), (int)c, whole);
            v4_mark(f->p, s >> 8, (s >> 8) + whole - 1);
        }
        v4_part(f, e & ~255u, c);
        return 0;
    }
    if (c) {
        memset(f->p->v4 + (s >> 8), (int)c, (e >> 8) - (s >> 8) + 1);
        v4_mark(f->p, s >> 8, e >> 8);
    }
    return 0;
}

static int build_v4(struct prefix_set *p, const struct bound *b, size_t n)
{
    struct v4_fill f = {.p = p};

    for (size_t i = 0; i < n; i++) {
        if (b[i].hi || b[i].lo > UINT32_MAX)
            break;
        uint64_t end = i + 1 < n && !b[i + 1].hi ? b[i + 1].lo : 1ull << 32;
        if (end > 1ull << 32)
            end = 1ull << 32;
        if (v4_run(&f, (uint32_t)b[i].lo, (uint32_t)(end - 1), b[i].code) < 0)
            return -1;
        if (b[i].code)
            p->v4_addresses += end - b[i].lo;
    }
    if (v4_flush(&f) < 0)
        return -1;
    for (uint32_t k = 0; k < NET16; k++)
        p->split_base[k + 1] += p->split_base[k];
    return 0;
}

/* ---- IPv6 runs ---- */

/* Fills the table of runs [a, b), which share the bits above shift + log2(n): start[j] =
 * the first run whose bucket ((hi >> shift) & (n - 1)) is j or later; a bucket of more than
 * V6_DENSE runs gets a table of its own over the next 8 bits. table 0 is the /16 level. */
static int v6_table(struct prefix_set *p, size_t a, size_t b, unsigned shift, unsigned n,
                    uint32_t table)
{
    uint32_t *start = table ? p->v6_tables[table - 1].start : p->v6_first;
    size_t i = a;

    for (unsigned j = 0; j < n; j++) {
        while (i < b && ((p->v6_hi[i] >> shift) & (n - 1)) < j)
            i++;
        start[j] = (uint32_t)i;
    }
    start[n] = (uint32_t)b;
    for (unsigned j = 0; j < n && shift >= 8; j++) {
        start = table ? p->v6_tables[table - 1].start : p->v6_first; /* the pool moves */
        size_t s = start[j], e = start[j + 1];
        if (e - s <= V6_DENSE)
            continue;
        struct prefix_v6_table *t =
            grow(p->v6_tables, &p->cap_v6_tables, p->nv6_tables + 1, sizeof *t);
        if (!t)
            return -1;
        p->v6_tables = t;
        uint32_t id = (uint32_t)++p->nv6_tables;
        memset(&t[id - 1], 0, sizeof *t);
        if (v6_table(p, s, e, shift - 8, 256, id) < 0)
            return -1;
        (table ? p->v6_tables[table - 1].sub : p->v6_sub)[j] = id;
    }
    return 0;
}

static int build_v6(struct prefix_set *p, const struct bound *b, size_t n)
{
    p->v6_hi = malloc(n * sizeof *p->v6_hi);
    p->v6_lo = malloc(n * sizeof *p->v6_lo);
    p->v6_cc = malloc(n);
    if (!p->v6_hi || !p->v6_lo || !p->v6_cc)
        return -1;
    for (size_t i = 0; i < n; i++) {
        p->v6_hi[i] = b[i].hi;
        p->v6_lo[i] = b[i].lo;
        p->v6_cc[i] = (uint8_t)b[i].code;
        p->v6_runs += b[i].code != 0;
    }
    p->nv6 = n;
    return v6_table(p, 0, n, 48, NET16, 0);
}

/* ---- finish ---- */

/* A table that will be mostly written is better in huge pages: random lookups then miss
 * the TLB less. A small one stays on (4 KiB) zero pages. */
static void advise_huge(struct prefix_set *p, const struct bound *b, size_t n)
{
    uint64_t watched = 0;

    for (size_t i = 0; i + 1 < n; i++)
        if (b[i].code && !b[i + 1].hi)
            watched += b[i + 1].lo - b[i].lo;
    if (watched >= (uint64_t)1 << 28)
        madvise(p->v4, V4_SLOTS, MADV_HUGEPAGE);
}

/* sel[code] = watched index, from the --country value. */
static int select_countries(struct prefix_set *p, const char *countries, uint8_t *sel, char *err,
                            size_t errlen)
{
    char list[PREFIX_COUNTRIES_MAX][3];
    int n = countries ? prefix_country_list(countries, list, PREFIX_COUNTRIES_MAX, err, errlen) : 0;

    if (n < 0)
        return -1;
    if (n == 0) {
        for (unsigned code = 1; code < PREFIX_CODES; code++) {
            if (!p->loaded[code])
                continue;
            if (p->ncountries == PREFIX_COUNTRIES_MAX) {
                snprintf(err, errlen,
                         "more than %u countries in the sources: name those to "
                         "watch with --country",
                         PREFIX_COUNTRIES_MAX);
                return -1;
            }
            sel[code] = (uint8_t)++p->ncountries;
            code_text(code, p->codes[p->ncountries]);
        }
        return 0;
    }
    for (int i = 0; i < n; i++) {
        unsigned code = prefix_code(list[i]);
        if (!p->loaded[code]) {
            snprintf(err, errlen, "country '%s' has no address in the loaded sources", list[i]);
            return -1;
        }
        sel[code] = (uint8_t)++p->ncountries;
        memcpy(p->codes[p->ncountries], list[i], 3);
    }
    return 0;
}

int prefix_finish(struct prefix_set *p, const char *countries, char *err, size_t errlen)
{
    uint8_t sel[PREFIX_CODES] = {0};
    struct bound *b = NULL;
    size_t n4 = 0;

    if (p->finished) {
        snprintf(err, errlen, "the map is already finished");
        return -1;
    }
    if (select_countries(p, countries, sel, err, errlen) < 0)
        return -1;
    if (p->nentries > 1)
        qsort(p->entries, p->nentries, sizeof *p->entries, cmp_entry);
    while (n4 < p->nentries && !p->entries[n4].v6)
        n4++;
    b = malloc((2 * (n4 > p->nentries - n4 ? n4 : p->nentries - n4) + 1) * sizeof *b);
    if (!b)
        goto oom;
    size_t nb = compact(b, sweep(p->entries, n4, b, &p->stats.conflicts), sel);
    advise_huge(p, b, nb);
    if (build_v4(p, b, nb) < 0)
        goto oom;
    const struct prefix_entry *v6 = p->entries ? p->entries + n4 : NULL; /* none loaded */
    nb = compact(b, sweep(v6, p->nentries - n4, b, &p->stats.conflicts), sel);
    if (build_v6(p, b, nb) < 0)
        goto oom;
    free(b);
    free(p->entries);
    p->entries = NULL;
    p->nentries = p->cap_entries = 0;
    p->finished = true;
    return 0;
oom:
    free(b);
    snprintf(err, errlen, "out of memory building the country map");
    return -1;
}

/* ---- lookups ---- */

unsigned prefix_country_v4_split(const struct prefix_set *p, uint32_t a)
{
    uint32_t net = a >> 8;
    const uint64_t *bits = p->split + (net >> 8) * 4;
    unsigned b = net & 255, host = a & 255;
    size_t i = p->split_base[net >> 8];

    for (unsigned w = 0; w < b >> 6; w++)
        i += (size_t)__builtin_popcountll(bits[w]);
    i += (size_t)__builtin_popcountll(bits[b >> 6] & (((uint64_t)1 << (b & 63)) - 1));
    /* The last run of the /24 that starts at or before the host. */
    size_t lo = p->split_off[i] + 1, hi = p->split_off[i + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((unsigned)(p->runs[mid] >> 8) <= host)
            lo = mid + 1;
        else
            hi = mid;
    }
    return p->runs[lo - 1] & 255;
}

unsigned prefix_country_v6(const struct prefix_set *p, const uint8_t a[16])
{
    uint64_t hi = load_be64(a), lo = load_be64(a + 8);
    const uint32_t *start = p->v6_first, *sub = p->v6_sub;
    unsigned k = (unsigned)(hi >> 48), shift = 48;

    if (p->nv6 == 0)
        return 0;
    while (sub[k]) {
        const struct prefix_v6_table *t = &p->v6_tables[sub[k] - 1];
        shift -= 8;
        k = (unsigned)(hi >> shift) & 255;
        start = t->start;
        sub = t->sub;
    }
    /* The last run that starts at or before a: in this bucket, else the one before it. */
    size_t l = start[k], h = start[k + 1];
    while (l < h) {
        size_t mid = l + (h - l) / 2;
        if (cmp_u128(p->v6_hi[mid], p->v6_lo[mid], hi, lo) <= 0)
            l = mid + 1;
        else
            h = mid;
    }
    return p->v6_cc[l - 1];
}

unsigned prefix_ncountries(const struct prefix_set *p)
{
    return p->ncountries;
}

const char *prefix_country_code(const struct prefix_set *p, unsigned idx)
{
    return idx >= 1 && idx <= p->ncountries ? p->codes[idx] : "";
}

unsigned prefix_country_find(const struct prefix_set *p, const char *cc)
{
    for (unsigned i = 1; i <= p->ncountries; i++)
        if (text_ieq(p->codes[i], cc))
            return i;
    return 0;
}

uint64_t prefix_v4_addresses(const struct prefix_set *p)
{
    return p->v4_addresses;
}

size_t prefix_v6_ranges(const struct prefix_set *p)
{
    return (size_t)p->v6_runs;
}

struct prefix_stats prefix_stats(const struct prefix_set *p)
{
    return p->stats;
}

size_t prefix_bytes(const struct prefix_set *p)
{
    return V4_SLOTS + V4_SLOTS / 8 + NET16 / 8 + (NET16 + 1) * sizeof(uint32_t) +
           (p->nsplit + 1) * sizeof(uint32_t) + p->nruns * sizeof(uint16_t) + p->nv6 * 17 +
           (2 * NET16 + 1) * sizeof(uint32_t) + p->nv6_tables * sizeof(struct prefix_v6_table);
}

bool cidr_contains(const struct cidr *c, uint8_t version, uint32_t a4, const uint8_t a16[16])
{
    if (c->version != version)
        return false;
    if (version == 4)
        return a4 >= c->first4 && a4 <= c->last4;
    return memcmp(a16, c->first6, 16) >= 0 && memcmp(a16, c->last6, 16) <= 0;
}
