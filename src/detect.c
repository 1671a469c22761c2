/* detect — silence decisions per route, country and sensor. See detect.h. */
#include "detect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAST_S    600.0  /* fast baseline time constant, seconds */
#define SLOW_S    3600.0 /* slow baseline time constant */
#define Q_MAX     0.9999 /* occupancy share cap (keeps -ln(1-q) finite) */
#define UP_BINS   2      /* bins with traffic needed to call a route back up */
#define SURGE_MIN 100    /* inbound packets in a bin below which nothing is a surge */
#define BLIND_MIN 2      /* fewest silent bins before the sensor is called blind */
#define DROPS_MIN 100    /* fewest drops in a bin that can make the sensor blind */

enum { IN = 0, OUT = 1 };

/* Moving averages of one direction of one route. */
struct dir_est {
    double q_fast, q_slow; /* share of bins with at least one start */
    double m_fast, m_slow; /* mean starts per bin */
    double s_fast, s_slow; /* mean squared starts per bin */
    double pps;            /* packets per second (slow) */
};

struct held_bin {
    uint32_t pkts[2], starts[2];
};

struct route_det {
    char name[RECORD_NAME_MAX];
    enum detect_state state;
    int64_t state_since;
    bool ever_up;
    unsigned learned; /* bins folded into the baseline */
    struct dir_est est[2];
    int64_t last_active; /* end of the last bin with country traffic */
    /* silent runs: bins in a row without a packet in the direction */
    unsigned run[2];
    int64_t run_start[2];
    uint64_t run_pkts[2][2]; /* packets seen during run[d], per direction */
    /* bins held back from the baseline while a run is undecided (ring) */
    struct held_bin held[DETECT_PENDING];
    unsigned held_head, held_n;
    /* down */
    unsigned down_dir;
    int64_t down_since;
    double down_base_pps[2];
    double down_obs_pps[2];
    bool down_surge;
    unsigned up_seen, up_window;
    int64_t up_since;
    int64_t last_surge; /* end of the last bin with an inbound surge */
    double last_pps, last_dir_pps[2];
};

struct detect {
    struct detect_config c;
    char sensor[RECORD_SENSOR_MAX];
    unsigned nroutes;
    double log_inv_alpha; /* ln(1/α) per bin and direction */
    struct route_det *r;
    /* country */
    enum detect_state country;
    int64_t country_since;
    /* sensor: total packets of every route, and drops */
    struct dir_est total;
    unsigned total_learned;
    unsigned blind_run;
    bool blind;
    int64_t blind_since;
    unsigned ok_seen;
    struct detect_told told; /* routes whose route_down went out on its own */
};

static const char *const state_names[] = {
    [DS_LEARNING] = "learning", [DS_UP] = "up",       [DS_DOWN] = "down",
    [DS_UNKNOWN] = "unknown",   [DS_BLIND] = "blind",
};

const char *detect_state_name(enum detect_state s)
{
    return (unsigned)s <= DS_BLIND ? state_names[s] : "invalid";
}

void detect_defaults(struct detect_config *c, unsigned bin)
{
    memset(c, 0, sizeof *c);
    c->bin = bin;
    c->warmup = 1800;
    c->horizon = 3600;
    c->alarms_per_month = 0.1;
    c->margin = 0.5;
    c->surge = 5.0;
    c->coincide = 3;
    c->surge_window = 300;
    c->blind_drops = 0.1;
}

static double log_inv_alpha(const struct detect_config *c)
{
    double tests = 2.0 * 30 * 86400 / c->bin; /* two directions, every bin of 30 days */
    double alpha = c->alarms_per_month / tests;
    return -log(alpha);
}

double detect_tstar(const struct detect_config *c, double lambda)
{
    return lambda > 0 ? log_inv_alpha(c) / lambda : INFINITY;
}

double detect_threshold(const struct detect_config *c, double lambda)
{
    return detect_tstar(c, lambda) / c->margin;
}

struct detect *detect_new(const struct detect_config *c, unsigned nroutes, const char *const *names,
                          const char *sensor)
{
    if (c->bin == 0 || nroutes == 0 || nroutes > DETECT_ROUTES_MAX || c->margin <= 0 ||
        c->margin > 1 || c->alarms_per_month <= 0)
        return NULL;
    struct detect *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->r = calloc(nroutes, sizeof *d->r);
    if (!d->r) {
        free(d);
        return NULL;
    }
    d->c = *c;
    d->nroutes = nroutes;
    d->log_inv_alpha = log_inv_alpha(c);
    snprintf(d->sensor, sizeof d->sensor, "%s", sensor);
    for (unsigned i = 0; i < nroutes; i++) {
        snprintf(d->r[i].name, sizeof d->r[i].name, "%s", names[i]);
        d->r[i].state_since = INT64_MIN;
        d->r[i].last_surge = INT64_MIN;
    }
    d->country_since = INT64_MIN;
    return d;
}

void detect_free(struct detect *d)
{
    if (!d)
        return;
    free(d->r);
    free(d);
}

int detect_take_over(struct detect *dst, const struct detect *src, const int *from)
{
    if (dst->c.bin != src->c.bin)
        return -1;
    for (unsigned i = 0; i < dst->nroutes; i++) {
        if (from[i] < 0 || (unsigned)from[i] >= src->nroutes)
            continue;
        char name[RECORD_NAME_MAX];
        memcpy(name, dst->r[i].name, sizeof name);
        dst->r[i] = src->r[from[i]];
        memcpy(dst->r[i].name, name, sizeof name);
    }
    dst->country = src->country;
    dst->country_since = src->country_since;
    dst->total = src->total;
    dst->total_learned = src->total_learned;
    dst->blind_run = src->blind_run;
    dst->blind = src->blind;
    dst->blind_since = src->blind_since;
    dst->ok_seen = src->ok_seen;
    dst->told = src->told; /* by name: a route renamed away is never told up (it is gone) */
    return 0;
}

/* Weight of a new sample in an average of time constant tau_s after n samples: a plain
 * mean while young, then exponential. */
static double weight(unsigned n, double tau_s, unsigned bin)
{
    double tau = tau_s / bin;
    return n + 1 < tau ? 1.0 / (n + 1) : 1.0 / tau;
}

static void est_add(struct dir_est *e, unsigned n, unsigned bin, uint64_t starts, uint64_t pkts)
{
    double wf = weight(n, FAST_S, bin), ws = weight(n, SLOW_S, bin);
    double hit = starts > 0, x = (double)starts;
    e->q_fast += wf * (hit - e->q_fast);
    e->q_slow += ws * (hit - e->q_slow);
    e->m_fast += wf * (x - e->m_fast);
    e->m_slow += ws * (x - e->m_slow);
    e->s_fast += wf * (x * x - e->s_fast);
    e->s_slow += ws * (x * x - e->s_slow);
    e->pps += ws * ((double)pkts / bin - e->pps);
}

/* Independent arrivals per bin, two lower bounds for clustered (bursty) arrivals: from the
 * share of bins with any start, P(empty) = e^(-ν), and mean²/variance. The larger of the
 * two, never above the mean. */
static double clusters(double q, double m, double s)
{
    double occ = -log1p(-(q < Q_MAX ? q : Q_MAX));
    double var = s - m * m;
    double disp = var > 1e-9 ? m * m / var : m;
    return fmin(fmax(occ, disp), m);
}

/* Conversation start rate per second: the lower of the fast and slow estimates. */
static double est_lambda(const struct dir_est *e, unsigned bin)
{
    double f = clusters(e->q_fast, e->m_fast, e->s_fast);
    double s = clusters(e->q_slow, e->m_slow, e->s_slow);
    return fmin(f, s) / bin;
}

/* Silent bins after which direction dir of route r is declared down (0: never). */
static unsigned threshold_bins(const struct detect *d, const struct route_det *r, unsigned dir)
{
    double lambda = est_lambda(&r->est[dir], d->c.bin);
    if (lambda <= 0)
        return 0;
    double t = d->log_inv_alpha / (d->c.margin * lambda);
    if (t > d->c.horizon)
        return 0;
    unsigned bins = (unsigned)ceil(t / d->c.bin);
    return bins ? bins : 1;
}

static void fold(struct detect *d, struct route_det *r, const uint32_t pkts[2],
                 const uint32_t starts[2])
{
    for (unsigned dir = 0; dir < 2; dir++)
        est_add(&r->est[dir], r->learned, d->c.bin, starts[dir], pkts[dir]);
    r->learned++;
}

static void fold_held(struct detect *d, struct route_det *r)
{
    for (; r->held_n; r->held_n--) {
        struct held_bin *h = &r->held[r->held_head];
        fold(d, r, h->pkts, h->starts);
        r->held_head = (r->held_head + 1) % DETECT_PENDING;
    }
}

static void hold(struct detect *d, struct route_det *r, const struct detect_route_bin *b)
{
    if (r->held_n == DETECT_PENDING) { /* the run outlasted the horizon: fold the oldest */
        struct held_bin *h = &r->held[r->held_head];
        fold(d, r, h->pkts, h->starts);
        r->held_head = (r->held_head + 1) % DETECT_PENDING;
        r->held_n--;
    }
    struct held_bin *h = &r->held[(r->held_head + r->held_n++) % DETECT_PENDING];
    for (unsigned dir = 0; dir < 2; dir++) {
        h->pkts[dir] = b->pkts[dir] > UINT32_MAX ? UINT32_MAX : (uint32_t)b->pkts[dir];
        h->starts[dir] = b->starts[dir] > UINT32_MAX ? UINT32_MAX : (uint32_t)b->starts[dir];
    }
}

static void reset_runs(struct route_det *r)
{
    memset(r->run, 0, sizeof r->run);
    memset(r->run_pkts, 0, sizeof r->run_pkts);
    r->held_n = 0;
    r->held_head = 0;
}

static struct event *new_event(struct detect *d, struct event *out, unsigned max, unsigned *n,
                               enum event_kind kind, const char *route)
{
    if (*n >= max)
        return NULL;
    struct event *e = &out[(*n)++];
    memset(e, 0, sizeof *e);
    e->kind = (uint8_t)kind;
    e->duration = -1;
    snprintf(e->route, sizeof e->route, "%s", route);
    snprintf(e->sensor, sizeof e->sensor, "%s", d->sensor);
    return e;
}

static double ratio(double obs, double base)
{
    return base > 0 ? obs / base : 0;
}

/* A route's run in direction dir reached its threshold: down. */
static void route_down(struct detect *d, struct route_det *r, unsigned dir, int64_t end,
                       struct event *out, unsigned max, unsigned *n)
{
    double secs = (double)r->run[dir] * d->c.bin;
    r->state = DS_DOWN;
    r->down_dir = dir;
    r->down_since = r->run_start[dir];
    r->state_since = r->down_since;
    for (unsigned k = 0; k < 2; k++) {
        r->down_base_pps[k] = r->est[k].pps;
        r->down_obs_pps[k] = (double)r->run_pkts[dir][k] / secs;
    }
    r->down_surge =
        r->last_surge != INT64_MIN && r->last_surge >= r->down_since - (int64_t)d->c.surge_window;
    r->up_seen = r->up_window = 0;
    struct event *e = new_event(d, out, max, n, EVENT_ROUTE_DOWN, r->name);
    if (e) {
        e->since = r->down_since;
        e->detected = end;
        e->baseline_pps = r->down_base_pps[IN] + r->down_base_pps[OUT];
        e->observed_pps = r->down_obs_pps[IN] + r->down_obs_pps[OUT];
        e->evidence.in_ratio = ratio(r->down_obs_pps[IN], r->down_base_pps[IN]);
        e->evidence.out_ratio = ratio(r->down_obs_pps[OUT], r->down_base_pps[OUT]);
        e->evidence.surge_before = r->down_surge;
        e->evidence.one_way = dir == OUT && e->evidence.in_ratio >= 0.1;
    }
    reset_runs(r);
}

/* Learning, up or unknown: silent runs, held bins, the baseline, decisions. */
static void route_watch(struct detect *d, struct route_det *r, const struct detect_route_bin *b,
                        int64_t start, bool may_decide, struct event *out, unsigned max,
                        unsigned *n)
{
    int64_t end = start + d->c.bin;
    bool surge = r->learned * d->c.bin >= d->c.warmup && b->pkts[IN] >= SURGE_MIN &&
                 (double)b->pkts[IN] / d->c.bin > d->c.surge * r->est[IN].pps;
    if (surge)
        r->last_surge = end;
    if (b->pkts[IN] || b->pkts[OUT])
        r->last_active = end;
    for (unsigned dir = 0; dir < 2; dir++) {
        if (b->pkts[dir] > 0) {
            r->run[dir] = 0;
            memset(r->run_pkts[dir], 0, sizeof r->run_pkts[dir]);
            continue;
        }
        if (r->run[dir]++ == 0)
            r->run_start[dir] = start;
        r->run_pkts[dir][IN] += b->pkts[IN];
        r->run_pkts[dir][OUT] += b->pkts[OUT];
    }
    if (r->state == DS_UP && may_decide) {
        for (unsigned dir = OUT + 1; dir-- > 0;) { /* the country side first */
            unsigned th = threshold_bins(d, r, dir);
            if (th && r->run[dir] >= th) {
                route_down(d, r, dir, end, out, max, n);
                return;
            }
        }
    }
    if (surge)
        return; /* floods are not learned */
    if (r->state == DS_UP && (r->run[IN] || r->run[OUT])) {
        hold(d, r, b); /* might be the start of an outage: not learned yet */
    } else {
        fold_held(d, r);
        uint32_t p[2] = {(uint32_t)b->pkts[0], (uint32_t)b->pkts[1]};
        uint32_t s[2] = {(uint32_t)b->starts[0], (uint32_t)b->starts[1]};
        fold(d, r, p, s);
    }
}

/* Learning, unknown and up follow the baseline: up while a silence could be decided within
 * the horizon, unknown when the traffic is too thin for that. */
static void route_settle(struct detect *d, struct route_det *r, int64_t end)
{
    if (r->state == DS_DOWN || (uint64_t)r->learned * d->c.bin < d->c.warmup)
        return;
    if (r->state == DS_UP && (r->run[IN] || r->run[OUT]))
        return; /* an undecided silence: the baseline is held, so is the state */
    enum detect_state s =
        threshold_bins(d, r, OUT) || threshold_bins(d, r, IN) ? DS_UP : DS_UNKNOWN;
    if (s != r->state) {
        r->state = s;
        r->state_since = end;
        r->ever_up = r->ever_up || s == DS_UP;
    }
}

/* Down: wait for UP_BINS bins with traffic in the direction that went silent. */
static void route_recover(struct detect *d, struct route_det *r, const struct detect_route_bin *b,
                          int64_t start, struct event *out, unsigned max, unsigned *n)
{
    double q = r->est[r->down_dir].q_slow;
    unsigned window = q > 0 ? (unsigned)ceil(UP_BINS / q) + 1 : 3;
    if (window < 3)
        window = 3;
    if (b->pkts[IN] || b->pkts[OUT])
        r->last_active = start + d->c.bin;
    if (b->pkts[r->down_dir] > 0) {
        if (r->up_seen == 0) {
            r->up_since = start;
            r->up_window = 0;
        }
        r->up_seen++;
    }
    if (r->up_seen)
        r->up_window++;
    if (r->up_seen < UP_BINS) {
        if (r->up_window >= window)
            r->up_seen = 0; /* a stray packet, not a return */
        return;
    }
    r->state = DS_UP;
    r->state_since = r->up_since;
    reset_runs(r);
    struct event *e = new_event(d, out, max, n, EVENT_ROUTE_UP, r->name);
    if (e) {
        e->since = r->up_since;
        e->detected = start + d->c.bin;
        e->duration = r->up_since - r->down_since;
        e->baseline_pps = r->est[IN].pps + r->est[OUT].pps;
        e->observed_pps = (double)(b->pkts[IN] + b->pkts[OUT]) / d->c.bin;
        e->evidence.in_ratio = ratio((double)b->pkts[IN] / d->c.bin, r->est[IN].pps);
        e->evidence.out_ratio = ratio((double)b->pkts[OUT] / d->c.bin, r->est[OUT].pps);
    }
}

/* The sensor: blind when every route and the control series go silent for longer than
 * chance allows, or when capture drops take a large share of a bin. */
static void sensor_watch(struct detect *d, const struct detect_bin *b, struct event *out,
                         unsigned max, unsigned *n)
{
    uint64_t pkts = 0, drops = 0;
    for (unsigned i = 0; i < b->nroutes; i++) {
        pkts += b->routes[i].pkts[0] + b->routes[i].pkts[1] + b->routes[i].ctl_pkts;
        drops += b->routes[i].drops;
    }
    int64_t end = b->start + d->c.bin;
    bool drop_spike =
        drops >= DROPS_MIN && (double)drops > d->c.blind_drops * (double)(pkts + drops);
    if (!d->blind) {
        d->blind_run = pkts ? 0 : d->blind_run + 1;
        double lambda = est_lambda(&d->total, d->c.bin);
        double t = lambda > 0 ? d->log_inv_alpha / (d->c.margin * lambda) : INFINITY;
        unsigned th = (unsigned)fmax(BLIND_MIN, ceil(t / d->c.bin));
        bool learned = (uint64_t)d->total_learned * d->c.bin >= d->c.warmup;
        if (drop_spike || (learned && t <= d->c.horizon && d->blind_run >= th)) {
            d->blind = true;
            d->blind_since = drop_spike ? b->start : end - (int64_t)d->blind_run * d->c.bin;
            d->ok_seen = 0;
            struct event *e = new_event(d, out, max, n, EVENT_SENSOR_BLIND, "*");
            if (e) {
                e->since = d->blind_since;
                e->detected = end;
                e->baseline_pps = d->total.pps;
                e->observed_pps = (double)pkts / d->c.bin;
                e->evidence.ctl_ratio = ratio(e->observed_pps, d->total.pps);
                e->evidence.drops = drops;
            }
            for (unsigned i = 0; i < d->nroutes; i++)
                reset_runs(&d->r[i]);
            return;
        }
        if (pkts && !drop_spike)
            est_add(&d->total, d->total_learned++, d->c.bin, pkts, pkts);
        return;
    }
    d->ok_seen = pkts && !drop_spike ? d->ok_seen + 1 : 0;
    if (d->ok_seen < UP_BINS)
        return;
    d->blind = false;
    d->blind_run = 0;
    struct event *e = new_event(d, out, max, n, EVENT_SENSOR_OK, "*");
    if (e) {
        e->since = end - (int64_t)UP_BINS * d->c.bin;
        e->detected = end;
        e->duration = e->since - d->blind_since;
        e->baseline_pps = d->total.pps;
        e->observed_pps = (double)pkts / d->c.bin;
        e->evidence.ctl_ratio = ratio(e->observed_pps, d->total.pps);
        e->evidence.drops = drops;
    }
}

enum event_cause detect_cause(double coincide_s, int64_t first, int64_t last, double lambda,
                              bool surge, bool unsure)
{
    if (surge)
        return CAUSE_ATTACK;
    if (unsure)
        return CAUSE_UNKNOWN;
    /* A silence begins with the route's last conversation, up to a natural gap early: with
     * sparse traffic "at once" must allow for it (99% of gaps are shorter than ln(100)/λ). */
    double at_once = fmax(coincide_s, lambda > 0 && isfinite(lambda) ? log(100) / lambda : 0);
    if ((double)(last - first) <= at_once)
        return CAUSE_INTERNAL;
    return CAUSE_UPSTREAM;
}

static enum event_cause country_cause(const struct detect *d, int64_t *since)
{
    int64_t first = INT64_MAX, last = INT64_MIN;
    double lambda = INFINITY;
    bool surge = false, unsure = false;
    for (unsigned i = 0; i < d->nroutes; i++) {
        const struct route_det *r = &d->r[i];
        if (r->state != DS_DOWN) {
            unsure = unsure || r->last_active > 0; /* not judged, but carried traffic */
            continue;
        }
        first = r->down_since < first ? r->down_since : first;
        last = r->down_since > last ? r->down_since : last;
        surge = surge || r->down_surge;
        lambda = fmin(lambda, est_lambda(&r->est[r->down_dir], d->c.bin));
    }
    *since = last;
    return detect_cause((double)d->c.coincide * d->c.bin, first, last, lambda, surge, unsure);
}

static void country_down(struct detect *d, int64_t end, struct event *out, unsigned max,
                         unsigned *n)
{
    struct event_evidence ev = {0};
    double base[2] = {0, 0}, obs[2] = {0, 0};
    bool one_way = true;
    int64_t since;
    enum event_cause cause = country_cause(d, &since);

    for (unsigned i = 0; i < d->nroutes; i++) {
        const struct route_det *r = &d->r[i];
        if (r->state == DS_DOWN) {
            ev.routes_silent++;
            for (unsigned k = 0; k < 2; k++) {
                base[k] += r->down_base_pps[k];
                obs[k] += r->down_obs_pps[k];
            }
            one_way = one_way && r->down_dir == OUT &&
                      ratio(r->down_obs_pps[IN], r->down_base_pps[IN]) >= 0.1;
        }
        ev.routes_total += r->ever_up && (r->state == DS_UP || r->state == DS_DOWN);
    }
    ev.in_ratio = ratio(obs[IN], base[IN]);
    ev.out_ratio = ratio(obs[OUT], base[OUT]);
    ev.surge_before = cause == CAUSE_ATTACK;
    ev.one_way = one_way;
    d->country = DS_DOWN;
    d->country_since = since;
    struct event *e = new_event(d, out, max, n, EVENT_COUNTRY_DOWN, "*");
    if (e) {
        e->since = since;
        e->detected = end;
        e->baseline_pps = base[IN] + base[OUT];
        e->observed_pps = obs[IN] + obs[OUT];
        e->cause = (uint8_t)cause;
        e->evidence = ev;
    }
}

enum detect_state detect_country_next(enum detect_state now, const struct detect_route_status *rs,
                                      unsigned n, struct detect_country_tally *t)
{
    int64_t first_down = INT64_MAX, other_active = INT64_MIN;

    t->up = t->down = 0;
    t->back = INT64_MAX;
    for (unsigned i = 0; i < n; i++) {
        t->up += rs[i].state == DS_UP;
        t->down += rs[i].state == DS_DOWN;
        if (rs[i].state == DS_UP && rs[i].since < t->back)
            t->back = rs[i].since;
        if (rs[i].state == DS_DOWN && rs[i].down_since < first_down)
            first_down = rs[i].down_since;
        if ((rs[i].state == DS_LEARNING || rs[i].state == DS_UNKNOWN) &&
            rs[i].last_active > other_active)
            other_active = rs[i].last_active;
    }
    /* a route we cannot judge that still carried traffic during the silence: not dark */
    if (t->down && other_active > first_down)
        t->down = 0;
    if (now == DS_LEARNING && t->up)
        return DS_UP;
    if (now == DS_UP && !t->up && t->down)
        return DS_DOWN;
    if (now == DS_DOWN && t->up)
        return DS_UP;
    return now;
}

/* The country: down when every route that was up is down; up when one comes back. */
static void country_watch(struct detect *d, int64_t end, struct event *out, unsigned max,
                          unsigned *n)
{
    struct detect_route_status rs[DETECT_ROUTES_MAX];
    struct detect_country_tally t;

    for (unsigned i = 0; i < d->nroutes; i++)
        rs[i] = (struct detect_route_status){.state = d->r[i].state,
                                             .since = d->r[i].state_since,
                                             .down_since = d->r[i].down_since,
                                             .last_active = d->r[i].last_active};
    enum detect_state next = detect_country_next(d->country, rs, d->nroutes, &t);
    if (next == d->country)
        return;
    if (d->country == DS_LEARNING) {
        d->country = DS_UP;
        d->country_since = end;
    } else if (next == DS_DOWN) {
        country_down(d, end, out, max, n);
    } else {
        struct event *e = new_event(d, out, max, n, EVENT_COUNTRY_UP, "*");
        if (e) {
            e->since = t.back;
            e->detected = end;
            e->duration = t.back - d->country_since;
            for (unsigned i = 0; i < d->nroutes; i++) {
                e->baseline_pps += d->r[i].est[IN].pps + d->r[i].est[OUT].pps;
                e->observed_pps += d->r[i].last_pps;
            }
            e->evidence.routes_total = t.up + t.down;
            e->evidence.routes_silent = t.down;
        }
        d->country = DS_UP;
        d->country_since = t.back;
    }
}

static int told_find(const struct detect_told *t, const char *route)
{
    for (unsigned i = 0; i < t->n; i++)
        if (strcmp(t->route[i], route) == 0)
            return (int)i;
    return -1;
}

unsigned detect_subsume(struct event *ev, unsigned n, struct detect_told *told)
{
    bool down = false, up = false;
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        down = down || ev[i].kind == EVENT_COUNTRY_DOWN;
        up = up || ev[i].kind == EVENT_COUNTRY_UP;
    }
    for (unsigned i = 0; i < n; i++) {
        int at = -1;
        if (ev[i].kind == EVENT_ROUTE_DOWN || ev[i].kind == EVENT_ROUTE_UP)
            at = told_find(told, ev[i].route);
        if (ev[i].kind == EVENT_ROUTE_UP && at >= 0) { /* its down was told: so is its up */
            told->n--;
            memcpy(told->route[at], told->route[told->n], sizeof told->route[at]);
        } else if ((down && ev[i].kind == EVENT_ROUTE_DOWN) ||
                   (up && ev[i].kind == EVENT_ROUTE_UP)) {
            continue;
        } else if (ev[i].kind == EVENT_ROUTE_DOWN && at < 0 && told->n < DETECT_TOLD_MAX) {
            memcpy(told->route[told->n++], ev[i].route, sizeof told->route[0]);
        }
        ev[k++] = ev[i];
    }
    return k;
}

unsigned detect_feed(struct detect *d, const struct detect_bin *b, struct event *out, unsigned max)
{
    unsigned n = 0;
    int64_t end = b->start + d->c.bin;

    if (b->partial || b->nroutes != d->nroutes)
        return 0;
    if (b->after_jump) {
        for (unsigned i = 0; i < d->nroutes; i++)
            reset_runs(&d->r[i]);
        d->blind_run = 0;
    }
    bool was_blind = d->blind;
    sensor_watch(d, b, out, max, &n);
    if (d->blind || was_blind)
        return n;
    uint64_t seen = 0;
    for (unsigned i = 0; i < d->nroutes; i++)
        seen += b->routes[i].pkts[0] + b->routes[i].pkts[1] + b->routes[i].ctl_pkts;
    for (unsigned i = 0; i < d->nroutes; i++) {
        struct route_det *r = &d->r[i];
        for (unsigned k = 0; k < 2; k++)
            r->last_dir_pps[k] = (double)b->routes[i].pkts[k] / d->c.bin;
        r->last_pps = r->last_dir_pps[IN] + r->last_dir_pps[OUT];
        if (r->state == DS_DOWN)
            route_recover(d, r, &b->routes[i], b->start, out, max, &n);
        else
            route_watch(d, r, &b->routes[i], b->start, seen > 0, out, max, &n);
        route_settle(d, r, end);
    }
    country_watch(d, end, out, max, &n);
    return detect_subsume(out, n, &d->told);
}

void detect_route_status(const struct detect *d, unsigned route, struct detect_route_status *st)
{
    const struct route_det *r = &d->r[route];
    memset(st, 0, sizeof *st);
    st->state = d->blind ? DS_BLIND : r->state;
    st->since = d->blind ? d->blind_since : r->state_since;
    st->baseline_pps = r->est[IN].pps + r->est[OUT].pps;
    st->observed_pps = r->last_pps;
    unsigned th = threshold_bins(d, r, OUT);
    st->threshold_s = th ? (double)th * d->c.bin : INFINITY;
    st->lambda = est_lambda(&r->est[OUT], d->c.bin);
    st->last_active = r->last_active;
    for (unsigned k = 0; k < 2; k++) {
        st->baseline_dir_pps[k] = r->est[k].pps;
        st->observed_dir_pps[k] = r->last_dir_pps[k];
    }
    if (r->state != DS_DOWN)
        return;
    st->down_since = r->down_since;
    st->down_lambda = est_lambda(&r->est[r->down_dir], d->c.bin);
    for (unsigned k = 0; k < 2; k++) {
        st->down_base_pps[k] = r->down_base_pps[k];
        st->down_obs_pps[k] = r->down_obs_pps[k];
    }
    st->surge_before = r->down_surge;
    st->one_way = r->down_dir == OUT && ratio(r->down_obs_pps[IN], r->down_base_pps[IN]) >= 0.1;
}

const struct detect_config *detect_config_of(const struct detect *d)
{
    return &d->c;
}

void detect_country_status(const struct detect *d, struct detect_route_status *st)
{
    memset(st, 0, sizeof *st);
    st->state = d->blind ? DS_BLIND : d->country;
    st->since = d->blind ? d->blind_since : d->country_since;
    for (unsigned i = 0; i < d->nroutes; i++) {
        st->baseline_pps += d->r[i].est[IN].pps + d->r[i].est[OUT].pps;
        st->observed_pps += d->r[i].last_pps;
    }
    st->threshold_s = INFINITY;
}
