/* flow — fixed-pool bidirectional flow table. See flow.h. */
#include "flow.h"

#include "hll.h"
#include "log.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define TH_FIN       0x01
#define TH_RST       0x04
#define IPPROTO_TCP_ 6

enum { LIST_OPEN = 0, LIST_CLOSING = 1, NLISTS = 2 };

struct slot {
    uint32_t tag;  /* low 32 bits of the key hash; its low bits are the home position */
    uint32_t idx1; /* pool index + 1; 0 = empty */
};

/* Where the later fragments of a datagram go: the flow of its first fragment. Direct
 * mapped and overwritten on collision; entries older than FRAG_TTL_US are ignored. */
#define FRAG_SLOTS  4096
#define FRAG_TTL_US (30 * 1000000LL)

struct frag_entry {
    uint8_t src[16], dst[16];
    uint32_t id;
    uint32_t flow1; /* pool index + 1 */
    int64_t seen_us;
    uint8_t proto;
};

struct flow_list {
    uint32_t head, tail; /* index + 1 */
};

/* The hash starts at SLOTS_MIN slots and doubles while the flows in use reach half its
 * slots, up to twice the pool: a table sized for --max-flows from the start would cost a
 * cache and TLB miss per packet (16 MiB of slots at the default) for a few thousand flows. */
#define SLOTS_MIN 4096u

#define HASH_SEEDS 6

struct flow_table {
    struct flow *pool;
    size_t pool_bytes;
    uint32_t max, fresh; /* pool size; pool entries never used yet start at `fresh` */
    uint32_t free1;      /* free list of recycled flows (index + 1), linked by `next` */
    struct slot *slots;
    uint32_t mask, max_slots;
    struct flow_list lists[NLISTS];
    struct flow_timeouts to;
    struct flow_stats stats;
    struct frag_entry *frags;  /* FRAG_SLOTS */
    uint8_t *refused;          /* HLL_REGISTERS: distinct keys of refused flows */
    uint64_t seed[HASH_SEEDS]; /* of the key hash: random per table */
    bool grow_failed;          /* out of memory doubling the hash: not tried again */
};

/* The pool: zeroed pages, touched (and in RSS) only as flows first use them, in huge pages
 * where the kernel gives them (fewer TLB misses: a flood spreads its flows over megabytes).
 * Returns NULL when out of memory. */
static struct flow *pool_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

/* The key hash's seed from the kernel's random source; should it fail, from the clock, the
 * process id and where the table lies (address space layout is randomised). Each seed odd. */
static void seed_hash(struct flow_table *t)
{
    struct timespec ts;

    if (getrandom(t->seed, sizeof t->seed, GRND_NONBLOCK) != (ssize_t)sizeof t->seed) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uint64_t)getpid() ^
                     (uint64_t)(uintptr_t)t;
        for (unsigned i = 0; i < HASH_SEEDS; i++) {
            x += 0x9e3779b97f4a7c15ull; /* splitmix64 */
            uint64_t z = (x ^ x >> 30) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ z >> 27) * 0x94d049bb133111ebull;
            t->seed[i] = z ^ z >> 31;
        }
    }
    for (unsigned i = 0; i < HASH_SEEDS; i++)
        t->seed[i] |= 1;
}

struct flow_table *flow_new(uint32_t max_flows, const struct flow_timeouts *to)
{
    if (max_flows == 0 || max_flows > FLOW_MAX)
        return NULL;
    struct flow_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    uint32_t size = 16;
    while (size < 2 * max_flows)
        size *= 2;
    t->max = max_flows;
    t->max_slots = size;
    size = size < SLOTS_MIN ? size : SLOTS_MIN;
    t->mask = size - 1;
    t->to = *to;
    t->pool_bytes = (size_t)max_flows * sizeof *t->pool;
    t->pool = pool_map(t->pool_bytes);
    t->slots = calloc(size, sizeof *t->slots);
    t->frags = calloc(FRAG_SLOTS, sizeof *t->frags);
    t->refused = calloc(HLL_REGISTERS, 1);
    seed_hash(t);
    if (!t->pool || !t->slots || !t->frags || !t->refused) {
        flow_free(t);
        return NULL;
    }
    return t;
}

void flow_free(struct flow_table *t)
{
    if (!t)
        return;
    free(t->refused);
    free(t->frags);
    free(t->slots);
    if (t->pool)
        munmap(t->pool, t->pool_bytes);
    free(t);
}

/* One 128-bit product folded to 64 bits: every bit of either factor reaches the result, and
 * not linearly (a product by a constant alone leaves high input bits out of the low half and
 * lets a sender solve for colliding addresses). */
static inline uint64_t fold(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* The seed of the refused flows' HyperLogLog: fixed, so the same capture gives the same
 * estimate on every run. */
static const uint64_t REFUSED_SEED[HASH_SEEDS] = {0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full,
                                                  0x165667b19e3779f9ull, 0xd6e8feb86659fd93ull,
                                                  0x27d4eb2f165667c5ull, 0xff51afd7ed558ccdull};

/* The key's five words in two independent folds (they overlap in the pipeline), then a third
 * with the last word. Keyed by the table's random seed, the slot of a flow cannot be
 * predicted by whoever chooses the addresses and ports of a flood. */
static uint64_t key_hash64(const struct flow_key *k, const uint64_t seed[HASH_SEEDS])
{
    uint64_t w[5];

    memcpy(w, k, sizeof w);
    uint64_t h = fold(w[0] ^ seed[0], w[1] ^ seed[1]) ^ fold(w[2] ^ seed[2], w[3] ^ seed[3]);
    return fold(w[4] ^ seed[4], h ^ seed[5]);
}

static uint32_t key_hash(const struct flow_table *t, const struct flow_key *k)
{
    uint64_t h = key_hash64(k, t->seed);
    return (uint32_t)(h ^ h >> 29);
}

_Static_assert(sizeof(struct flow_key) == 40, "flow_key is hashed as five 64-bit words");

static bool key_equal(const struct flow_key *a, const struct flow_key *b)
{
    uint64_t x[5], y[5];

    memcpy(x, a, sizeof x);
    memcpy(y, b, sizeof y);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

/* memcmp's order of two 16-byte addresses (-1, 0, 1), two word compares instead of a call. */
static int addr_order(const uint8_t a[16], const uint8_t b[16])
{
    for (int i = 0; i < 16; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        x = __builtin_bswap64(x);
        y = __builtin_bswap64(y);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

/* Builds the canonical key; *src_is_a tells which end the packet came from. */
static void make_key(const struct decoded *d, struct flow_key *k, bool *src_is_a)
{
    uint16_t sp = d->has_ports ? d->sport : 0, dp = d->has_ports ? d->dport : 0;
    int c = addr_order(d->src, d->dst);

    if (c == 0)
        c = sp < dp ? -1 : sp > dp;
    *src_is_a = c <= 0;
    memcpy(k->a, *src_is_a ? d->src : d->dst, 16);
    memcpy(k->b, *src_is_a ? d->dst : d->src, 16);
    k->pa = *src_is_a ? sp : dp;
    k->pb = *src_is_a ? dp : sp;
    k->vlan = d->vlan;
    k->proto = d->l4_proto;
    k->ip_version = d->ip_version;
}

bool flow_from_src(const struct flow *f, const struct decoded *d)
{
    struct flow_key k;
    bool src_is_a;
    make_key(d, &k, &src_is_a);
    return src_is_a == ((f->flags & FLOW_SRC_IS_A) != 0);
}

static void list_unlink(struct flow_table *t, unsigned l, struct flow *f)
{
    struct flow_list *L = &t->lists[l];
    if (f->prev)
        t->pool[f->prev - 1].next = f->next;
    else
        L->head = f->next;
    if (f->next)
        t->pool[f->next - 1].prev = f->prev;
    else
        L->tail = f->prev;
    f->prev = f->next = 0;
}

static void list_append(struct flow_table *t, unsigned l, struct flow *f)
{
    struct flow_list *L = &t->lists[l];
    uint32_t idx1 = (uint32_t)(f - t->pool) + 1;
    f->prev = L->tail;
    f->next = 0;
    if (L->tail)
        t->pool[L->tail - 1].next = idx1;
    else
        L->head = idx1;
    L->tail = idx1;
}

static unsigned list_of(const struct flow *f)
{
    return (f->flags & FLOW_CLOSING) ? LIST_CLOSING : LIST_OPEN;
}

static struct flow *alloc_flow(struct flow_table *t)
{
    if (t->free1) {
        struct flow *f = &t->pool[t->free1 - 1];
        t->free1 = f->next;
        return f;
    }
    if (t->fresh < t->max)
        return &t->pool[t->fresh++];
    return NULL;
}

static struct frag_entry *frag_slot(struct flow_table *t, const struct decoded *d)
{
    uint64_t h = ((uint64_t)d->frag_id << 8 | d->l4_proto) * 0x9e3779b97f4a7c15ull;
    for (int i = 12; i < 16; i++)
        h = (h ^ d->src[i] ^ (uint64_t)d->dst[i] << 8) * 0xff51afd7ed558ccdull;
    return &t->frags[(h >> 40) & (FRAG_SLOTS - 1)];
}

/* The flow of a later fragment's first fragment, if it was seen and the flow is alive. */
static struct flow *frag_find(struct flow_table *t, const struct decoded *d, int64_t now_us)
{
    const struct frag_entry *e = frag_slot(t, d);

    if (!e->flow1 || e->id != d->frag_id || e->proto != d->l4_proto ||
        now_us - e->seen_us > FRAG_TTL_US || memcmp(e->src, d->src, 16) != 0 ||
        memcmp(e->dst, d->dst, 16) != 0)
        return NULL;
    struct flow *f = &t->pool[e->flow1 - 1];
    /* the flow may have left since (ip_version 0: free); then the fragment starts anew */
    bool same = f->key.ip_version == d->ip_version && f->key.proto == d->l4_proto &&
                ((memcmp(f->key.a, d->src, 16) == 0 && memcmp(f->key.b, d->dst, 16) == 0) ||
                 (memcmp(f->key.a, d->dst, 16) == 0 && memcmp(f->key.b, d->src, 16) == 0));
    return same ? f : NULL;
}

static void frag_remember(struct flow_table *t, const struct decoded *d, const struct flow *f,
                          int64_t now_us)
{
    struct frag_entry *e = frag_slot(t, d);
    memcpy(e->src, d->src, 16);
    memcpy(e->dst, d->dst, 16);
    e->id = d->frag_id;
    e->proto = d->l4_proto;
    e->flow1 = (uint32_t)(f - t->pool) + 1;
    e->seen_us = now_us;
}

static struct flow *lookup_or_create(struct flow_table *t, const struct flow_hint *h,
                                     int64_t now_us, bool *created);

void flow_hint(const struct flow_table *t, const struct decoded *d, struct flow_hint *h)
{
    make_key(d, &h->key, &h->src_is_a);
    h->hash = key_hash(t, &h->key);
    __builtin_prefetch(&t->slots[h->hash & t->mask]);
}

struct flow *flow_get_hinted(struct flow_table *t, const struct decoded *d,
                             const struct flow_hint *h, int64_t now_us, bool *created)
{
    if (d->later_frag) {
        struct flow *f = frag_find(t, d, now_us);
        if (f) {
            *created = false;
            return f;
        }
    }
    struct flow *f = lookup_or_create(t, h, now_us, created);
    if (f && d->is_fragment && !d->later_frag)
        frag_remember(t, d, f, now_us);
    return f;
}

struct flow *flow_get(struct flow_table *t, const struct decoded *d, int64_t now_us, bool *created)
{
    struct flow_hint h;

    flow_hint(t, d, &h);
    return flow_get_hinted(t, d, &h, now_us, created);
}

/* Doubles the hash (rare: a few times per run at most) and puts every flow back by its tag:
 * the tag is the key's whole 32-bit hash. Returns 0, or -1 (out of memory: the table stays
 * as it was). */
static int grow_slots(struct flow_table *t)
{
    uint32_t size = (t->mask + 1) * 2, mask = size - 1;
    struct slot *slots = calloc(size, sizeof *slots);

    if (!slots)
        return -1;
    for (uint32_t i = 0; i <= t->mask; i++) {
        if (!t->slots[i].idx1)
            continue;
        uint32_t j = t->slots[i].tag & mask;
        while (slots[j].idx1)
            j = (j + 1) & mask;
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->mask = mask;
    return 0;
}

/* Room for one more flow in the hash: grown at half full; when growing failed, new flows are
 * refused at three quarters (open addressing needs empty slots to end its probes). */
static bool slot_room(struct flow_table *t)
{
    uint32_t size = t->mask + 1;

    if (2 * (t->stats.active + 1) <= size)
        return true;
    if (size < t->max_slots && !t->grow_failed) {
        if (grow_slots(t) == 0)
            return true;
        t->grow_failed = true;
        LOG(LOG_WARN,
            "flow table: no memory to double its hash of %u slots: it holds %u flows at "
            "most, not %u (--max-flows); new flows beyond are refused and counted",
            size, 3 * (size / 4), t->max);
    }
    return 4 * (t->stats.active + 1) <= 3 * size;
}

static struct flow *lookup_or_create(struct flow_table *t, const struct flow_hint *hint,
                                     int64_t now_us, bool *created)
{
    const struct flow_key *k = &hint->key;
    uint32_t h = hint->hash, pos = h & t->mask;

    for (; t->slots[pos].idx1; pos = (pos + 1) & t->mask) {
        const struct slot *s = &t->slots[pos];
        if (s->tag == h && key_equal(&t->pool[s->idx1 - 1].key, k)) {
            *created = false;
            return &t->pool[s->idx1 - 1];
        }
    }
    uint32_t size = t->mask + 1;
    struct flow *f = slot_room(t) ? alloc_flow(t) : NULL;
    if (f && t->mask + 1 != size) { /* grown: the key's empty slot is elsewhere now */
        for (pos = h & t->mask; t->slots[pos].idx1; pos = (pos + 1) & t->mask)
            ;
    }
    if (!f) {
        t->stats.refused_pkts++;
        hll_add(t->refused, key_hash64(k, REFUSED_SEED));
        return NULL;
    }
    memset(f, 0, offsetof(struct flow, host));
    f->host[0] = '\0';
    f->key = *k;
    f->flags = hint->src_is_a ? FLOW_SRC_IS_A : 0;
    f->first_us = f->last_us = now_us;
    t->slots[pos].tag = h;
    t->slots[pos].idx1 = (uint32_t)(f - t->pool) + 1;
    list_append(t, LIST_OPEN, f);
    t->stats.created++;
    if (++t->stats.active > t->stats.peak)
        t->stats.peak = t->stats.active;
    *created = true;
    return f;
}

/* Removes a flow from the hash with backward-shift deletion (no tombstones). */
static void unhash(struct flow_table *t, const struct flow *f)
{
    uint32_t idx1 = (uint32_t)(f - t->pool) + 1;
    uint32_t i = key_hash(t, &f->key) & t->mask;

    while (t->slots[i].idx1 != idx1)
        i = (i + 1) & t->mask;
    for (uint32_t j = i;;) {
        j = (j + 1) & t->mask;
        if (!t->slots[j].idx1)
            break;
        uint32_t home = t->slots[j].tag & t->mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        t->slots[i] = t->slots[j];
        i = j;
    }
    t->slots[i].tag = 0;
    t->slots[i].idx1 = 0;
}

static void release(struct flow_table *t, struct flow *f)
{
    list_unlink(t, list_of(f), f);
    unhash(t, f);
    f->key.ip_version = 0; /* free: frag_find must not hand it out */
    f->next = t->free1;
    t->free1 = (uint32_t)(f - t->pool) + 1;
    t->stats.active--;
}

void flow_count(struct flow_table *t, struct flow *f, unsigned dir, uint64_t bytes,
                uint8_t tcp_flags, int64_t now_us, flow_export_fn fn, void *ctx)
{
    if (now_us - f->first_us >= t->to.active_us && (f->pkts[0] | f->pkts[1])) {
        fn(ctx, f, FLOW_END_ACTIVE);
        f->pkts[0] = f->pkts[1] = f->bytes[0] = f->bytes[1] = 0;
        f->first_us = now_us;
        t->stats.active_exports++;
    }
    f->pkts[dir]++;
    f->bytes[dir] += bytes;
    if (now_us > f->last_us)
        f->last_us = now_us;
    unsigned from = list_of(f);
    if (f->key.proto == IPPROTO_TCP_ && (tcp_flags & (TH_FIN | TH_RST)))
        f->flags |= FLOW_CLOSING;
    if (from == list_of(f) && t->lists[from].tail == (uint32_t)(f - t->pool) + 1)
        return; /* the last flow with a packet already */
    list_unlink(t, from, f);
    list_append(t, list_of(f), f);
}

void flow_expire(struct flow_table *t, int64_t now_us, flow_export_fn fn, void *ctx)
{
    for (unsigned l = 0; l < NLISTS; l++) {
        int64_t timeout = l == LIST_CLOSING ? t->to.closing_us : t->to.idle_us;
        while (t->lists[l].head) {
            struct flow *f = &t->pool[t->lists[l].head - 1];
            if (now_us - f->last_us < timeout)
                break;
            fn(ctx, f, l == LIST_CLOSING ? FLOW_END_FIN : FLOW_END_IDLE);
            t->stats.expired++;
            release(t, f);
        }
    }
}

void flow_flush(struct flow_table *t, flow_export_fn fn, void *ctx)
{
    for (unsigned l = 0; l < NLISTS; l++) {
        while (t->lists[l].head) {
            struct flow *f = &t->pool[t->lists[l].head - 1];
            fn(ctx, f, FLOW_END_EXIT);
            release(t, f);
        }
    }
}

void flow_each(struct flow_table *t, void (*fn)(void *ctx, struct flow *f), void *ctx)
{
    for (unsigned l = 0; l < NLISTS; l++)
        for (uint32_t i = t->lists[l].head; i; i = t->pool[i - 1].next)
            fn(ctx, &t->pool[i - 1]);
}

const struct flow_stats *flow_stats(const struct flow_table *t)
{
    return &t->stats;
}

uint64_t flow_refused_flows(const struct flow_table *t)
{
    return t->stats.refused_pkts ? hll_count(t->refused) : 0;
}

void flow_to_record(const struct flow *f, enum flow_end why, struct flow_record *r)
{
    bool a_first = (f->flags & FLOW_SRC_IS_A) != 0;

    memset(r, 0, sizeof *r);
    r->ip_version = f->key.ip_version;
    r->l4_proto = f->key.proto;
    r->end = (uint8_t)why;
    r->vlan = f->key.vlan;
    memcpy(r->src, a_first ? f->key.a : f->key.b, 16);
    memcpy(r->dst, a_first ? f->key.b : f->key.a, 16);
    r->sport = a_first ? f->key.pa : f->key.pb;
    r->dport = a_first ? f->key.pb : f->key.pa;
    r->pkts_in = f->pkts[0];
    r->pkts_out = f->pkts[1];
    r->bytes_in = f->bytes[0];
    r->bytes_out = f->bytes[1];
    r->first_us = f->first_us;
    r->last_us = f->last_us;
}
