/* Unit tests for the flow table: insert, lookup both ways, expiry, active timeout, full pool,
 * and deletion keeping every other flow reachable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "flow.h"
#include "pkt.h"

#include <stdlib.h>

/* test_flow is linked with --wrap=calloc (Makefile): while fail_above is set, allocations of
 * more bytes fail, as the hash's growth would out of memory; big_callocs counts the attempts. */
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
static size_t fail_above;
static unsigned big_callocs;

void *__wrap_calloc(size_t n, size_t size)
{
    if (fail_above && n * size > fail_above) {
        big_callocs++;
        return NULL;
    }
    return __real_calloc(n, size);
}

#define SEC 1000000LL

static const struct flow_timeouts TO = {
    .idle_us = 60 * SEC, .closing_us = 10 * SEC, .active_us = 300 * SEC};

struct exports {
    unsigned n;
    enum flow_end why[64];
    uint64_t pkts[64];
};

static void on_export(void *ctx, struct flow *f, enum flow_end why)
{
    struct exports *e = ctx;
    if (e->n < 64) {
        e->why[e->n] = why;
        e->pkts[e->n] = f->pkts[0] + f->pkts[1];
    }
    e->n++;
}

static struct decoded tcp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
    struct decoded d;
    memset(&d, 0, sizeof d);
    d.has_ip = 1;
    d.ip_version = 4;
    d.l4_proto = 6;
    d.has_ports = 1;
    d.vlan = DECODE_NO_VLAN;
    d.src4 = src;
    d.dst4 = dst;
    d.src[10] = d.src[11] = d.dst[10] = d.dst[11] = 0xff;
    for (int i = 0; i < 4; i++) {
        d.src[12 + i] = (uint8_t)(src >> (24 - 8 * i));
        d.dst[12 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    d.sport = sport;
    d.dport = dport;
    return d;
}

static const uint32_t KP = IP4(175, 45, 176, 1), EXT = IP4(198, 51, 100, 7);

static void both_directions_one_flow(void **state)
{
    struct flow_table *t = flow_new(16, &TO);
    struct exports e = {0};
    bool created;

    struct decoded q = tcp(EXT, 40000, KP, 80), r = tcp(KP, 80, EXT, 40000);
    struct flow *f = flow_get(t, &q, 1 * SEC, &created);
    assert_non_null(f);
    assert_true(created);
    flow_count(t, f, 0, 60, 0x02, 1 * SEC, on_export, &e);
    struct flow *g = flow_get(t, &r, 2 * SEC, &created);
    assert_ptr_equal(f, g);
    assert_false(created);
    assert_true(flow_from_src(f, &q));
    assert_false(flow_from_src(f, &r));
    flow_count(t, g, 1, 1500, 0x12, 2 * SEC, on_export, &e);
    assert_int_equal(f->pkts[0], 1);
    assert_int_equal(f->pkts[1], 1);
    assert_int_equal(f->bytes[1], 1500);

    struct flow_record rec;
    flow_to_record(f, FLOW_END_IDLE, &rec);
    assert_int_equal(rec.sport, 40000); /* the first packet's sender is src */
    assert_int_equal(rec.dport, 80);
    assert_int_equal(rec.src[15], 7);
    assert_int_equal(rec.pkts_in, 1);
    assert_int_equal(rec.bytes_out, 1500);

    struct decoded other = tcp(EXT, 40001, KP, 80); /* another port: another flow */
    assert_ptr_not_equal(flow_get(t, &other, 3 * SEC, &created), f);
    assert_true(created);
    struct decoded tagged = q; /* another VLAN: another flow */
    tagged.vlan = 100;
    assert_ptr_not_equal(flow_get(t, &tagged, 3 * SEC, &created), f);
    assert_int_equal(flow_stats(t)->active, 3);
    flow_free(t);
}

static void idle_and_fin_expiry(void **state)
{
    struct flow_table *t = flow_new(16, &TO);
    struct exports e = {0};
    bool created;

    struct decoded a = tcp(EXT, 1000, KP, 80), b = tcp(EXT, 1001, KP, 80);
    struct flow *fa = flow_get(t, &a, 0, &created);
    flow_count(t, fa, 0, 60, 0x18, 0, on_export, &e);
    struct flow *fb = flow_get(t, &b, 0, &created);
    flow_count(t, fb, 0, 60, 0x11, 5 * SEC, on_export, &e); /* FIN */
    flow_expire(t, 14 * SEC, on_export, &e);
    assert_int_equal(e.n, 0);
    flow_expire(t, 15 * SEC, on_export, &e); /* 10 s after the FIN */
    assert_int_equal(e.n, 1);
    assert_int_equal(e.why[0], FLOW_END_FIN);
    flow_expire(t, 59 * SEC, on_export, &e);
    assert_int_equal(e.n, 1);
    flow_expire(t, 60 * SEC, on_export, &e);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.why[1], FLOW_END_IDLE);
    assert_int_equal(flow_stats(t)->active, 0);
    assert_int_equal(flow_stats(t)->expired, 2);
    /* the slot can be used again */
    assert_non_null(flow_get(t, &a, 61 * SEC, &created));
    assert_true(created);
    flow_free(t);
}

static void bump_route(void *ctx, struct flow *f)
{
    (*(unsigned *)ctx)++;
    f->pair[0]++;
}

/* Every flow, open or closing, is visited once; none leaves. */
static void each_visits_every_flow(void **state)
{
    struct flow_table *t = flow_new(16, &TO);
    struct exports e = {0};
    unsigned seen = 0;
    bool created;

    for (uint16_t p = 0; p < 5; p++) {
        struct decoded d = tcp(EXT, (uint16_t)(2000 + p), KP, 80);
        struct flow *f = flow_get(t, &d, 0, &created);
        flow_count(t, f, 0, 60, p == 3 ? 0x11 : 0x18, 0, on_export, &e); /* one FIN */
    }
    flow_each(t, bump_route, &seen);
    assert_int_equal(seen, 5);
    assert_int_equal(flow_stats(t)->active, 5);
    struct decoded d = tcp(EXT, 2003, KP, 80);
    assert_int_equal(flow_get(t, &d, 1, &created)->pair[0], 1);
    flow_free(t);
}

static void active_timeout_exports_and_goes_on(void **state)
{
    struct flow_table *t = flow_new(4, &TO);
    struct exports e = {0};
    bool created;

    struct decoded a = tcp(EXT, 1000, KP, 443);
    struct flow *f = flow_get(t, &a, 0, &created);
    for (int64_t s = 0; s < 299; s += 30)
        flow_count(t, f, 0, 100, 0x10, s * SEC, on_export, &e);
    assert_int_equal(e.n, 0);
    flow_count(t, f, 1, 100, 0x10, 300 * SEC, on_export, &e);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.why[0], FLOW_END_ACTIVE);
    assert_int_equal(e.pkts[0], 10);
    assert_int_equal(f->pkts[0] + f->pkts[1], 1); /* counting restarted */
    assert_int_equal(f->first_us, 300 * SEC);
    assert_int_equal(flow_stats(t)->active, 1);
    flow_flush(t, on_export, &e);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.why[1], FLOW_END_EXIT);
    flow_free(t);
}

static void full_pool_refuses_and_counts(void **state)
{
    struct flow_table *t = flow_new(3, &TO);
    bool created;

    for (uint16_t p = 0; p < 3; p++) {
        struct decoded d = tcp(EXT, p, KP, 80);
        assert_non_null(flow_get(t, &d, 0, &created));
    }
    struct decoded d = tcp(EXT, 99, KP, 80);
    assert_null(flow_get(t, &d, 0, &created));
    assert_null(flow_get(t, &d, 0, &created));
    assert_int_equal(flow_stats(t)->refused_pkts, 2);
    assert_int_equal(flow_refused_flows(t), 1); /* two packets, one flow */
    struct decoded old = tcp(KP, 80, EXT, 1);   /* existing flows are still found */
    assert_non_null(flow_get(t, &old, 0, &created));
    assert_false(created);
    flow_free(t);
}

/* The hash cannot grow past 64 KiB: new flows are taken while it has room (three quarters),
 * then refused and counted; growing is tried once, not again on every new flow, and the
 * flows it holds are still found. */
static void hash_that_cannot_grow(void **state)
{
    enum { N = 20000 };
    struct flow_table *t = flow_new(100000, &TO);
    unsigned taken = 0;
    bool created;

    assert_non_null(t);
    fail_above = 64 << 10;
    big_callocs = 0;
    for (uint32_t i = 0; i < N; i++) {
        struct decoded d = tcp(IP4(10, 0, 0, 0) + i, 1000, KP, 80);
        taken += flow_get(t, &d, 0, &created) != NULL;
    }
    fail_above = 0;
    assert_true(taken >= 4096 && taken < N);
    assert_int_equal(flow_stats(t)->active, taken);
    assert_int_equal(flow_stats(t)->refused_pkts, N - taken);
    assert_int_equal(big_callocs, 1);
    struct decoded first = tcp(IP4(10, 0, 0, 0), 1000, KP, 80);
    assert_non_null(flow_get(t, &first, 0, &created));
    assert_false(created);
    flow_free(t);
}

/* Many flows, expire a third in the middle of probe chains: all others stay reachable. */
static void deletion_keeps_chains_intact(void **state)
{
    enum { N = 3000 };
    struct flow_table *t = flow_new(N, &TO);
    struct exports e = {0};
    bool created;

    for (uint32_t i = 0; i < N; i++) {
        struct decoded d = tcp(EXT + i, (uint16_t)(i * 7), KP, 80);
        struct flow *f = flow_get(t, &d, 0, &created);
        assert_non_null(f);
        flow_count(t, f, 0, 1, 0x10, 0, on_export, &e);
    }
    for (uint32_t i = 0; i < N; i++) { /* two thirds see another packet later */
        struct decoded d = tcp(EXT + i, (uint16_t)(i * 7), KP, 80);
        if (i % 3 != 0)
            flow_count(t, flow_get(t, &d, 30 * SEC, &created), 0, 1, 0x10, 30 * SEC, on_export, &e);
    }
    flow_expire(t, 70 * SEC, on_export, &e);
    assert_int_equal(e.n, N / 3);
    for (uint32_t i = 0; i < N; i++) {
        struct decoded d = tcp(KP, 80, EXT + i, (uint16_t)(i * 7));
        struct flow *f = flow_get(t, &d, 71 * SEC, &created);
        assert_non_null(f);
        assert_int_equal(created, i % 3 == 0);
    }
    assert_int_equal(flow_stats(t)->active, N);
    assert_int_equal(flow_stats(t)->peak, N);
    flow_free(t);
}

/* The hash starts small and doubles with the flows in use (50,000 here, 4,096 slots at the
 * start): every flow stays reachable from both ends, and flows that leave free their slots. */
static void hash_grows_with_the_flows(void **state)
{
    enum { N = 50000 };
    struct flow_table *t = flow_new(1u << 20, &TO);
    struct exports e = {0};
    bool created;

    for (uint32_t i = 0; i < N; i++) {
        struct decoded d = tcp(EXT + i, (uint16_t)(1024 + i % 60000), KP, 443);
        struct flow *f = flow_get(t, &d, i < N / 2 ? 0 : 30 * SEC, &created);
        assert_non_null(f);
        assert_true(created);
        flow_count(t, f, 0, 1, 0x10, i < N / 2 ? 0 : 30 * SEC, on_export, &e);
    }
    for (uint32_t i = 0; i < N; i++) {
        struct decoded d = tcp(KP, 443, EXT + i, (uint16_t)(1024 + i % 60000));
        assert_non_null(flow_get(t, &d, 31 * SEC, &created));
        assert_false(created);
    }
    flow_expire(t, 60 * SEC, on_export, &e); /* the first half leaves */
    assert_int_equal(e.n, N / 2);
    for (uint32_t i = 0; i < N; i++) {
        struct decoded d = tcp(EXT + i, (uint16_t)(1024 + i % 60000), KP, 443);
        assert_non_null(flow_get(t, &d, 61 * SEC, &created));
        assert_int_equal(created, i < N / 2);
    }
    assert_int_equal(flow_stats(t)->active, N);
    flow_free(t);
}

struct order {
    unsigned n;
    uint16_t port[8];
};

static void on_order(void *ctx, struct flow *f, enum flow_end why)
{
    struct order *o = ctx;
    (void)why;
    if (o->n < 8)
        o->port[o->n++] = f->key.pb; /* EXT's port: KP is the lower end of these keys */
}

/* Flows leave in the order of their last packet, also when a flow gets several packets in a
 * row (it stays last without moving). */
static void expiry_in_order_of_last_packet(void **state)
{
    struct flow_table *t = flow_new(16, &TO);
    struct order o = {0};
    bool created;
    static const uint16_t ports[] = {1001, 1002, 1003, 1001, 1003, 1002, 1001, 1001};
    static const int64_t at[] = {0, 1, 2, 3, 4, 5, 6, 7};

    for (unsigned i = 0; i < 8; i++) {
        struct decoded d = tcp(KP, 80, EXT, ports[i]);
        struct flow *f = flow_get(t, &d, at[i] * SEC, &created);
        flow_count(t, f, 1, 1, 0x10, at[i] * SEC, on_order, &o);
    }
    flow_expire(t, 100 * SEC, on_order, &o);
    assert_int_equal(o.n, 3);
    assert_int_equal(o.port[0], 1003);
    assert_int_equal(o.port[1], 1002);
    assert_int_equal(o.port[2], 1001);
    flow_free(t);
}

/* Later fragments (no ports) belong to the flow of their datagram's first fragment. */
static void fragments_join_their_flow(void **state)
{
    struct flow_table *t = flow_new(16, &TO);
    bool created;

    struct decoded first = tcp(KP, 80, EXT, 40000);
    first.is_fragment = 1;
    first.frag_id = 4242;
    struct flow *f = flow_get(t, &first, 1 * SEC, &created);
    assert_true(created);
    struct decoded later = first;
    later.later_frag = 1;
    later.has_ports = 0;
    later.sport = later.dport = 0;
    assert_ptr_equal(flow_get(t, &later, 1 * SEC, &created), f);
    assert_false(created);
    later.frag_id = 4243; /* another datagram whose first fragment was not seen */
    assert_ptr_not_equal(flow_get(t, &later, 1 * SEC, &created), f);
    assert_true(created);
    later.frag_id = 4242; /* too late: the first fragment is forgotten after 30 s */
    assert_ptr_not_equal(flow_get(t, &later, 40 * SEC, &created), f);
    flow_free(t);
}

/* A later fragment must not find the flow of its first fragment once that flow has left
 * (here: closed by FIN, gone after 10 s idle, fragment 15 s later): counting on the freed
 * flow corrupted the lists and the next flush looped for ever. The frames of
 * tests/fuzz/regress/fuzz_packet/frag-of-expired-flow (raw IPv4). */
static void fragment_of_expired_flow(void **state)
{
    static const uint8_t first[] = {0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x20, 0x00, 0x40, 0x06,
                                    0x00, 0x00, 0xaf, 0x2d, 0xb0, 0x01, 0x0a, 0x00, 0x00, 0x01,
                                    0x04, 0xd2, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
                                    0x00, 0x00, 0x50, 0x11, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t later[] = {0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x00, 0x03, 0x40, 0x06,
                                    0x00, 0x00, 0xaf, 0x2d, 0xb0, 0x01, 0x0a, 0x00, 0x00, 0x01,
                                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    struct flow_table *t = flow_new(16, &TO);
    struct exports e = {0};
    struct decoded d;
    bool created;

    assert_int_equal(decode_packet(DECODE_LINK_RAW, DECODE_TUNNELS, first, sizeof first, &d),
                     DECODE_OK);
    assert_true(d.is_fragment && !d.later_frag);
    struct flow *f = flow_get(t, &d, 1 * SEC, &created);
    flow_count(t, f, 0, sizeof first, d.tcp_flags, 1 * SEC, on_export, &e);
    flow_expire(t, 16 * SEC, on_export, &e);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.why[0], FLOW_END_FIN);
    assert_int_equal(flow_stats(t)->active, 0);

    assert_int_equal(decode_packet(DECODE_LINK_RAW, DECODE_TUNNELS, later, sizeof later, &d),
                     DECODE_OK);
    assert_true(d.later_frag);
    struct flow *g = flow_get(t, &d, 16 * SEC, &created);
    assert_non_null(g);
    assert_true(created);
    flow_count(t, g, 0, sizeof later, d.tcp_flags, 16 * SEC, on_export, &e);
    assert_int_equal(flow_stats(t)->active, 1);
    flow_flush(t, on_export, &e);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.pkts[1], 1);
    assert_int_equal(flow_stats(t)->active, 0);
    flow_free(t);
}

static uint32_t inverse32(uint32_t a) /* of an odd number, mod 2^32 (Newton) */
{
    uint32_t x = a;
    for (int i = 0; i < 5; i++)
        x *= 2 - a * x;
    return x;
}

static int by_value(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* A hash of products by constants (each IPv4 address only in the high half of one product)
 * let a sender solve, for any country address B, the outside address A whose flow A:40000 ->
 * B:443 lands on one chosen hash: 20,000 such flows all shared one slot at every table size,
 * each insert probing all the others. The same keys must spread like any others, and two
 * tables (two runs) must hash a key differently. */
static void crafted_addresses_do_not_collide(void **state)
{
    enum { N = 20000 };
    const uint64_t C1 = 0xc2b2ae3d27d4eb4full, C3 = 0xd6e8feb86659fd93ull;
    uint32_t h1 = (uint32_t)((0xffff0000ull * C1) >> 32),
             h3 = (uint32_t)((0xffff0000ull * C3) >> 32);
    uint32_t goal = (h1 + __builtin_bswap32(IP4(10, 0, 0, 1)) * (uint32_t)C1) ^
                    (h3 + __builtin_bswap32(IP4(223, 0, 0, 0)) * (uint32_t)C3);
    struct flow_table *t = flow_new(1 << 20, &TO), *u = flow_new(1 << 20, &TO);
    uint32_t *hashes = calloc(N, sizeof *hashes);
    unsigned n = 0, same_in_both = 0;

    assert_non_null(t);
    assert_non_null(u);
    assert_non_null(hashes);
    for (uint32_t i = 0; n < N; i++) {
        uint32_t b = IP4(223, 0, 0, 0) + i;
        uint32_t g = h3 + __builtin_bswap32(b) * (uint32_t)C3;
        uint32_t a = __builtin_bswap32(((goal ^ g) - h1) * inverse32((uint32_t)C1));
        if (a >= b)
            continue;
        struct decoded d = tcp(a, 40000, b, 443);
        struct flow_hint h, k;
        flow_hint(t, &d, &h);
        flow_hint(u, &d, &k);
        same_in_both += h.hash == k.hash;
        hashes[n++] = h.hash;
    }
    qsort(hashes, N, sizeof *hashes, by_value);
    unsigned distinct = 1;
    for (unsigned i = 1; i < N; i++)
        distinct += hashes[i] != hashes[i - 1];
    assert_true(distinct > N - 10); /* 20,000 random 32-bit values: about 0.05 repeats */
    assert_true(same_in_both < 10);
    free(hashes);
    flow_free(t);
    flow_free(u);
}

static void bad_sizes(void **state)
{
    assert_null(flow_new(0, &TO));
    assert_null(flow_new(FLOW_MAX + 1, &TO));
    flow_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(both_directions_one_flow),
        cmocka_unit_test(idle_and_fin_expiry),
        cmocka_unit_test(each_visits_every_flow),
        cmocka_unit_test(active_timeout_exports_and_goes_on),
        cmocka_unit_test(full_pool_refuses_and_counts),
        cmocka_unit_test(deletion_keeps_chains_intact),
        cmocka_unit_test(hash_grows_with_the_flows),
        cmocka_unit_test(hash_that_cannot_grow),
        cmocka_unit_test(expiry_in_order_of_last_packet),
        cmocka_unit_test(fragments_join_their_flow),
        cmocka_unit_test(fragment_of_expired_flow),
        cmocka_unit_test(crafted_addresses_do_not_collide),
        cmocka_unit_test(bad_sizes),
    };
    return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
