/* Unit tests for time bins: alignment, zero bins across gaps, end of input, late packets,
 * time jumps, exact and estimated host counts, rows and the control series per route. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bins.h"

#include <stdlib.h>
#include <string.h>

#define MAXSEEN 64

struct seen {
    unsigned n;
    int64_t start[MAXSEEN];
    bool partial[MAXSEEN], jump[MAXSEEN];
    struct bin_counts c[MAXSEEN][2];
    size_t nhosts[MAXSEEN][2];
};

static void record(void *ctx, const struct bin_view *v)
{
    struct seen *s = ctx;
    assert_true(s->n < MAXSEEN);
    s->start[s->n] = v->start;
    s->partial[s->n] = v->partial;
    s->jump[s->n] = v->after_jump;
    for (unsigned r = 0; r < v->nrows && r < 2; r++) {
        s->c[s->n][r] = v->rows[r];
        s->nhosts[s->n][r] = v->nhosts[r];
    }
    s->n++;
}

/* A bin set of n routes with one row on each (row r on route r). */
static struct bins *with_rows(unsigned n, unsigned len, unsigned cap)
{
    struct bins *b = bins_new(n, len, cap);
    assert_non_null(b);
    for (unsigned r = 0; r < n; r++)
        assert_int_equal(bins_add_row(b, r), (int)r);
    return b;
}

static void host(uint8_t a[16], uint32_t n)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = (uint8_t)(n >> 24);
    a[13] = (uint8_t)(n >> 16);
    a[14] = (uint8_t)(n >> 8);
    a[15] = (uint8_t)n;
}

static void alignment_and_gaps(void **state)
{
    struct seen s = {0};
    uint8_t h[16];
    struct bins *b = with_rows(2, 10, 100);
    host(h, 1);

    bins_advance(b, 1005, record, &s); /* opens [1000, 1010) */
    assert_int_equal(bins_open_start(b), 1000);
    bins_count(b, 0, 0, 100, h);
    bins_advance(b, 1009, record, &s);
    bins_count(b, 0, 1, 60, h);
    bins_count_ctl(b, 1);
    assert_int_equal(s.n, 0);
    bins_advance(b, 1042, record, &s); /* closes 1000, fills 1010..1030 with zeros */
    assert_int_equal(s.n, 4);
    assert_int_equal(s.start[0], 1000);
    assert_int_equal(s.c[0][0].pkts_in, 1);
    assert_int_equal(s.c[0][0].pkts_out, 1);
    assert_int_equal(s.c[0][0].bytes_in, 100);
    assert_int_equal(s.c[0][0].bytes_out, 60);
    assert_int_equal(s.c[0][0].hosts, 1);
    assert_int_equal(s.c[0][1].ctl_pkts, 1);
    for (unsigned i = 1; i < 4; i++) {
        assert_int_equal(s.start[i], 1000 + 10 * (int64_t)i);
        assert_int_equal(s.c[i][0].pkts_in + s.c[i][0].pkts_out + s.c[i][1].ctl_pkts, 0);
        assert_false(s.partial[i]);
    }
    bins_count(b, 1, 0, 40, h);
    bins_flush(b, record, &s);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.start[4], 1040);
    assert_true(s.partial[4]);
    assert_int_equal(s.c[4][1].pkts_in, 1);
    bins_flush(b, record, &s); /* nothing open: nothing emitted */
    assert_int_equal(s.n, 5);
    bins_free(b);
}

static void late_packets_count_in_open_bin(void **state)
{
    struct seen s = {0};
    uint8_t h[16];
    struct bins *b = with_rows(1, 60, 100);
    host(h, 7);
    bins_advance(b, 120, record, &s);
    bins_advance(b, 50, record, &s);
    bins_count(b, 0, 0, 1, h);
    assert_int_equal(bins_late_packets(b), 1);
    bins_flush(b, record, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.start[0], 120);
    assert_int_equal(s.c[0][0].pkts_in, 1);
    bins_free(b);
}

static void huge_jump_is_not_filled(void **state)
{
    struct seen s = {0};
    struct bins *b = with_rows(1, 1, 100);
    bins_advance(b, 10, record, &s);
    bins_advance(b, 10 + (int64_t)BINS_MAX_GAP + 5, record, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(bins_time_jumps(b), 1);
    bins_flush(b, record, &s);
    assert_int_equal(s.n, 2);
    assert_true(s.jump[1]);
    assert_int_equal(s.start[1], 10 + (int64_t)BINS_MAX_GAP + 5);
    bins_free(b);
}

static void negative_time_aligns_down(void **state)
{
    struct seen s = {0};
    struct bins *b = bins_new(1, 10, 100);
    bins_advance(b, -5, record, &s);
    assert_int_equal(bins_open_start(b), -10);
    bins_free(b);
}

static void hosts_exact_then_estimated(void **state)
{
    struct seen s = {0};
    uint8_t h[16];
    struct bins *b = with_rows(2, 10, 5000);

    bins_advance(b, 0, record, &s);
    for (uint32_t i = 0; i < 3000; i++) { /* each host twice, route 0 */
        host(h, i);
        bins_count(b, 0, i & 1, 10, h);
        bins_count(b, 0, 0, 10, h);
    }
    for (uint32_t i = 0; i < 20000; i++) { /* route 1 overflows the exact set */
        host(h, 0x0a000000u + i * 7);
        bins_count(b, 1, 0, 10, h);
    }
    bins_advance(b, 10, record, &s);
    assert_int_equal(s.c[0][0].hosts, 3000);
    assert_int_equal(s.nhosts[0][0], 3000);
    assert_int_equal(s.c[0][0].pkts_in + s.c[0][0].pkts_out, 6000);
    double est = (double)s.c[0][1].hosts;
    assert_true(est > 20000 * 0.98 && est < 20000 * 1.02);
    assert_int_equal(s.nhosts[0][1], 5000);

    /* the next bin starts from empty sets */
    host(h, 1);
    bins_count(b, 1, 0, 10, h);
    bins_flush(b, record, &s);
    assert_int_equal(s.c[1][1].hosts, 1);
    assert_int_equal(s.c[1][0].hosts, 0);
    bins_free(b);
}

/* Rows share their route's control series; a reload moves rows to new routes. */
static void rows_and_routes(void **state)
{
    struct seen s = {0};
    uint8_t h[16];
    struct bins *b = bins_new(2, 10, 100);
    const unsigned moved[3] = {1, 2, 0};

    assert_non_null(b);
    assert_int_equal(bins_nrows(b), 0);
    assert_int_equal(bins_add_row(b, 0), 0); /* two countries on route 0, one on route 1 */
    assert_int_equal(bins_add_row(b, 0), 1);
    assert_int_equal(bins_add_row(b, 1), 2);
    assert_int_equal(bins_add_row(b, 2), -1); /* no route 2 */
    host(h, 9);
    bins_advance(b, 1000, record, &s);
    bins_count(b, 1, 1, 30, h);
    bins_count_ctl(b, 0);
    bins_count_ctl(b, 0);
    bins_count_drops(b, 1, 5);
    bins_advance(b, 1010, record, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.c[0][0].ctl_pkts, 2); /* route 0's, in each of its rows */
    assert_int_equal(s.c[0][1].ctl_pkts, 2);
    assert_int_equal(s.c[0][1].pkts_out, 1);
    assert_int_equal(s.c[0][0].drops, 0);
    assert_int_equal(bins_set_routes(b, 3, moved), 0);
    assert_int_equal(bins_add_row(b, 2), 3);
    bins_count_ctl(b, 2);
    bins_count(b, 0, 0, 7, h);
    bins_advance(b, 1020, record, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.c[1][0].ctl_pkts, 0); /* row 0 now on route 1 */
    assert_int_equal(s.c[1][0].pkts_in, 1);
    assert_int_equal(s.c[1][1].ctl_pkts, 1);   /* row 1 now on route 2 */
    struct bins *empty = bins_new(2, 10, 100); /* a reload before any row (--country all) */
    assert_int_equal(bins_set_routes(empty, 3, NULL), 0);
    bins_free(empty);
    const unsigned bad[4] = {0, 0, 0, 7};
    assert_int_equal(bins_set_routes(b, 3, bad), -1);
    assert_int_equal(bins_set_routes(b, 0, moved), -1);
    bins_free(b);
}

static void bad_arguments(void **state)
{
    assert_null(bins_new(0, 10, 10));
    assert_null(bins_new(1, 0, 10));
    assert_null(bins_new(1, 10, 0));
    assert_null(bins_new(BINS_ROUTES_MAX + 1, 10, 10));
    bins_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alignment_and_gaps),
        cmocka_unit_test(late_packets_count_in_open_bin),
        cmocka_unit_test(huge_jump_is_not_filled),
        cmocka_unit_test(negative_time_aligns_down),
        cmocka_unit_test(hosts_exact_then_estimated),
        cmocka_unit_test(rows_and_routes),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests_name("bins", tests, NULL, NULL);
}
