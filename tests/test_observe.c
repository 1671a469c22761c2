/* Unit tests for the sensor's metrics snapshot: one row per route name with the summary's
 * totals, the detector's states, the country's row, the control series and decoder
 * counters; a route removed by a reload keeps its totals without a state; --metrics off
 * means no endpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "metrics.h"
#include "observe.h"
#include "pkt.h"
#include "reload.h"
#include "sensor.h"
#include "sensor_feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KP  IP4(175, 45, 176, 10)
#define EXT IP4(16, 0, 0, 1)

static char errbuf[512];

static void parse(struct options *o, const char *const *args)
{
    feed_options(o, args, errbuf, sizeof errbuf);
}

/* One UDP packet on VLAN vlan at second t: toward the country (dir 0), from it (1), or
 * neither (2); 4 bytes more on the wire than captured. */
static void send(struct sensor *s, unsigned vlan, int dir, int64_t t)
{
    feed_udp(s, vlan, dir == 1 ? KP : EXT, dir == 0 ? KP : EXT, 4000 + vlan, t, 4);
}

static const struct metrics_row *row(const struct metrics_snapshot *m, const char *route)
{
    for (unsigned i = 0; i < m->nrows; i++)
        if (strcmp(m->rows[i].route, route) == 0)
            return &m->rows[i];
    fail_msg("no row '%s'", route);
    return NULL;
}

static void rows_and_states(void **state)
{
    struct options o;
    struct sensor s;
    const struct observe_iface ifs[] = {{"eth1", 5}, {"eth2", 0}};
    const char *const a[] = {"blackout",    "replay",  "--no-redis",  "--sensor", "s1", "--route",
                             "cn=vlan:100", "--route", "ru=vlan:101", "--warmup", "0",  NULL};
    struct metrics *m = metrics_new(SENSOR_ACCOUNTS_MAX + 1);
    struct metrics_snapshot *snap = metrics_back(m);

    parse(&o, a);
    assert_int_equal(sensor_init(&s, &o, errbuf, sizeof errbuf), 0);
    for (int64_t t = 1000; t < 1100; t++) {
        send(&s, 100, 0, t);
        send(&s, 100, 1, t);
        send(&s, 101, 0, t);
        send(&s, 101, 2, t); /* control traffic on ru */
    }
    observe_fill(snap, &s, ifs, 2, 1090, NULL);
    assert_string_equal(snap->sensor, "s1");
    assert_int_equal(snap->nrows, 4); /* cn, ru, other, and the country */
    const struct metrics_row *cn = row(snap, "cn"), *ru = row(snap, "ru"), *c = row(snap, "*");
    assert_string_equal(cn->country, "KP");
    assert_true(cn->counted && cn->judged);
    /* closed bins only: 1000..1089, like the summary's totals */
    assert_int_equal(cn->pkts[0], 90);
    assert_int_equal(cn->pkts[1], 90);
    assert_int_equal(cn->bytes[0], 90 * (14 + 4 + 20 + 8 + 10 + 4));
    assert_int_equal(ru->pkts[0], 90);
    assert_int_equal(ru->pkts[1], 0);
    for (unsigned i = 0; i < snap->nrows - 1; i++) { /* the pairs, then the country */
        const struct bin_counts *t = &s.pairs[i].total;
        assert_int_equal(snap->rows[i].pkts[0], t->pkts_in);
        assert_int_equal(snap->rows[i].bytes[1], t->bytes_out);
        assert_int_equal(snap->rows[i].flows, t->flows_new);
    }
    assert_int_equal(cn->flows, 2); /* one each way: their ports differ */
    assert_false(c->counted);
    assert_true(c->judged);
    assert_int_equal(snap->ncontrol, 3);
    assert_string_equal(snap->control[1].name, "ru");
    assert_int_equal(snap->control[1].n, 90);
    assert_int_equal(snap->ndecode, DECODE_NSTATUS);
    assert_string_equal(snap->decode[0].name, "ok");
    assert_int_equal(snap->decode[0].n, 400);
    assert_int_equal(snap->nifaces, 2);
    assert_string_equal(snap->ifaces[0].name, "eth1");
    assert_int_equal(snap->ifaces[0].n, 5);
    assert_false(snap->redis);
    assert_true(snap->have_bin);
    assert_int_equal(snap->last_bin_end, 1090);
    assert_false(snap->blind);

    /* the detector's own view, row by row */
    struct detect_route_status st;
    detect_route_status(s.countries[0].det, 0, &st);
    assert_true(cn->expected_pps == st.baseline_pps && cn->observed_pps == st.observed_pps);
    assert_true(cn->expected_dir_pps[1] == st.baseline_dir_pps[1]);
    assert_int_equal(cn->state, st.state == DS_UP ? METRICS_UP : METRICS_LEARNING);
    detect_country_status(s.countries[0].det, &st);
    assert_true(c->expected_pps == st.baseline_pps);
    assert_true(c->expected_dir_pps[0] == cn->expected_dir_pps[0] + ru->expected_dir_pps[0] +
                                              row(snap, "other")->expected_dir_pps[0]);

    /* a reload that removes ru: its totals stay, without a state */
    struct options n;
    const char *const b[] = {"blackout", "replay",      "--no-redis", "--sensor", "s1",
                             "--route",  "cn=vlan:100", "--warmup",   "0",        NULL};
    parse(&n, b);
    struct reload *r = reload_stage(&s, &n, NULL, 0, errbuf, sizeof errbuf);
    assert_non_null(r);
    config_free(&n);
    send(&s, 100, 0, 1100);
    assert_true(sensor_advance(&s, 1111)); /* as the capture loop applies it */
    reload_apply(&s, r);
    send(&s, 100, 0, 1111);
    assert_int_equal(s.reloads, 1);
    snap = metrics_back(m);
    observe_fill(snap, &s, NULL, 0, INT64_MIN, NULL);
    ru = row(snap, "ru");
    assert_true(ru->counted);
    assert_false(ru->judged);
    assert_int_equal(ru->pkts[0], 100);
    assert_true(row(snap, "cn")->judged);
    assert_false(snap->have_bin);
    assert_int_equal(snap->nifaces, 0);
    sensor_free(&s);
    config_free(&o);
    metrics_free(m);
}

static void off_by_default(void **state)
{
    struct options o;
    struct sensor s;
    struct observe *ob = (struct observe *)&o; /* must be cleared */
    const char *const a[] = {"blackout", "replay", "--no-redis", NULL};

    parse(&o, a);
    assert_null(o.metrics);
    assert_int_equal(observe_open(&ob, &o, errbuf, sizeof errbuf), 0);
    assert_null(ob);
    assert_int_equal(sensor_init(&s, &o, errbuf, sizeof errbuf), 0);
    observe_update(NULL, &s, NULL, 0, true);
    observe_free(NULL);
    sensor_free(&s);
    config_free(&o);

    const char *const bad[] = {"blackout", "replay", "--metrics", "localhost:9469", NULL};
    char *argv[8];
    int argc = 0;
    for (const char *const *p = bad; *p; p++)
        argv[argc++] = (char *)*p;
    assert_int_equal(config_parse(argc, argv, &o, errbuf, sizeof errbuf), CONFIG_USAGE);
    assert_non_null(strstr(errbuf, "--metrics: 'localhost:9469' is not ADDR:PORT"));
    config_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_and_states),
        cmocka_unit_test(off_by_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
