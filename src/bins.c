/* bins — per-route time bins. See bins.h. */
#include "bins.h"

#include "hll.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define SET_MIN 1024u

const struct bin_counter bin_counters[] = {
#define BIN_ROW(name, uses, total) {#name, uses, total, offsetof(struct bin_counts, name)},
    BIN_COUNTERS(BIN_ROW)
#undef BIN_ROW
};

void bin_counts_add(struct bin_counts *dst, const struct bin_counts *src)
{
#define BIN_ADD(name, uses, total) dst->name += src->name;
    BIN_COUNTERS(BIN_ADD)
#undef BIN_ADD
}

struct host_slot {
    uint32_t tag;  /* hash bits, to skip most address compares */
    uint32_t idx1; /* index into addrs plus one; 0 = empty */
};

/* Distinct country-side addresses of one route in the open bin. */
struct host_set {
    struct host_slot *slots;
    size_t size; /* power of two */
    uint8_t (*addrs)[16];
    size_t n, cap_addrs;
    uint8_t *hll; /* HLL_REGISTERS registers once the exact set is full */
    bool overflow;
};

struct bins {
    unsigned nroutes, len, host_cap;
    int64_t start; /* open bin; INT64_MIN before the first packet */
    bool after_jump;
    uint64_t late, jumps;
    struct bin_counts *cur;
    struct host_set *sets;
    const uint8_t (**host_ptrs)[16];
    size_t *nhosts;
};

static uint64_t hash_addr(const uint8_t a[16])
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, a + 8, 8);
    uint64_t h = x * 0x9e3779b97f4a7c15ull ^ (y + 0x632be59bd9b4e019ull);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static int set_init(struct host_set *s, unsigned cap)
{
    memset(s, 0, sizeof *s);
    s->size = SET_MIN * 2;
    s->cap_addrs = SET_MIN < cap ? SET_MIN : cap;
    s->slots = calloc(s->size, sizeof *s->slots);
    s->addrs = malloc(s->cap_addrs * sizeof *s->addrs);
    return s->slots && s->addrs ? 0 : -1;
}

static void set_free(struct host_set *s)
{
    free(s->slots);
    free(s->addrs);
    free(s->hll);
}

static void set_clear(struct host_set *s)
{
    if (s->n)
        memset(s->slots, 0, s->size * sizeof *s->slots);
    if (s->overflow)
        memset(s->hll, 0, HLL_REGISTERS);
    s->n = 0;
    s->overflow = false;
}

/* Doubles the slot table and the address array (rare: at most a few times per run). */
static int set_grow(struct host_set *s, unsigned cap)
{
    size_t size = s->size * 2, ncap = s->cap_addrs * 2 < cap ? s->cap_addrs * 2 : cap;
    struct host_slot *slots = calloc(size, sizeof *slots);
    uint8_t(*addrs)[16] = realloc(s->addrs, ncap * sizeof *addrs);
    if (!slots || !addrs) {
        free(slots);
        if (addrs)
            s->addrs = addrs;
        return -1;
    }
    s->addrs = addrs;
    s->cap_addrs = ncap;
    for (size_t i = 0; i < s->n; i++) {
        uint64_t h = hash_addr(s->addrs[i]);
        size_t j = h & (size - 1);
        while (slots[j].idx1)
            j = (j + 1) & (size - 1);
        slots[j].tag = (uint32_t)(h >> 32);
        slots[j].idx1 = (uint32_t)i + 1;
    }
    free(s->slots);
    s->slots = slots;
    s->size = size;
    return 0;
}

/* Switches to the estimate: every exact member goes into the sketch first. */
static void set_overflow(struct host_set *s)
{
    if (!s->hll)
        s->hll = calloc(HLL_REGISTERS, 1);
    if (!s->hll)
        return;
    for (size_t i = 0; i < s->n; i++)
        hll_add(s->hll, hash_addr(s->addrs[i]));
    s->overflow = true;
}

static void set_add(struct host_set *s, const uint8_t a[16], unsigned cap)
{
    uint64_t h = hash_addr(a);
    uint32_t tag = (uint32_t)(h >> 32);
    size_t j = h & (s->size - 1);

    for (; s->slots[j].idx1; j = (j + 1) & (s->size - 1))
        if (s->slots[j].tag == tag && memcmp(s->addrs[s->slots[j].idx1 - 1], a, 16) == 0)
            return;
    if (s->overflow) {
        hll_add(s->hll, h);
        return;
    }
    if (s->n == s->cap_addrs) {
        if (s->n >= cap || set_grow(s, cap) < 0) {
            set_overflow(s);
            if (s->overflow)
                hll_add(s->hll, h);
            return;
        }
        j = h & (s->size - 1);
        while (s->slots[j].idx1)
            j = (j + 1) & (s->size - 1);
    }
    memcpy(s->addrs[s->n], a, 16);
    s->slots[j].tag = tag;
    s->slots[j].idx1 = (uint32_t)++s->n;
}

struct bins *bins_new(unsigned nroutes, unsigned len, unsigned host_cap)
{
    if (nroutes == 0 || len == 0 || host_cap == 0 || host_cap > BINS_HOST_CAP_MAX)
        return NULL;
    struct bins *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->nroutes = nroutes;
    b->len = len;
    b->host_cap = host_cap;
    b->start = INT64_MIN;
    b->cur = calloc(nroutes, sizeof *b->cur);
    b->sets = calloc(nroutes, sizeof *b->sets);
    b->host_ptrs = calloc(nroutes, sizeof *b->host_ptrs);
    b->nhosts = calloc(nroutes, sizeof *b->nhosts);
    if (!b->cur || !b->sets || !b->host_ptrs || !b->nhosts)
        goto err;
    for (unsigned r = 0; r < nroutes; r++)
        if (set_init(&b->sets[r], host_cap) < 0)
            goto err;
    return b;
err:
    bins_free(b);
    return NULL;
}

void bins_free(struct bins *b)
{
    if (!b)
        return;
    for (unsigned r = 0; b->sets && r < b->nroutes; r++)
        set_free(&b->sets[r]);
    free(b->nhosts);
    free(b->host_ptrs);
    free(b->sets);
    free(b->cur);
    free(b);
}

static void emit_open(struct bins *b, bool partial, bins_emit_fn emit, void *ctx)
{
    struct bin_view v = {
        .start = b->start,
        .len = b->len,
        .nroutes = b->nroutes,
        .partial = partial,
        .after_jump = b->after_jump,
        .routes = b->cur,
        .hosts = b->host_ptrs,
        .nhosts = b->nhosts,
    };
    for (unsigned r = 0; r < b->nroutes; r++) {
        struct host_set *s = &b->sets[r];
        b->cur[r].hosts = s->overflow ? hll_count(s->hll) : s->n;
        b->host_ptrs[r] = (const uint8_t(*)[16])s->addrs;
        b->nhosts[r] = s->n;
    }
    emit(ctx, &v);
    for (unsigned r = 0; r < b->nroutes; r++)
        set_clear(&b->sets[r]);
    memset(b->cur, 0, b->nroutes * sizeof *b->cur);
    b->after_jump = false;
}

static int64_t align(int64_t ts, unsigned len)
{
    int64_t q = ts / (int64_t)len;
    if (ts % (int64_t)len < 0)
        q--;
    return q * (int64_t)len;
}

void bins_advance(struct bins *b, int64_t ts, bins_emit_fn emit, void *ctx)
{
    if (b->start == INT64_MIN) {
        b->start = align(ts, b->len);
        return;
    }
    if (ts < b->start + (int64_t)b->len) {
        if (ts < b->start)
            b->late++;
        return;
    }
    int64_t target = align(ts, b->len);
    emit_open(b, false, emit, ctx);
    uint64_t gap = (uint64_t)(target - b->start) / b->len - 1;
    if (gap > BINS_MAX_GAP) {
        b->jumps++;
        b->after_jump = true;
        b->start = target;
        return;
    }
    for (b->start += b->len; b->start < target; b->start += b->len)
        emit_open(b, false, emit, ctx);
}

void bins_count(struct bins *b, unsigned route, unsigned dir, uint64_t bytes,
                const uint8_t host[16])
{
    struct bin_counts *c = &b->cur[route];
    if (dir == 0) {
        c->pkts_in++;
        c->bytes_in += bytes;
    } else {
        c->pkts_out++;
        c->bytes_out += bytes;
    }
    set_add(&b->sets[route], host, b->host_cap);
}

void bins_count_ctl(struct bins *b, unsigned route)
{
    b->cur[route].ctl_pkts++;
}

void bins_count_flow(struct bins *b, unsigned route)
{
    b->cur[route].flows_new++;
}

void bins_count_start(struct bins *b, unsigned route, unsigned dir)
{
    if (dir == 0)
        b->cur[route].starts_in++;
    else
        b->cur[route].starts_out++;
}

void bins_count_drops(struct bins *b, unsigned route, uint64_t n)
{
    b->cur[route].drops += n;
}

int bins_take_over(struct bins *dst, struct bins *src, const int *from)
{
    if (dst->len != src->len || dst->host_cap != src->host_cap)
        return -1;
    for (unsigned r = 0; r < dst->nroutes; r++) {
        if (from[r] < 0 || (unsigned)from[r] >= src->nroutes)
            continue;
        struct bin_counts c = dst->cur[r];
        struct host_set h = dst->sets[r];
        dst->cur[r] = src->cur[from[r]];
        dst->sets[r] = src->sets[from[r]];
        src->cur[from[r]] = c;
        src->sets[from[r]] = h;
    }
    dst->start = src->start;
    dst->after_jump = src->after_jump;
    dst->late = src->late;
    dst->jumps = src->jumps;
    src->start = INT64_MIN;
    return 0;
}

void bins_flush(struct bins *b, bins_emit_fn emit, void *ctx)
{
    if (b->start == INT64_MIN)
        return;
    emit_open(b, true, emit, ctx);
    b->start = INT64_MIN;
}

int64_t bins_open_start(const struct bins *b)
{
    return b->start;
}

uint64_t bins_late_packets(const struct bins *b)
{
    return b->late;
}

uint64_t bins_time_jumps(const struct bins *b)
{
    return b->jumps;
}
