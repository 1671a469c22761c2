/* Unit tests for combining sensors: a route silent at every sensor that judges it is an
 * outage, at one sensor only that sensor's problem (a note, no event); the country; the
 * sensors that cannot judge or have no news; names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "combine.h"

#include <stdio.h>
#include <string.h>

#define BIN 10
#define T0  1749254400

struct world {
    struct combine *c;
    int s[3]; /* sensors s1 s2 s3 */
    int r[2]; /* routes cn ru */
    struct event ev[16];
    unsigned nev;
};

static void setup_world(struct world *w, unsigned nsensors)
{
    static const char *const sensors[] = {"s1", "s2", "s3"};
    const struct combine_config cfg = {.bin = BIN, .coincide = 3};
    memset(w, 0, sizeof *w);
    w->c = combine_new(&cfg, "detect", "KP");
    assert_non_null(w->c);
    for (unsigned i = 0; i < nsensors; i++)
        w->s[i] = combine_sensor(w->c, sensors[i]);
    w->r[0] = combine_route(w->c, "cn");
    w->r[1] = combine_route(w->c, "ru");
}

static struct detect_route_status up(int64_t since, int64_t last_active)
{
    struct detect_route_status st = {.state = DS_UP,
                                     .since = since,
                                     .last_active = last_active,
                                     .baseline_pps = 30,
                                     .observed_pps = 30,
                                     .baseline_dir_pps = {15, 15},
                                     .observed_dir_pps = {15, 15},
                                     .lambda = 4};
    return st;
}

static struct detect_route_status down(int64_t since)
{
    struct detect_route_status st = {.state = DS_DOWN,
                                     .since = since,
                                     .down_since = since,
                                     .last_active = since,
                                     .baseline_pps = 30,
                                     .down_lambda = 4,
                                     .down_base_pps = {15, 15},
                                     .lambda = 4};
    return st;
}

static struct detect_route_status learning(int64_t last_active)
{
    struct detect_route_status st = {.state = DS_LEARNING, .last_active = last_active};
    return st;
}

static void vote(struct world *w, int sensor, int route, struct detect_route_status st)
{
    combine_vote(w->c, (unsigned)w->s[sensor], (unsigned)w->r[route], &st);
}

/* Every sensor sees both routes up and busy until t. */
static void all_up(struct world *w, unsigned nsensors, int64_t t)
{
    for (unsigned s = 0; s < nsensors; s++)
        for (int r = 0; r < 2; r++)
            vote(w, (int)s, r, up(T0, t));
}

static void step(struct world *w, int64_t end)
{
    w->nev = combine_step(w->c, end, w->ev, 16);
}

static unsigned notes(struct world *w, const struct combine_note **n)
{
    return combine_notes(w->c, n);
}

static void silent_everywhere_is_a_route_outage(void **state)
{
    struct world w;
    struct detect_route_status st;
    setup_world(&w, 2);
    all_up(&w, 2, T0 + 3600);
    step(&w, T0 + 3600);
    assert_int_equal(w.nev, 0);
    combine_route_status(w.c, (unsigned)w.r[0], &st);
    assert_int_equal(st.state, DS_UP);
    /* s1 decides first: s2 has been silent as long, undecided: no event, no note */
    vote(&w, 0, 0, down(T0 + 3600));
    vote(&w, 1, 0, up(T0, T0 + 3600));
    vote(&w, 0, 1, up(T0, T0 + 3620));
    vote(&w, 1, 1, up(T0, T0 + 3620));
    step(&w, T0 + 3620);
    const struct combine_note *n;
    assert_int_equal(w.nev, 0);
    assert_int_equal(notes(&w, &n), 0);
    /* s2 decides a bin later, its silence began 10 s after s1's */
    vote(&w, 0, 0, down(T0 + 3600));
    vote(&w, 1, 0, down(T0 + 3610));
    vote(&w, 0, 1, up(T0, T0 + 3630));
    vote(&w, 1, 1, up(T0, T0 + 3630));
    step(&w, T0 + 3630);
    assert_int_equal(w.nev, 1);
    assert_int_equal(w.ev[0].kind, EVENT_ROUTE_DOWN);
    assert_string_equal(w.ev[0].route, "cn");
    assert_string_equal(w.ev[0].country, "KP");
    assert_string_equal(w.ev[0].sensor, "detect");
    assert_int_equal(w.ev[0].since, T0 + 3610);
    assert_int_equal(w.ev[0].detected, T0 + 3630);
    assert_int_equal(w.ev[0].evidence.sensors_silent, 2);
    assert_int_equal(w.ev[0].evidence.sensors_total, 2);
    assert_true(w.ev[0].evidence.out_ratio == 0);
    assert_true(w.ev[0].baseline_pps == 60);
    combine_route_status(w.c, (unsigned)w.r[0], &st);
    assert_int_equal(st.state, DS_DOWN);
    assert_int_equal(st.since, T0 + 3610);
    /* still down: no second event; then back at one sensor */
    vote(&w, 0, 0, down(T0 + 3600));
    vote(&w, 1, 0, down(T0 + 3610));
    step(&w, T0 + 3640);
    assert_int_equal(w.nev, 0);
    vote(&w, 0, 0, up(T0 + 5400, T0 + 5420));
    vote(&w, 1, 0, down(T0 + 3610));
    step(&w, T0 + 5420);
    assert_int_equal(w.nev, 1);
    assert_int_equal(w.ev[0].kind, EVENT_ROUTE_UP);
    assert_int_equal(w.ev[0].since, T0 + 5400);
    assert_int_equal(w.ev[0].duration, 5400 - 3610);
    assert_int_equal(w.ev[0].evidence.sensors_total, 2);
    assert_int_equal(w.ev[0].evidence.sensors_silent, 1);
    assert_true(w.ev[0].evidence.in_ratio == 1);
    combine_free(w.c);
}

static void silent_at_one_sensor_is_its_problem(void **state)
{
    struct world w;
    const struct combine_note *n;
    setup_world(&w, 2);
    all_up(&w, 2, T0 + 3600);
    step(&w, T0 + 3600);
    /* s1 loses cn at 3600; s2 goes on seeing traffic on it */
    for (int64_t t = T0 + 3630; t < T0 + 4000; t += BIN) {
        vote(&w, 0, 0, down(T0 + 3600));
        vote(&w, 1, 0, up(T0, t));
        vote(&w, 0, 1, up(T0, t));
        vote(&w, 1, 1, up(T0, t));
        step(&w, t);
        assert_int_equal(w.nev, 0);
        unsigned k = notes(&w, &n);
        if (t == T0 + 3630) {
            assert_int_equal(k, 1);
            assert_int_equal(n[0].kind, COMBINE_ALONE_DOWN);
            assert_string_equal(combine_sensor_name(w.c, n[0].sensor), "s1");
            assert_string_equal(combine_route_name(w.c, n[0].route), "cn");
            assert_int_equal(n[0].since, T0 + 3600);
            assert_int_equal(n[0].others_up, 1);
        } else {
            assert_int_equal(k, 0); /* once */
        }
    }
    vote(&w, 0, 0, up(T0 + 4000, T0 + 4010));
    vote(&w, 1, 0, up(T0, T0 + 4010));
    step(&w, T0 + 4010);
    assert_int_equal(w.nev, 0);
    assert_int_equal(notes(&w, &n), 1);
    assert_int_equal(n[0].kind, COMBINE_ALONE_BACK);
    combine_free(w.c);
}

static void a_sensor_without_news_does_not_vote(void **state)
{
    struct world w;
    setup_world(&w, 2);
    all_up(&w, 2, T0 + 3600);
    step(&w, T0 + 3600);
    /* s2 stopped writing bins (or is blind): s1 alone judges */
    vote(&w, 0, 0, down(T0 + 3600));
    vote(&w, 0, 1, up(T0, T0 + 3620));
    struct detect_route_status blind = up(T0, T0 + 3600);
    blind.state = DS_BLIND;
    vote(&w, 1, 0, blind);
    step(&w, T0 + 3620);
    assert_int_equal(w.nev, 1);
    assert_int_equal(w.ev[0].kind, EVENT_ROUTE_DOWN);
    assert_int_equal(w.ev[0].evidence.sensors_total, 1);
    combine_free(w.c);
}

static void traffic_a_sensor_cannot_judge_vetoes(void **state)
{
    struct world w;
    setup_world(&w, 2);
    all_up(&w, 1, T0 + 3600);
    vote(&w, 1, 0, learning(T0 + 3600));
    vote(&w, 1, 1, learning(T0 + 3600));
    step(&w, T0 + 3600);
    /* s1 sees cn down, s2 (still learning) saw traffic on cn after that */
    vote(&w, 0, 0, down(T0 + 3600));
    vote(&w, 0, 1, up(T0, T0 + 3620));
    vote(&w, 1, 0, learning(T0 + 3620));
    vote(&w, 1, 1, learning(T0 + 3620));
    step(&w, T0 + 3620);
    assert_int_equal(w.nev, 0);
    /* s2's traffic on cn ends with s1's: now it is down */
    vote(&w, 0, 0, down(T0 + 3600));
    vote(&w, 0, 1, up(T0, T0 + 3630));
    vote(&w, 1, 0, learning(T0 + 3600));
    vote(&w, 1, 1, learning(T0 + 3630));
    step(&w, T0 + 3630);
    assert_int_equal(w.nev, 1);
    assert_int_equal(w.ev[0].kind, EVENT_ROUTE_DOWN);
    combine_free(w.c);
}

/* Both routes at both sensors: one country_down, the route events folded into it. */
static void every_route_down_is_the_country(void **state)
{
    struct world w;
    struct detect_route_status st;
    setup_world(&w, 2);
    all_up(&w, 2, T0 + 3600);
    step(&w, T0 + 3600);
    for (int s = 0; s < 2; s++) {
        vote(&w, s, 0, down(T0 + 3600));
        vote(&w, s, 1, down(T0 + 3610));
    }
    step(&w, T0 + 3620);
    assert_int_equal(w.nev, 1);
    assert_int_equal(w.ev[0].kind, EVENT_COUNTRY_DOWN);
    assert_string_equal(w.ev[0].route, "*");
    assert_string_equal(w.ev[0].country, "KP");
    assert_int_equal(w.ev[0].since, T0 + 3610);
    assert_int_equal(w.ev[0].cause, CAUSE_INTERNAL);
    assert_int_equal(w.ev[0].evidence.routes_silent, 2);
    assert_int_equal(w.ev[0].evidence.routes_total, 2);
    assert_int_equal(w.ev[0].evidence.sensors_silent, 2);
    assert_int_equal(w.ev[0].evidence.sensors_total, 2);
    combine_country_status(w.c, &st);
    assert_int_equal(st.state, DS_DOWN);
    for (int s = 0; s < 2; s++) {
        vote(&w, s, 0, up(T0 + 5400, T0 + 5420));
        vote(&w, s, 1, down(T0 + 3610));
    }
    step(&w, T0 + 5420);
    assert_int_equal(w.nev, 1);
    assert_int_equal(w.ev[0].kind, EVENT_COUNTRY_UP);
    assert_int_equal(w.ev[0].since, T0 + 5400);
    assert_int_equal(w.ev[0].duration, 5400 - 3610);
    assert_int_equal(w.ev[0].evidence.routes_silent, 1);
    /* ru comes back ten minutes later: a route event of its own (within coincide bins of
     * the country_up it would have been folded into it) */
    for (int s = 0; s < 2; s++) {
        vote(&w, s, 0, up(T0 + 5400, T0 + 6020));
        vote(&w, s, 1, up(T0 + 6000, T0 + 6020));
    }
    step(&w, T0 + 6020);
    assert_int_equal(w.nev, 1);
    assert_int_equal(w.ev[0].kind, EVENT_ROUTE_UP);
    assert_string_equal(w.ev[0].route, "ru");
    combine_free(w.c);
}

/* s1 loses everything (its own problem), s2 only cn (failover): one route_down, no country. */
static void failover_and_a_blind_sensor(void **state)
{
    struct world w;
    const struct combine_note *n;
    setup_world(&w, 2);
    all_up(&w, 2, T0 + 3600);
    step(&w, T0 + 3600);
    vote(&w, 0, 0, down(T0 + 3600));
    vote(&w, 0, 1, down(T0 + 3600));
    vote(&w, 1, 0, down(T0 + 3600));
    vote(&w, 1, 1, up(T0, T0 + 3620));
    step(&w, T0 + 3620);
    assert_int_equal(w.nev, 1);
    assert_int_equal(w.ev[0].kind, EVENT_ROUTE_DOWN);
    assert_string_equal(w.ev[0].route, "cn");
    assert_int_equal(notes(&w, &n), 1);
    assert_int_equal(n[0].kind, COMBINE_ALONE_DOWN);
    assert_string_equal(combine_route_name(w.c, n[0].route), "ru");
    combine_free(w.c);
}

static void causes(void **state)
{
    struct world w;
    setup_world(&w, 1);
    all_up(&w, 1, T0 + 3600);
    step(&w, T0 + 3600);
    struct detect_route_status a = down(T0 + 3600), b = down(T0 + 3900);
    vote(&w, 0, 0, a);
    vote(&w, 0, 1, up(T0, T0 + 3900));
    step(&w, T0 + 3620);
    vote(&w, 0, 0, a);
    vote(&w, 0, 1, b);
    step(&w, T0 + 3920);
    assert_int_equal(w.nev, 1);
    assert_int_equal(w.ev[0].kind, EVENT_COUNTRY_DOWN);
    assert_int_equal(w.ev[0].cause, CAUSE_UPSTREAM);
    combine_free(w.c);

    setup_world(&w, 1);
    all_up(&w, 1, T0 + 3600);
    step(&w, T0 + 3600);
    a.surge_before = true;
    vote(&w, 0, 0, a);
    vote(&w, 0, 1, down(T0 + 3600));
    step(&w, T0 + 3620);
    assert_int_equal(w.ev[0].cause, CAUSE_ATTACK);
    assert_true(w.ev[0].evidence.surge_before);
    combine_free(w.c);
}

static void names(void **state)
{
    const struct combine_config cfg = {.bin = BIN, .coincide = 3};
    char name[16];
    struct combine *c = combine_new(&cfg, "detect", "KP");
    assert_non_null(c);
    assert_int_equal(combine_sensor(c, "a"), 0);
    assert_int_equal(combine_sensor(c, "b"), 1);
    assert_int_equal(combine_sensor(c, "a"), 0);
    for (int i = 2; i < COMBINE_SENSORS_MAX; i++) {
        snprintf(name, sizeof name, "s%d", i);
        assert_int_equal(combine_sensor(c, name), i);
    }
    assert_int_equal(combine_sensor(c, "one too many"), -1);
    char longname[RECORD_NAME_MAX + 1];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(combine_route(c, longname), -1);
    assert_int_equal(combine_route(c, "cn"), 0);
    assert_int_equal(combine_nroutes(c), 1);
    assert_string_equal(combine_route_name(c, 5), "?");
    combine_free(c);
    combine_free(NULL);
    const struct combine_config bad = {.bin = 0};
    assert_null(combine_new(&bad, "detect", "KP"));
    assert_null(combine_new(&cfg, "detect", "KPKP")); /* not a country code */
}

/* Collapses at two sensors: the combined events carry the residuals over both, the kind, and
 * the country_down names its routes. */
static void collapses_carry_residuals_and_routes(void **state)
{
    struct world w;
    setup_world(&w, 2);
    all_up(&w, 2, T0 + 3600);
    step(&w, T0 + 3600);
    for (int s = 0; s < 2; s++)
        for (int r = 0; r < 2; r++) {
            struct detect_route_status st = down(T0 + 3000 + 10 * r);
            st.down_kind = r == 0 ? DOWN_KIND_COLLAPSE : DOWN_KIND_SILENT;
            st.down_starts[0] = st.down_starts[1] = r == 0 ? 10 * (s + 1) : 0;
            st.down_expected[0] = st.down_expected[1] = 100;
            vote(&w, s, r, st);
        }
    step(&w, T0 + 3610);
    assert_int_equal(w.nev, 1);
    const struct event *e = &w.ev[0];
    assert_int_equal(e->kind, EVENT_COUNTRY_DOWN);
    assert_int_equal(e->evidence.kind, DOWN_KIND_COLLAPSE);
    assert_true(e->evidence.residual_in > 0.0749 && e->evidence.residual_in < 0.0751);
    assert_int_equal(e->evidence.nroutes, 2);
    assert_string_equal(e->evidence.routes[0].name, "cn");
    assert_int_equal(e->evidence.routes[0].kind, DOWN_KIND_COLLAPSE);
    assert_true(e->evidence.routes[0].residual_out > 0.149 &&
                e->evidence.routes[0].residual_out < 0.151);
    assert_int_equal(e->evidence.routes[1].since, T0 + 3010);
    assert_int_equal(e->evidence.routes[1].kind, DOWN_KIND_SILENT);
    combine_free(w.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(silent_everywhere_is_a_route_outage),
        cmocka_unit_test(collapses_carry_residuals_and_routes),
        cmocka_unit_test(silent_at_one_sensor_is_its_problem),
        cmocka_unit_test(a_sensor_without_news_does_not_vote),
        cmocka_unit_test(traffic_a_sensor_cannot_judge_vetoes),
        cmocka_unit_test(every_route_down_is_the_country),
        cmocka_unit_test(failover_and_a_blind_sensor),
        cmocka_unit_test(causes),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
