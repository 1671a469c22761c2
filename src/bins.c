/* bins — time bins per row, the control series per route. See bins.h. */
#include "bins.h"

#include "hll.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define SET_MIN 64u /* a row's first set: grows by doubling up to the host cap */

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

/* Distinct country-side addresses of one row in the open bin. */
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
    unsigned nrows, cap_rows;
    struct bin_counts *cur; /* [cap_rows] */
    unsigned *row_route;
    struct host_set *sets;
    const uint8_t (**host_ptrs)[16];
    size_t *nhosts;
    uint64_t ctl[BINS_ROUTES_MAX], drops[BINS_ROUTES_MAX];
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
    if (nroutes == 0 || nroutes > BINS_ROUTES_MAX || len == 0 || host_cap == 0 ||
        host_cap > BINS_HOST_CAP_MAX)
        return NULL;
    struct bins *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->nroutes = nroutes;
    b->len = len;
    b->host_cap = host_cap;
    b->start = INT64_MIN;
    return b;
}

void bins_free(struct bins *b)
{
    if (!b)
        return;
    for (unsigned r = 0; r < b->nrows; r++)
        set_free(&b->sets[r]);
    free(b->nhosts);
    free(b->host_ptrs);
    free(b->sets);
    free(b->row_route);
    free(b->cur);
    free(b);
}

/* Room for n rows in every per-row array (doubling). */
static int reserve_rows(struct bins *b, unsigned n)
{
    if (n <= b->cap_rows)
        return 0;
    unsigned cap = b->cap_rows ? b->cap_rows : 8;
    while (cap < n)
        cap *= 2;
#define GROW(field)                                                                                \
    do {                                                                                           \
        void *p = realloc(b->field, cap * sizeof *b->field);                                       \
        if (!p)                                                                                    \
            return -1;                                                                             \
        b->field = p;                                                                              \
    } while (0)
    GROW(cur);
    GROW(row_route);
    GROW(sets);
    GROW(host_ptrs);
    GROW(nhosts);
#undef GROW
    b->cap_rows = cap;
    return 0;
}

int bins_add_row(struct bins *b, unsigned route)
{
    if (b->nrows >= BINS_ROWS_MAX || route >= b->nroutes || reserve_rows(b, b->nrows + 1) < 0)
        return -1;
    unsigned r = b->nrows;
    if (set_init(&b->sets[r], b->host_cap) < 0) {
        set_free(&b->sets[r]);
        return -1;
    }
    memset(&b->cur[r], 0, sizeof b->cur[r]);
    b->row_route[r] = route;
    b->nrows++;
    return (int)r;
}

unsigned bins_nrows(const struct bins *b)
{
    return b->nrows;
}

int bins_set_routes(struct bins *b, unsigned nroutes, const unsigned *row_route)
{
    if (nroutes == 0 || nroutes > BINS_ROUTES_MAX)
        return -1;
    for (unsigned r = 0; r < b->nrows; r++)
        if (row_route[r] >= nroutes)
            return -1;
    if (b->nrows) /* no row yet: nothing allocated to copy into */
        memcpy(b->row_route, row_route, b->nrows * sizeof *row_route);
    b->nroutes = nroutes;
    memset(b->ctl, 0, sizeof b->ctl);
    memset(b->drops, 0, sizeof b->drops);
    return 0;
}

static void emit_open(struct bins *b, bool partial, bins_emit_fn emit, void *ctx)
{
    struct bin_view v = {
        .start = b->start,
        .len = b->len,
        .partial = partial,
        .after_jump = b->after_jump,
        .nrows = b->nrows,
        .rows = b->cur,
        .row_route = b->row_route,
        .hosts = b->host_ptrs,
        .nhosts = b->nhosts,
        .nroutes = b->nroutes,
        .ctl_pkts = b->ctl,
        .drops = b->drops,
    };
    for (unsigned r = 0; r < b->nrows; r++) {
        struct host_set *s = &b->sets[r];
        b->cur[r].hosts = s->overflow ? hll_count(s->hll) : s->n;
        b->cur[r].ctl_pkts = b->ctl[b->row_route[r]];
        b->cur[r].drops = b->drops[b->row_route[r]];
        b->host_ptrs[r] = (const uint8_t(*)[16])s->addrs;
        b->nhosts[r] = s->n;
    }
    emit(ctx, &v);
    for (unsigned r = 0; r < b->nrows; r++)
        set_clear(&b->sets[r]);
    if (b->nrows)
        memset(b->cur, 0, b->nrows * sizeof *b->cur);
    memset(b->ctl, 0, b->nroutes * sizeof *b->ctl);
    memset(b->drops, 0, b->nroutes * sizeof *b->drops);
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

void bins_count(struct bins *b, unsigned row, unsigned dir, uint64_t bytes, const uint8_t host[16])
{
    struct bin_counts *c = &b->cur[row];
    if (dir == 0) {
        c->pkts_in++;
        c->bytes_in += bytes;
    } else {
        c->pkts_out++;
        c->bytes_out += bytes;
    }
    set_add(&b->sets[row], host, b->host_cap);
}

void bins_count_flow(struct bins *b, unsigned row)
{
    b->cur[row].flows_new++;
}

void bins_count_start(struct bins *b, unsigned row, unsigned dir)
{
    if (dir == 0)
        b->cur[row].starts_in++;
    else
        b->cur[row].starts_out++;
}

void bins_count_ctl(struct bins *b, unsigned route)
{
    b->ctl[route]++;
}

void bins_count_drops(struct bins *b, unsigned route, uint64_t n)
{
    b->drops[route] += n;
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
