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
    if (!b || !(b->m = metrics_new(SENSOR_ACCOUNTS_MAX + 1))) {
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

/* The route in force that counts into account a, or -1 (a route a reload removed). */
static int route_of_account(const struct sensor *s, unsigned a)
{
    for (unsigned r = 0; r < s->routes.nroutes; r++)
        if (s->account[r] == a)
            return (int)r;
    return -1;
}

/* One row per route name counted, then the country's row. Names are copied with text_copy:
 * a replay publishes at every bin, and snprintf would be most of the cost. */
static void fill_rows(struct metrics_snapshot *snap, const struct sensor *s)
{
    struct detect_route_status st, sum = {0};

    for (unsigned a = 0; a < s->naccounts; a++) {
        const struct route_total *t = &s->totals[a];
        struct metrics_row *r = metrics_add_row(snap);
        struct metrics_count *c = metrics_add_control(snap);
        if (!r || !c)
            return;
        text_copy(r->country, sizeof r->country, s->opt->country);
        text_copy(r->route, sizeof r->route, s->account_names[a]);
        r->counted = true;
        r->pkts[0] = t->pkts_in;
        r->pkts[1] = t->pkts_out;
        r->bytes[0] = t->bytes_in;
        r->bytes[1] = t->bytes_out;
        r->flows = t->flows;
        text_copy(c->name, sizeof c->name, s->account_names[a]);
        c->n = t->ctl_pkts;
        int route = route_of_account(s, a);
        if (route < 0)
            continue;
        detect_route_status(s->det, (unsigned)route, &st);
        judge(r, &st);
        for (unsigned d = 0; d < 2; d++) {
            sum.baseline_dir_pps[d] += st.baseline_dir_pps[d];
            sum.observed_dir_pps[d] += st.observed_dir_pps[d];
        }
    }
    struct metrics_row *r = metrics_add_row(snap);
    if (!r)
        return;
    detect_country_status(s->det, &st);
    memcpy(st.baseline_dir_pps, sum.baseline_dir_pps, sizeof st.baseline_dir_pps);
    memcpy(st.observed_dir_pps, sum.observed_dir_pps, sizeof st.observed_dir_pps);
    text_copy(r->country, sizeof r->country, s->opt->country);
    text_copy(r->route, sizeof r->route, "*");
    judge(r, &st);
    snap->blind = st.state == DS_BLIND;
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
