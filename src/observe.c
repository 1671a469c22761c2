/* observe — the sensor's state as Prometheus metrics. See observe.h. */
#include "observe.h"

#include "log.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct observe {
    struct metrics *m;
    bool published;             /* a snapshot went out */
    uint64_t bins;              /* s->bins_emitted when it went out */
    uint64_t at_ms;             /* and when (monotonic) */
    int64_t open;               /* the latest open bin start seen, INT64_MIN before one */
    int64_t last_end;           /* the end of the last closed bin, INT64_MIN before one */
    uint64_t emitted;           /* s->bins_emitted when last_end was set */
    struct backlog_stats redis; /* the Redis writer's, read at most every OBSERVE_REDIS_MS */
    uint64_t redis_ms;          /* when (monotonic) */
    bool have_redis;
};

int observe_open(struct observe **ob, const struct options *o, char *err, size_t errlen)
{
    *ob = NULL;
    if (!o->metrics)
        return 0;
    struct observe *b = calloc(1, sizeof *b);
    if (b)
        b->m = metrics_new(OBSERVE_ROWS_MAX);
    if (!b || !b->m) {
        free(b);
        snprintf(err, errlen, "out of memory for the metrics endpoint");
        return -1;
    }
    if (metrics_listen(b->m, o->metrics, err, errlen) < 0) {
        observe_free(b);
        return -1;
    }
    b->open = b->last_end = INT64_MIN;
    LOG(LOG_NOTICE, "metrics at %s", metrics_url(b->m));
    *ob = b;
    return 0;
}

static uint8_t state_of(enum detect_state st)
{
    switch (st) {
    case DS_LEARNING:
        return METRICS_LEARNING;
    case DS_UP:
        return METRICS_UP;
    case DS_DOWN:
        return METRICS_DOWN;
    case DS_UNKNOWN:
    case DS_BLIND: /* nothing can be said of a route while the sensor is blind */
        break;
    }
    return METRICS_UNKNOWN;
}

static void judge(struct metrics_row *r, const struct detect_route_status *st)
{
    r->judged = true;
    r->state = state_of(st->state);
    r->expected_pps = st->baseline_pps;
    r->observed_pps = st->observed_pps;
    for (unsigned d = 0; d < 2; d++) {
        r->expected_dir_pps[d] = st->baseline_dir_pps[d];
        r->observed_dir_pps[d] = st->observed_dir_pps[d];
    }
}

/* One row per (country, route) pair counted in this run, the pair's cumulative totals and,
 * for the routes in force, its detector state; after each country's pairs, the country's
 * row (route "*"); the control series per route name. Names are copied with text_copy: a
 * replay publishes at every bin, and snprintf would be most of the cost. */
static void fill_country(struct metrics_snapshot *snap, const struct sensor *s, unsigned c)
{
    const struct sensor_country *sc = &s->countries[c];
    struct detect_route_status st, sum = {0};

    for (unsigned p = 0; p < s->npairs; p++) {
        const struct sensor_pair *sp = &s->pairs[p];
        if (sp->country != c)
            continue;
        struct metrics_row *r = metrics_add_row(snap);
        if (!r)
            return;
        text_copy(r->country, sizeof r->country, sc->code);
        text_copy(r->route, sizeof r->route, sp->route_name);
        r->counted = true;
        r->pkts[0] = sp->total.pkts_in;
        r->pkts[1] = sp->total.pkts_out;
        r->bytes[0] = sp->total.bytes_in;
        r->bytes[1] = sp->total.bytes_out;
        r->flows = sp->total.flows_new;
        if (sp->route < 0 || !sc->det || !sc->watched)
            continue;
        detect_route_status(sc->det, (unsigned)sp->route, &st);
        judge(r, &st);
        for (unsigned d = 0; d < 2; d++) {
            sum.baseline_dir_pps[d] += st.baseline_dir_pps[d];
            sum.observed_dir_pps[d] += st.observed_dir_pps[d];
        }
    }
    struct metrics_row *r = sc->det ? metrics_add_row(snap) : NULL;
    if (!r)
        return;
    detect_country_status(sc->det, &st);
    memcpy(st.baseline_dir_pps, sum.baseline_dir_pps, sizeof st.baseline_dir_pps);
    memcpy(st.observed_dir_pps, sum.observed_dir_pps, sizeof st.observed_dir_pps);
    text_copy(r->country, sizeof r->country, sc->code);
    text_copy(r->route, sizeof r->route, "*");
    judge(r, &st);
    if (c == 0) /* the first country speaks for the sensor (sensor.h) */
        snap->blind = st.state == DS_BLIND;
}

static void fill_rows(struct metrics_snapshot *snap, const struct sensor *s)
{
    for (unsigned c = 0; c < s->ncountries; c++)
        fill_country(snap, s, c);
    for (unsigned a = 0; a < s->naccounts; a++) {
        struct metrics_count *c = metrics_add_control(snap);
        if (!c)
            return;
        text_copy(c->name, sizeof c->name, s->account_names[a]);
        c->n = s->totals[a].ctl_pkts;
    }
}

static void fill_redis(struct metrics_snapshot *snap, const struct backlog_stats *st)
{
    struct metrics_histogram *h = &snap->flush;

    if (!st)
        return;
    snap->redis = true;
    snap->redis_connected = st->connected;
    snap->backlog_bins = st->pending_bins;
    h->nbounds = BACKLOG_FLUSH_BUCKETS;
    for (unsigned i = 0; i < BACKLOG_FLUSH_BUCKETS; i++)
        h->bounds[i] = backlog_flush_bounds[i];
    for (unsigned i = 0; i <= BACKLOG_FLUSH_BUCKETS; i++)
        h->counts[i] = st->flush_rounds[i];
    h->sum = st->flush_seconds;
}

void observe_fill(struct metrics_snapshot *snap, const struct sensor *s,
                  const struct observe_iface *ifs, unsigned nifs, int64_t last_bin_end,
                  const struct backlog_stats *redis)
{
    text_copy(snap->sensor, sizeof snap->sensor, s->opt->sensor);
    fill_rows(snap, s);
    for (unsigned i = 0; i < DECODE_NSTATUS && i < METRICS_DECODE_MAX; i++) {
        struct metrics_count *c = &snap->decode[snap->ndecode++];
        text_copy(c->name, sizeof c->name, decode_status_name((enum decode_status)i));
        c->n = s->decode[i];
    }
    for (unsigned i = 0; i < nifs && i < METRICS_IFACES_MAX; i++) {
        struct metrics_count *c = &snap->ifaces[snap->nifaces++];
        text_copy(c->name, sizeof c->name, ifs[i].name);
        c->n = ifs[i].drops;
    }
    fill_redis(snap, redis);
    snap->have_bin = last_bin_end != INT64_MIN;
    snap->last_bin_end = last_bin_end;
}

/* The end of the last closed bin: where the open bin starts, or, once the open bin was
 * flushed at the end of input (no clock any more), the end of that last (partial) bin. */
static void track_bins(struct observe *ob, const struct sensor *s)
{
    int64_t open = bins_open_start(s->bins);

    if (s->bins_emitted == ob->emitted)
        return;
    ob->emitted = s->bins_emitted;
    if (open != INT64_MIN)
        ob->last_end = open;
    else if (ob->open != INT64_MIN)
        ob->last_end = ob->open + (int64_t)s->opt->bin;
    ob->open = open;
}

void observe_update(struct observe *ob, const struct sensor *s, const struct observe_iface *ifs,
                    unsigned nifs, bool force)
{
    if (!ob)
        return;
    track_bins(ob, s);
    uint64_t now = log_now_ms();
    if (!force && ob->published && s->bins_emitted == ob->bins && now - ob->at_ms < OBSERVE_MAX_MS)
        return;
    if (s->sink && (force || !ob->have_redis || now - ob->redis_ms >= OBSERVE_REDIS_MS)) {
        sink_stats(s->sink, &ob->redis); /* walks the backlog: not for every bin of a replay */
        ob->redis_ms = now;
        ob->have_redis = true;
    }
    observe_fill(metrics_back(ob->m), s, ifs, nifs, ob->last_end,
                 ob->have_redis ? &ob->redis : NULL);
    metrics_publish(ob->m);
    ob->published = true;
    ob->bins = s->bins_emitted;
    ob->at_ms = now;
}

void observe_free(struct observe *ob)
{
    if (!ob)
        return;
    metrics_free(ob->m);
    free(ob);
}
