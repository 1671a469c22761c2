/* Unit tests for the detector on synthetic bins: learning, silence decisions and their
 * timing, direction, the blind sensor, surges, recovery, partial bins, unknown routes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "detect.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define BIN 10
#define T0  1749254400

static const char *const NAMES[] = {"cn", "ru", "other"};

/* Deterministic Poisson draws (Knuth) from a xorshift generator. */
static uint64_t rng = 88172645463325252ull;
static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static uint64_t poisson(double mean)
{
    double l = exp(-mean), p = 1;
    uint64_t k = 0;
    do {
        k++;
        p *= uniform();
    } while (p > l);
    return k - 1;
}

struct sim {
    struct detect *d;
    int64_t t;
    struct event ev[64];
    unsigned nev;
    struct event log[64];
    unsigned nlog;
};

/* Route traffic for one bin: conversations per second each way (0 = silent), background. */
struct shape {
    double conv_in, conv_out, ctl;
    uint64_t flood_in;
};

/* Feeds one bin of these routes' counters, logs its events, moves the clock. */
static void feed(struct sim *s, const struct detect_route_bin *rb, unsigned nroutes, bool partial)
{
    struct detect_bin b = {
        .start = s->t, .len = BIN, .partial = partial, .nroutes = nroutes, .routes = rb};
    s->nev = detect_feed(s->d, &b, s->ev, 64);
    for (unsigned i = 0; i < s->nev && s->nlog < 64; i++)
        s->log[s->nlog++] = s->ev[i];
    s->t += BIN;
}

static void step(struct sim *s, const struct shape *sh, unsigned nroutes, bool partial)
{
    struct detect_route_bin rb[3];
    memset(rb, 0, sizeof rb);
    for (unsigned r = 0; r < nroutes; r++) {
        uint64_t in = poisson(sh[r].conv_in * BIN), out = poisson(sh[r].conv_out * BIN);
        rb[r].starts[0] = in + sh[r].flood_in;
        rb[r].starts[1] = out;
        rb[r].pkts[0] = in * 4 + sh[r].flood_in;
        rb[r].pkts[1] = out * 4;
        rb[r].ctl_pkts = poisson(sh[r].ctl * BIN);
    }
    feed(s, rb, nroutes, partial);
}

static void run(struct sim *s, const struct shape *sh, unsigned nroutes, unsigned seconds)
{
    for (unsigned i = 0; i < seconds / BIN; i++)
        step(s, sh, nroutes, false);
}

static void sim_init(struct sim *s, unsigned nroutes)
{
    struct detect_config c;
    detect_defaults(&c, BIN);
    memset(s, 0, sizeof *s);
    s->d = detect_new(&c, nroutes, NAMES, "s1");
    assert_non_null(s->d);
    s->t = T0;
}

static const struct event *find(const struct sim *s, enum event_kind k, const char *route)
{
    for (unsigned i = 0; i < s->nlog; i++)
        if (s->log[i].kind == k && strcmp(s->log[i].route, route) == 0)
            return &s->log[i];
    return NULL;
}

static void learning_then_up(void **state)
{
    struct sim s;
    struct detect_route_status st;
    const struct shape busy[2] = {{2, 2, 10, 0}, {2, 2, 10, 0}};
    sim_init(&s, 2);
    run(&s, busy, 2, 1700);
    detect_route_status(s.d, 0, &st);
    assert_int_equal(st.state, DS_LEARNING);
    run(&s, busy, 2, 200);
    detect_route_status(s.d, 0, &st);
    assert_int_equal(st.state, DS_UP);
    assert_true(st.lambda > 1.5 && st.lambda < 2.5);
    assert_int_equal(s.nlog, 0);
    detect_free(s.d);
}

static void blackout_detected_fast_with_cause(void **state)
{
    struct sim s;
    const struct shape busy[2] = {{4, 4, 20, 0}, {4, 4, 20, 0}};
    const struct shape dark[2] = {{0, 0, 20, 0}, {0, 0, 20, 0}};
    sim_init(&s, 2);
    run(&s, busy, 2, 3600);
    int64_t silence = s.t;
    run(&s, dark, 2, 120);
    const struct event *e = find(&s, EVENT_COUNTRY_DOWN, "*");
    assert_non_null(e);
    assert_int_equal(e->since, silence);
    assert_true(e->detected - silence <= 30);
    assert_int_equal(e->cause, CAUSE_INTERNAL);
    assert_int_equal(e->evidence.routes_silent, 2);
    /* one incident, one alert: the routes' own down events are folded into it */
    assert_null(find(&s, EVENT_ROUTE_DOWN, "cn"));
    int64_t back = s.t;
    run(&s, busy, 2, 60);
    e = find(&s, EVENT_COUNTRY_UP, "*");
    assert_non_null(e);
    assert_int_equal(e->since, back);
    assert_int_equal(e->duration, back - silence);
    detect_free(s.d);
}

static void one_way_silence_is_down(void **state)
{
    struct sim s;
    const struct shape busy[1] = {{4, 4, 20, 0}};
    const struct shape oneway[1] = {{2, 0, 20, 0}};
    sim_init(&s, 1);
    run(&s, busy, 1, 3600);
    run(&s, oneway, 1, 60);
    const struct event *e = find(&s, EVENT_COUNTRY_DOWN, "*");
    assert_non_null(e);
    assert_true(e->evidence.one_way);
    assert_true(e->evidence.in_ratio > 0.2);
    assert_true(e->evidence.out_ratio == 0);
    detect_free(s.d);
}

static void failover_is_a_route_event(void **state)
{
    struct sim s;
    const struct shape busy[2] = {{4, 4, 20, 0}, {4, 4, 20, 0}};
    const struct shape moved[2] = {{0, 0, 20, 0}, {8, 8, 20, 0}};
    sim_init(&s, 2);
    run(&s, busy, 2, 3600);
    run(&s, moved, 2, 600);
    assert_non_null(find(&s, EVENT_ROUTE_DOWN, "cn"));
    assert_null(find(&s, EVENT_ROUTE_DOWN, "ru"));
    assert_null(find(&s, EVENT_COUNTRY_DOWN, "*"));
    run(&s, busy, 2, 60);
    const struct event *e = find(&s, EVENT_ROUTE_UP, "cn");
    assert_non_null(e);
    assert_int_equal(e->duration, 600);
    detect_free(s.d);
}

/* The status of a down route carries what `blackout detect` combines across sensors. */
static void down_status_carries_the_silence(void **state)
{
    struct sim s;
    struct detect_route_status st;
    const struct shape busy[1] = {{4, 4, 20, 0}};
    const struct shape oneway[1] = {{2, 0, 20, 0}};
    sim_init(&s, 1);
    run(&s, busy, 1, 3600);
    detect_route_status(s.d, 0, &st);
    assert_int_equal(st.state, DS_UP);
    assert_int_equal(st.last_active, s.t);
    assert_int_equal(st.down_since, 0);
    int64_t silence = s.t;
    run(&s, oneway, 1, 120);
    detect_route_status(s.d, 0, &st);
    assert_int_equal(st.state, DS_DOWN);
    assert_int_equal(st.down_since, silence);
    assert_true(st.one_way);
    assert_false(st.surge_before);
    assert_true(st.down_base_pps[1] > 10 && st.down_obs_pps[1] == 0);
    assert_true(st.down_obs_pps[0] > 0);
    assert_true(st.down_lambda > 3 && st.down_lambda < 5);
    detect_free(s.d);
}

static void causes(void **state)
{
    assert_int_equal(detect_cause(30, 100, 120, 4, false, false), CAUSE_INTERNAL);
    assert_int_equal(detect_cause(30, 100, 200, 4, false, false), CAUSE_UPSTREAM);
    assert_int_equal(detect_cause(30, 100, 200, 0.01, false, false), CAUSE_INTERNAL);
    assert_int_equal(detect_cause(30, 100, 120, 4, true, false), CAUSE_ATTACK);
    assert_int_equal(detect_cause(30, 100, 120, 4, false, true), CAUSE_UNKNOWN);
    assert_int_equal(detect_cause(30, 100, 100, INFINITY, false, false), CAUSE_INTERNAL);
}

static void blind_sensor_suppresses_routes(void **state)
{
    struct sim s;
    const struct shape busy[2] = {{4, 4, 50, 0}, {4, 4, 50, 0}};
    const struct shape nothing[2] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
    sim_init(&s, 2);
    run(&s, busy, 2, 3600);
    int64_t blind = s.t;
    run(&s, nothing, 2, 600);
    run(&s, busy, 2, 60);
    const struct event *e = find(&s, EVENT_SENSOR_BLIND, "*");
    assert_non_null(e);
    assert_int_equal(e->since, blind);
    assert_non_null(find(&s, EVENT_SENSOR_OK, "*"));
    assert_null(find(&s, EVENT_ROUTE_DOWN, "cn"));
    assert_null(find(&s, EVENT_COUNTRY_DOWN, "*"));
    detect_free(s.d);
}

static void surge_then_silence_is_an_attack(void **state)
{
    struct sim s;
    const struct shape busy[2] = {{4, 4, 20, 0}, {4, 4, 20, 0}};
    const struct shape flood[2] = {{4, 4, 20, 20000}, {4, 4, 20, 20000}};
    const struct shape dark[2] = {{0, 0, 20, 0}, {0, 0, 20, 0}};
    sim_init(&s, 2);
    run(&s, busy, 2, 3600);
    run(&s, flood, 2, 180);
    run(&s, dark, 2, 60);
    const struct event *e = find(&s, EVENT_COUNTRY_DOWN, "*");
    assert_non_null(e);
    assert_int_equal(e->cause, CAUSE_ATTACK);
    assert_true(e->evidence.surge_before);
    detect_free(s.d);
}

static void routes_one_by_one_is_upstream(void **state)
{
    struct sim s;
    const struct shape busy[2] = {{4, 4, 20, 0}, {4, 4, 20, 0}};
    const struct shape half[2] = {{0, 0, 20, 0}, {8, 8, 20, 0}};
    const struct shape dark[2] = {{0, 0, 20, 0}, {0, 0, 20, 0}};
    sim_init(&s, 2);
    run(&s, busy, 2, 3600);
    run(&s, half, 2, 300);
    run(&s, dark, 2, 60);
    const struct event *e = find(&s, EVENT_COUNTRY_DOWN, "*");
    assert_non_null(e);
    assert_int_equal(e->cause, CAUSE_UPSTREAM);
    /* cn's route_down went out on its own (ru was still up); ru's is folded into the country's */
    assert_non_null(find(&s, EVENT_ROUTE_DOWN, "cn"));
    assert_null(find(&s, EVENT_ROUTE_DOWN, "ru"));
    /* back together: cn's route_up goes out as well, so no consumer sees it down for ever */
    run(&s, busy, 2, 120);
    assert_non_null(find(&s, EVENT_COUNTRY_UP, "*"));
    e = find(&s, EVENT_ROUTE_UP, "cn");
    assert_non_null(e);
    assert_true(e->duration >= 360);
    /* ru went down with the country: its return is folded into the country_up when it comes
     * back with it, else (it carried cn's traffic just before: more to come back to) an event
     * of its own after it */
    const struct event *cu = find(&s, EVENT_COUNTRY_UP, "*"), *ru = find(&s, EVENT_ROUTE_UP, "ru");
    assert_true(!ru || ru->detected > cu->detected + 30);
    detect_free(s.d);
}

static struct event ev_of(enum event_kind k, const char *route)
{
    struct event e = {.kind = k, .duration = -1};
    snprintf(e.route, sizeof e.route, "%s", route);
    return e;
}

static void subsume_keeps_what_was_told(void **state)
{
    struct detect_told told = {0};
    struct event ev[4];
    /* a route down alone: kept and remembered */
    ev[0] = ev_of(EVENT_ROUTE_DOWN, "cn");
    assert_int_equal(detect_subsume(ev, 1, &told), 1);
    assert_int_equal(told.n, 1);
    /* the rest go down with the country: folded */
    ev[0] = ev_of(EVENT_ROUTE_DOWN, "ru");
    ev[1] = ev_of(EVENT_COUNTRY_DOWN, "*");
    assert_int_equal(detect_subsume(ev, 2, &told), 1);
    assert_int_equal(ev[0].kind, EVENT_COUNTRY_DOWN);
    assert_int_equal(told.n, 1);
    /* all back: the told route's up stays, the other's is folded */
    ev[0] = ev_of(EVENT_ROUTE_UP, "ru");
    ev[1] = ev_of(EVENT_ROUTE_UP, "cn");
    ev[2] = ev_of(EVENT_COUNTRY_UP, "*");
    assert_int_equal(detect_subsume(ev, 3, &told), 2);
    assert_int_equal(ev[0].kind, EVENT_ROUTE_UP);
    assert_string_equal(ev[0].route, "cn");
    assert_int_equal(ev[1].kind, EVENT_COUNTRY_UP);
    assert_int_equal(told.n, 0);
    /* folded into a country_down, back a bin after the country_up: folded into it too; a
     * minute after it: an event of its own */
    told.window = 30;
    ev[0] = ev_of(EVENT_ROUTE_DOWN, "cn");
    ev[1] = ev_of(EVENT_ROUTE_DOWN, "ru");
    ev[2] = ev_of(EVENT_COUNTRY_DOWN, "*");
    assert_int_equal(detect_subsume(ev, 3, &told), 1);
    ev[0] = ev_of(EVENT_ROUTE_UP, "cn");
    ev[1] = ev_of(EVENT_COUNTRY_UP, "*");
    ev[0].detected = ev[1].detected = 1000;
    assert_int_equal(detect_subsume(ev, 2, &told), 1);
    ev[0] = ev_of(EVENT_ROUTE_UP, "ru");
    ev[0].detected = 1010;
    assert_int_equal(detect_subsume(ev, 1, &told), 0);
    ev[0] = ev_of(EVENT_ROUTE_DOWN, "ru");
    ev[1] = ev_of(EVENT_ROUTE_DOWN, "cn");
    ev[2] = ev_of(EVENT_COUNTRY_DOWN, "*");
    assert_int_equal(detect_subsume(ev, 3, &told), 1);
    ev[0] = ev_of(EVENT_ROUTE_UP, "cn");
    ev[1] = ev_of(EVENT_COUNTRY_UP, "*");
    ev[0].detected = ev[1].detected = 2000;
    assert_int_equal(detect_subsume(ev, 2, &told), 1);
    ev[0] = ev_of(EVENT_ROUTE_UP, "ru");
    ev[0].detected = 2060;
    assert_int_equal(detect_subsume(ev, 1, &told), 1);
    assert_int_equal(told.nfolded, 0);
    /* a plain failover: down and up both kept, nothing left behind */
    ev[0] = ev_of(EVENT_ROUTE_DOWN, "cn");
    assert_int_equal(detect_subsume(ev, 1, &told), 1);
    ev[0] = ev_of(EVENT_ROUTE_UP, "cn");
    assert_int_equal(detect_subsume(ev, 1, &told), 1);
    assert_int_equal(told.n, 0);
}

static void end_of_input_is_not_silence(void **state)
{
    struct sim s;
    const struct shape busy[1] = {{4, 4, 20, 0}};
    const struct shape dark[1] = {{0, 0, 0, 0}};
    sim_init(&s, 1);
    run(&s, busy, 1, 3600);
    step(&s, dark, 1, true); /* the last bin, cut short */
    assert_int_equal(s.nlog, 0);
    detect_free(s.d);
}

static void a_stray_packet_is_not_a_return(void **state)
{
    struct sim s;
    const struct shape busy[1] = {{4, 4, 20, 0}};
    const struct shape dark[1] = {{0, 0, 20, 0}};
    const struct shape stray[1] = {{0.05, 0.05, 20, 0}};
    sim_init(&s, 1);
    run(&s, busy, 1, 3600);
    run(&s, dark, 1, 120);
    assert_non_null(find(&s, EVENT_COUNTRY_DOWN, "*"));
    rng = 42; /* a few bins with a lone packet at most */
    for (int i = 0; i < 3; i++) {
        step(&s, stray, 1, false);
        step(&s, dark, 1, false);
        step(&s, dark, 1, false);
        step(&s, dark, 1, false);
    }
    assert_null(find(&s, EVENT_COUNTRY_UP, "*"));
    detect_free(s.d);
}

static void too_thin_is_unknown(void **state)
{
    struct sim s;
    struct detect_route_status st;
    const struct shape thin[1] = {{0.0005, 0.0005, 5, 0}};
    sim_init(&s, 1);
    run(&s, thin, 1, 7200);
    detect_route_status(s.d, 0, &st);
    assert_int_equal(st.state, DS_UNKNOWN);
    detect_free(s.d);
}

/* A reload renames and reorders routes: state follows the name. */
static void take_over_follows_names(void **state)
{
    struct sim s;
    struct detect_route_status st, was;
    struct detect_config c;
    const struct shape busy[3] = {{2, 2, 10, 0}, {1, 1, 10, 0}, {0, 0, 10, 0}};
    static const char *const renamed[] = {"ru", "new", "other"};
    const int from[3] = {1, -1, 2};

    sim_init(&s, 3);
    run(&s, busy, 3, 2400);
    detect_route_status(s.d, 1, &was);
    assert_int_equal(was.state, DS_UP);
    detect_defaults(&c, BIN);
    struct detect *d = detect_new(&c, 3, renamed, "s1");
    assert_int_equal(detect_take_over(d, s.d, from), 0);
    detect_route_status(d, 0, &st);
    assert_int_equal(st.state, DS_UP);
    assert_true(st.baseline_pps == was.baseline_pps);
    detect_route_status(d, 1, &st);
    assert_int_equal(st.state, DS_LEARNING);
    detect_country_status(d, &st);
    assert_int_equal(st.state, DS_UP);
    detect_free(s.d);
    s.d = d;

    /* "ru" (old route 1) goes silent while "new" carries cn's traffic: a route outage */
    const struct shape moved[3] = {{0, 0, 10, 0}, {2, 2, 10, 0}, {0, 0, 10, 0}};
    run(&s, moved, 3, 900);
    const struct event *e = find(&s, EVENT_ROUTE_DOWN, "ru");
    assert_non_null(e);
    assert_null(find(&s, EVENT_COUNTRY_DOWN, "*"));

    struct detect_config c60;
    detect_defaults(&c60, 60);
    struct detect *other_bin = detect_new(&c60, 3, renamed, "s1");
    assert_int_equal(detect_take_over(other_bin, s.d, from), -1);
    detect_free(other_bin);
    detect_free(s.d);
}

static void thresholds_follow_the_bound(void **state)
{
    struct detect_config c;
    detect_defaults(&c, BIN);
    /* t* = ln(1/α)/λ; a silence is judged against traffic at up_above × λ */
    double tstar = detect_tstar(&c, 0.05);
    assert_true(fabs(tstar * 0.05 - log(2.0 * 30 * 86400 / BIN / c.alarms_per_month)) < 1e-9);
    assert_true(fabs(detect_threshold(&c, 0.05) - tstar / c.up_above) < 1e-9);
    /* the up test's alternative makes traffic at up_above neutral */
    double th = detect_up_theta(c.down_below, c.up_above);
    assert_true(fabs((th - c.down_below) / log(th / c.down_below) - c.up_above) < 1e-9);
    assert_true(th > 0.87 && th < 0.89);
    c.down_below = 0;
    assert_null(detect_new(&c, 1, NAMES, "s"));
    c.down_below = 0.5;
    assert_null(detect_new(&c, 1, NAMES, "s")); /* up_above must be above down_below */
    c.up_above = 1.5;
    assert_null(detect_new(&c, 1, NAMES, "s"));
}

/* ---- collapse, the expected level, hysteresis ---- */

/* Every route at conversation rate rate(t) × share each way, for seconds. */
static void run_rate(struct sim *s, unsigned nroutes, unsigned seconds, double (*rate)(int64_t),
                     double share)
{
    for (unsigned i = 0; i < seconds / BIN; i++) {
        struct shape sh[3];
        double r = rate(s->t) * share;
        for (unsigned k = 0; k < nroutes; k++)
            sh[k] = (struct shape){r, r, 20, 0};
        step(s, sh, nroutes, false);
    }
}

static double flat4(int64_t t)
{
    (void)t;
    return 4;
}

/* 4 conversations/s at the peak, 15% of it at night (a cosine over the UTC day). */
static double diurnal(int64_t t)
{
    return 4 * (0.575 + 0.425 * cos(2 * M_PI * (double)((t - 21600) % 86400) / 86400));
}

static unsigned count(const struct sim *s, enum event_kind k)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->nlog; i++)
        n += s->log[i].kind == k;
    return n;
}

static void collapse_is_down(void **state)
{
    struct sim s;
    sim_init(&s, 2);
    run_rate(&s, 2, 3600, flat4, 1);
    int64_t drop = s.t;
    run_rate(&s, 2, 1200, flat4, 0.1);
    const struct event *e = find(&s, EVENT_COUNTRY_DOWN, "*");
    assert_non_null(e);
    assert_int_equal(e->evidence.kind, DOWN_KIND_COLLAPSE);
    assert_int_equal(e->cause, CAUSE_INTERNAL); /* fallen together, within their precision */
    assert_true(e->detected - drop <= 300);
    assert_true(e->since >= drop - 60 && e->since <= drop + 120);
    assert_true(e->evidence.residual_in > 0.02 && e->evidence.residual_in < 0.25);
    assert_true(e->evidence.residual_out > 0.02 && e->evidence.residual_out < 0.25);
    assert_int_equal(e->evidence.nroutes, 2);
    assert_string_equal(e->evidence.routes[0].name, "cn");
    assert_int_equal(e->evidence.routes[1].kind, DOWN_KIND_COLLAPSE);
    assert_false(e->evidence.one_way);
    detect_free(s.d);
}

static void partial_drop_and_decline_are_not_down(void **state)
{
    struct sim s;
    sim_init(&s, 2);
    run_rate(&s, 2, 3600, flat4, 1);
    run_rate(&s, 2, 4 * 3600, flat4, 0.4);
    run_rate(&s, 2, 3600, flat4, 1);
    for (unsigned h = 0; h < 4; h++) /* 100% to 30% over four hours, then two at 30% */
        run_rate(&s, 2, 3600, flat4, 1 - 0.7 * (h + 1) / 4.0);
    run_rate(&s, 2, 2 * 3600, flat4, 0.3);
    assert_int_equal(s.nlog, 0);
    detect_free(s.d);
}

/* Two days of a diurnal cycle with a 15% trough: nothing; from the second day on the
 * expected level knows the time of day. */
static void diurnal_trough_is_not_down(void **state)
{
    struct sim s;
    struct detect_route_status st;
    sim_init(&s, 1);
    s.t = T0 - 6 * 3600; /* midnight: the first day starts at the trough */
    run_rate(&s, 1, 2 * 86400 + 6 * 3600, diurnal, 1);
    assert_int_equal(s.nlog, 0);
    run_rate(&s, 1, 12 * 3600, diurnal, 1); /* to the trough of day three */
    detect_route_status(s.d, 0, &st);
    assert_int_equal(st.state, DS_UP);
    double want = diurnal(s.t);
    assert_true(st.expected[0] > 0.7 * want && st.expected[0] < 1.3 * want);
    assert_int_equal(s.nlog, 0);
    detect_free(s.d);
}

static double fluctuating(int64_t t)
{
    return 4 * ((t / 1800) % 2 ? 0.15 : 0.03);
}

/* A residual between 3% and 15% for a day: one down, no up; back to normal: up. */
static void residual_gives_one_down_no_up(void **state)
{
    struct sim s;
    sim_init(&s, 2);
    run_rate(&s, 2, 3600, flat4, 1);
    run_rate(&s, 2, 86400, fluctuating, 1);
    assert_int_equal(count(&s, EVENT_COUNTRY_DOWN), 1);
    assert_int_equal(count(&s, EVENT_COUNTRY_UP), 0);
    assert_int_equal(count(&s, EVENT_ROUTE_UP), 0);
    int64_t back = s.t;
    run_rate(&s, 2, 300, flat4, 1);
    const struct event *e = find(&s, EVENT_COUNTRY_UP, "*");
    assert_non_null(e);
    assert_true(e->since == back && e->detected - back <= 60);
    detect_free(s.d);
}

/* Four minutes dark, six back, five times: five downs, five ups. */
static void intermittent_outages(void **state)
{
    struct sim s;
    sim_init(&s, 2);
    run_rate(&s, 2, 3600, flat4, 1);
    for (int i = 0; i < 5; i++) {
        run_rate(&s, 2, 240, flat4, 0);
        run_rate(&s, 2, 360, flat4, 1);
    }
    assert_int_equal(count(&s, EVENT_COUNTRY_DOWN), 5);
    assert_int_equal(count(&s, EVENT_COUNTRY_UP), 5);
    detect_free(s.d);
}

/* Thin routes whose long flows keep a packet or two in every bin (never silent): starts at
 * rate each way. */
static void run_thin(struct sim *s, unsigned nroutes, unsigned seconds, double rate)
{
    struct detect_route_bin rb[3];
    for (unsigned i = 0; i < seconds / BIN; i++) {
        memset(rb, 0, sizeof rb);
        for (unsigned r = 0; r < nroutes; r++)
            for (unsigned k = 0; k < 2; k++) {
                rb[r].starts[k] = poisson(rate * BIN);
                rb[r].pkts[k] = 4 * rb[r].starts[k] + 2;
            }
        feed(s, rb, nroutes, false);
    }
}

/* Three thin routes collapse together: the sum decides long before a route alone does. */
static void the_sum_of_thin_routes_collapses(void **state)
{
    struct sim s, one;
    sim_init(&s, 3);
    sim_init(&one, 1);
    run_thin(&s, 3, 3600, 0.3);
    run_thin(&one, 1, 3600, 0.3);
    int64_t drop = s.t;
    run_thin(&s, 3, 3600, 0.03);
    run_thin(&one, 1, 3600, 0.03);
    const struct event *c = find(&s, EVENT_COUNTRY_DOWN, "*"),
                       *alone = find(&one, EVENT_COUNTRY_DOWN, "*");
    assert_non_null(c);
    assert_non_null(alone);
    assert_true(2 * (c->detected - drop) < alone->detected - drop);
    assert_int_equal(c->evidence.routes_silent, 3);
    assert_int_equal(c->evidence.nroutes, 3);
    assert_int_equal(c->evidence.kind, DOWN_KIND_COLLAPSE);
    /* no route had decided alone: they went down with the sum, folded into it */
    assert_int_equal(count(&s, EVENT_ROUTE_DOWN), 0);
    detect_free(s.d);
    detect_free(one.d);
}

/* One route collapses, the other carries on: that route only. */
static void one_route_collapsing_is_a_route_event(void **state)
{
    struct sim s;
    const struct shape busy[2] = {{4, 4, 20, 0}, {4, 4, 20, 0}};
    const struct shape half[2] = {{0.3, 0.3, 20, 0}, {4, 4, 20, 0}};
    sim_init(&s, 2);
    run(&s, busy, 2, 3600);
    run(&s, half, 2, 1800);
    const struct event *e = find(&s, EVENT_ROUTE_DOWN, "cn");
    assert_non_null(e);
    assert_int_equal(e->evidence.kind, DOWN_KIND_COLLAPSE);
    assert_null(find(&s, EVENT_COUNTRY_DOWN, "*"));
    assert_null(find(&s, EVENT_ROUTE_DOWN, "ru"));
    detect_free(s.d);
}

static void state_is_small_and_bounded(void **state)
{
    /* most of it the days × slots of each direction's time-of-day shape */
    assert_true(detect_route_bytes() < 4608);
    assert_true(detect_route_bytes() > 2 * DETECT_DAYS * DETECT_SLOTS * sizeof(float));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(learning_then_up),
        cmocka_unit_test(blackout_detected_fast_with_cause),
        cmocka_unit_test(one_way_silence_is_down),
        cmocka_unit_test(failover_is_a_route_event),
        cmocka_unit_test(down_status_carries_the_silence),
        cmocka_unit_test(causes),
        cmocka_unit_test(blind_sensor_suppresses_routes),
        cmocka_unit_test(surge_then_silence_is_an_attack),
        cmocka_unit_test(routes_one_by_one_is_upstream),
        cmocka_unit_test(end_of_input_is_not_silence),
        cmocka_unit_test(a_stray_packet_is_not_a_return),
        cmocka_unit_test(too_thin_is_unknown),
        cmocka_unit_test(thresholds_follow_the_bound),
        cmocka_unit_test(take_over_follows_names),
        cmocka_unit_test(subsume_keeps_what_was_told),
        cmocka_unit_test(collapse_is_down),
        cmocka_unit_test(partial_drop_and_decline_are_not_down),
        cmocka_unit_test(diurnal_trough_is_not_down),
        cmocka_unit_test(residual_gives_one_down_no_up),
        cmocka_unit_test(intermittent_outages),
        cmocka_unit_test(the_sum_of_thin_routes_collapses),
        cmocka_unit_test(one_route_collapsing_is_a_route_event),
        cmocka_unit_test(state_is_small_and_bounded),
    };
    return cmocka_run_group_tests_name("detect", tests, NULL, NULL);
}
