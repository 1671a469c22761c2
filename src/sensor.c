/* sensor — the per-packet pipeline. See sensor.h. */
#include "sensor.h"

#include "geoip.h"
#include "history.h"
#include "log.h"
#include "query.h"
#include "redis.h"
#include "source.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of flush units held for Redis: a capture rides out a long outage; a replay waits for
 * the writer instead, and a few seconds of lead are all it needs. */
#define SINK_BACKLOG_BYTES   ((size_t)1 << 30)
#define REPLAY_BACKLOG_BYTES ((size_t)16 << 20)

/* Flows ended and waiting for their labels from the classifier, at most. */
#define ENDED_MAX 8192u

/* A flow as it ended, and the label the classifier writes for it. */
struct ended_flow {
    struct flow f;
    enum flow_end why;
    uint64_t ticket; /* 0: the label is in res already */
    struct classify_result res;
};

/* The sources the options name, in the order that settles equal prefixes: the RIR files,
 * the MaxMind DB, the prefix file (the later wins); none: the built-in sets. */
static int load_sources(struct prefix_set *p, const struct options *o, char *err, size_t errlen)
{
    char codes[PREFIX_COUNTRIES_MAX][3];
    int n = prefix_country_list(o->country, codes, PREFIX_COUNTRIES_MAX, err, errlen);

    if (n < 0)
        return -1;
    for (unsigned i = 0; i < o->rir.n; i++) {
        int m = source_load_rir(p, o->rir.v[i], err, errlen);
        if (m < 0)
            return -1;
        if (m == 0) {
            snprintf(err, errlen, "%s: no allocated or assigned address lines", o->rir.v[i]);
            return -1;
        }
    }
    if (o->geoip && geoip_load(p, o->geoip, err, errlen) < 0)
        return -1;
    if (o->prefixes) {
        int m = source_load_prefixes(p, o->prefixes, n == 1 ? codes[0] : NULL, err, errlen);
        if (m < 0)
            return -1;
        if (m == 0) {
            snprintf(err, errlen, "%s: no prefixes in the file", o->prefixes);
            return -1;
        }
    }
    if (o->rir.n || o->geoip || o->prefixes)
        return 0;
    if (n == 0)
        return prefix_load_builtin(p, "KP", err, errlen);
    for (int i = 0; i < n; i++)
        if (prefix_load_builtin(p, codes[i], err, errlen) < 0)
            return -1;
    return 0;
}

struct prefix_set *sensor_load_country(const struct options *o, char *err, size_t errlen)
{
    struct prefix_set *p = prefix_new();

    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (load_sources(p, o, err, errlen) < 0 || prefix_finish(p, o->country, err, errlen) < 0)
        goto err;
    struct prefix_stats st = prefix_stats(p);
    if (st.zz)
        LOG(LOG_INFO, "%llu prefixes of country ZZ (unknown) skipped", (unsigned long long)st.zz);
    if (st.conflicts)
        LOG(LOG_INFO, "%llu prefixes given two countries: the later source's kept",
            (unsigned long long)st.conflicts);
    return p;
err:
    prefix_free(p);
    return NULL;
}

int sensor_build_routes(struct route_table *t, const struct options *o, char *err, size_t errlen)
{
    route_init(t);
    for (unsigned i = 0; i < o->routes.n; i++)
        if (route_add(t, o->routes.v[i], err, errlen) < 0)
            return -1;
    return route_finish(t, err, errlen);
}

static int flows_init(struct sensor *s, const struct options *o, char *err, size_t errlen)
{
    const struct flow_timeouts to = {
        .idle_us = (int64_t)o->flow_idle * 1000000,
        .closing_us = (int64_t)(o->flow_idle < 10 ? o->flow_idle : 10) * 1000000,
        .active_us = (int64_t)o->flow_active * 1000000,
    };
    const struct classify_config cc = {
        .max_active = (uint32_t)o->max_flows,
        .tcp_pkts = (unsigned)o->dpi_tcp,
        .udp_pkts = (unsigned)o->dpi_udp,
        .extra = o->dpi_extra > 0, /* labels refined after detection, as ndpiReader does */
        .extra_pkts = (unsigned)o->dpi_extra,
        .budget = (uint32_t)o->dpi_budget,
    };

    s->flows = flow_new((uint32_t)o->max_flows, &to);
    if (!s->flows) {
        snprintf(err, errlen, "out of memory for %llu flows (--max-flows)",
                 (unsigned long long)o->max_flows);
        return -1;
    }
    s->ended = calloc(ENDED_MAX, sizeof *s->ended);
    if (!s->ended) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->cls = classify_new(&cc, err, errlen);
    if (!s->cls)
        return -1;
    s->nlabels = classify_nlabels(s->cls);
    s->expired_at = INT64_MIN;
    return 0;
}

/* Room for n entries in a growing array of elements of size `size` (doubling). */
static int grow(void **arr, unsigned *cap, unsigned n, size_t size)
{
    if (n <= *cap)
        return 0;
    unsigned c = *cap ? *cap : 8;
    while (c < n)
        c *= 2;
    void *p = realloc(*arr, (size_t)c * size);
    if (!p)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

int sensor_country(struct sensor *s, const char *code)
{
    for (unsigned c = 0; c < s->ncountries; c++)
        if (strcmp(s->countries[c].code, code) == 0)
            return (int)c;
    if (s->ncountries == SENSOR_COUNTRIES_MAX || grow((void **)&s->countries, &s->cap_countries,
                                                      s->ncountries + 1, sizeof *s->countries) < 0)
        return -1;
    struct sensor_country *sc = &s->countries[s->ncountries];
    memset(sc, 0, sizeof *sc);
    snprintf(sc->code, sizeof sc->code, "%s", code);
    sc->watched = true;
    sc->det = detect_new(&s->dc, s->routes.nroutes, s->route_names, s->opt->sensor);
    if (!sc->det)
        return -1;
    unsigned c = s->ncountries++;
    for (unsigned r = 0; !s->all_countries && r < s->routes.nroutes; r++)
        sensor_pair(s, c, r); /* a named country's silence counts from the start */
    return (int)c;
}

int sensor_pair(struct sensor *s, unsigned country, unsigned route)
{
    uint16_t *slot = &s->pair_of[country * ROUTE_MAX + route];
    if (*slot != SENSOR_NO_ID)
        return *slot;
    const char *name = s->routes.names[route];
    for (unsigned p = 0; p < s->npairs; p++) /* a pair whose route a reload took away, back */
        if (s->pairs[p].country == country && s->pairs[p].route < 0 &&
            strcmp(s->pairs[p].route_name, name) == 0) {
            s->pairs[p].route = (int)route;
            *slot = (uint16_t)p;
            if (s->sink)
                sink_pair_live(s->sink, p, true);
            return (int)p;
        }
    unsigned p = s->npairs, cap = s->cap_pairs;
    if (p >= SENSOR_NO_ID || grow((void **)&s->pairs, &s->cap_pairs, p + 1, sizeof *s->pairs) < 0 ||
        grow((void **)&s->protos, &cap, p + 1, s->nlabels * sizeof *s->protos) < 0)
        return -1;
    memset(s->protos + (size_t)p * s->nlabels, 0, s->nlabels * sizeof *s->protos);
    if (bins_add_row(s->bins, route) != (int)p)
        return -1;
    if (s->sink && sink_pair(s->sink, p, s->countries[country].code, name) < 0)
        return -1; /* a row without its sink pair: the caps of both are the same */
    s->pairs[p] = (struct sensor_pair){.country = (uint16_t)country, .route = (int)route};
    snprintf(s->pairs[p].route_name, sizeof s->pairs[p].route_name, "%s", name);
    s->npairs++;
    *slot = (uint16_t)p;
    return (int)p;
}

/* The countries of the set: ids of those named by --country made now (every route), the
 * others at their first packet. Returns 0, or -1 with err. */
static int countries_init(struct sensor *s, char *err, size_t errlen)
{
    unsigned n = prefix_ncountries(s->country);

    s->country_id = malloc((n + 1) * sizeof *s->country_id);
    s->pair_of = malloc((size_t)SENSOR_COUNTRIES_MAX * ROUTE_MAX * sizeof *s->pair_of);
    if (!s->country_id || !s->pair_of) {
        snprintf(err, errlen, "out of memory for the countries");
        return -1;
    }
    memset(s->pair_of, 0xff, (size_t)SENSOR_COUNTRIES_MAX * ROUTE_MAX * sizeof *s->pair_of);
    for (unsigned i = 0; i <= n; i++)
        s->country_id[i] = SENSOR_NO_ID;
    for (unsigned i = 1; !s->all_countries && i <= n; i++) {
        int c = sensor_country(s, prefix_country_code(s->country, i));
        if (c < 0) {
            snprintf(err, errlen, "out of memory for country %s",
                     prefix_country_code(s->country, i));
            return -1;
        }
        s->country_id[i] = (uint16_t)c;
    }
    return 0;
}

int sensor_init(struct sensor *s, const struct options *o, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->opt = o;
    report_init(&s->rep, o->sensor, o->json, o->quiet, o->flows);
    s->decode_flags = strcmp(o->tunnels, "off") == 0 ? 0 : DECODE_TUNNELS;
    if (sensor_build_routes(&s->routes, o, err, errlen) < 0)
        return -1;
    for (unsigned r = 0; r < s->routes.nroutes; r++) {
        s->account[r] = (unsigned)sensor_account(s, s->routes.names[r]);
        s->route_names[r] = s->routes.names[r];
    }
    s->country = sensor_load_country(o, err, errlen);
    if (!s->country)
        return -1;
    s->bins = bins_new(s->routes.nroutes, (unsigned)o->bin, (unsigned)o->host_cap);
    if (!s->bins) {
        snprintf(err, errlen, "out of memory for bins");
        return -1;
    }
    if (flows_init(s, o, err, errlen) < 0)
        return -1;
    detect_defaults(&s->dc, (unsigned)o->bin);
    s->dc.warmup = (unsigned)o->warmup;
    s->dc.horizon = (unsigned)o->horizon;
    s->dc.alarms_per_month = o->false_alarms;
    s->dc.down_below = o->down_below;
    s->dc.up_above = o->up_above;
    s->all_countries = strcmp(o->country, "all") == 0;
    /* the configuration is checked now, also when no country shows up to need a detector */
    struct detect *probe = detect_new(&s->dc, s->routes.nroutes, s->route_names, o->sensor);
    detect_free(probe);
    if (!probe) {
        snprintf(err, errlen, "cannot start the detector (bad --false-alarms or out of memory)");
        return -1;
    }
    if (countries_init(s, err, errlen) < 0)
        return -1;
    LOG(LOG_INFO, "countries: %u, %llu IPv4 addresses, %zu IPv6 ranges; %u routes",
        prefix_ncountries(s->country), (unsigned long long)prefix_v4_addresses(s->country),
        prefix_v6_ranges(s->country), s->routes.nroutes);
    return 0;
}

int sensor_account(struct sensor *s, const char *name)
{
    for (unsigned a = 0; a < s->naccounts; a++)
        if (strcmp(s->account_names[a], name) == 0)
            return (int)a;
    if (s->naccounts == SENSOR_ACCOUNTS_MAX)
        return -1;
    snprintf(s->account_names[s->naccounts], ROUTE_NAME_MAX, "%s", name);
    return (int)s->naccounts++;
}

/* One country's view of a closed bin: its pairs' counters, zero on the routes where it has
 * none, the routes' control series everywhere. */
static void country_bin(const struct sensor *s, unsigned c, const struct bin_view *v,
                        struct detect_route_bin *rb)
{
    for (unsigned r = 0; r < s->routes.nroutes; r++) {
        uint16_t p = s->pair_of[c * ROUTE_MAX + r];
        const struct bin_counts *k = p != SENSOR_NO_ID ? &v->rows[p] : NULL;
        rb[r] = (struct detect_route_bin){.ctl_pkts = v->ctl_pkts[r], .drops = v->drops[r]};
        if (k) {
            rb[r].pkts[0] = k->pkts_in;
            rb[r].pkts[1] = k->pkts_out;
            rb[r].starts[0] = k->starts_in;
            rb[r].starts[1] = k->starts_out;
        }
    }
}

/* A country's states after a bin: each route it has a pair on, then the country. */
static void country_states(struct sensor *s, unsigned c)
{
    const struct sensor_country *sc = &s->countries[c];
    struct detect_route_status st;

    for (unsigned r = 0; r < s->routes.nroutes; r++) {
        if (s->pair_of[c * ROUTE_MAX + r] == SENSOR_NO_ID)
            continue;
        detect_route_status(sc->det, r, &st);
        sink_route_state(s->sink, sc->code, s->routes.names[r], detect_state_name(st.state),
                         st.since, st.baseline_pps, st.observed_pps);
    }
    detect_country_status(sc->det, &st);
    sink_route_state(s->sink, sc->code, "*", detect_state_name(st.state), st.since, st.baseline_pps,
                     st.observed_pps);
}

/* Every country's detector over a closed bin; the events go out as JSON lines and to Redis
 * with this bin's flush, and so do the states. The first country speaks for the sensor. */
static void run_detectors(struct sensor *s, const struct bin_view *v)
{
    struct detect_route_bin rb[ROUTE_MAX];
    struct event ev[2 * ROUTE_MAX + 4];

    for (unsigned c = 0; c < s->ncountries; c++) {
        const struct sensor_country *sc = &s->countries[c];
        if (!sc->det || !sc->watched)
            continue;
        country_bin(s, c, v, rb);
        const struct detect_bin b = {.start = v->start,
                                     .len = v->len,
                                     .partial = v->partial,
                                     .after_jump = v->after_jump,
                                     .nroutes = s->routes.nroutes,
                                     .routes = rb};
        unsigned n = detect_feed(sc->det, &b, ev, sizeof ev / sizeof ev[0]);
        for (unsigned i = 0; i < n; i++) {
            bool own = ev[i].kind == EVENT_SENSOR_BLIND || ev[i].kind == EVENT_SENSOR_OK;
            if (own && c > 0)
                continue;
            snprintf(ev[i].country, sizeof ev[i].country, "%s", own ? "*" : sc->code);
            s->events++;
            report_event(&s->rep, &ev[i]);
            if (s->sink)
                sink_event(s->sink, &ev[i]);
        }
        if (s->sink)
            country_states(s, c);
    }
}

/* Every closed bin: totals, then the reports. */
static void on_bin(void *ctx, const struct bin_view *v)
{
    struct sensor *s = ctx;

    for (unsigned p = 0; p < v->nrows && p < s->npairs; p++) {
        struct sensor_pair *sp = &s->pairs[p];
        if (sp->route < 0)
            continue;
        bin_counts_add(&sp->total, &v->rows[p]);
        struct bin_counts *t = &s->totals[s->account[sp->route]];
        uint64_t ctl = t->ctl_pkts, drops = t->drops;
        bin_counts_add(t, &v->rows[p]);
        t->ctl_pkts = ctl; /* the control series is the route's, counted once below */
        t->drops = drops;
    }
    for (unsigned r = 0; r < v->nroutes; r++) {
        s->totals[s->account[r]].ctl_pkts += v->ctl_pkts[r];
        s->totals[s->account[r]].drops += v->drops[r];
    }
    s->bins_emitted++;
    if (s->rep.json_lines &&
        grow((void **)&s->rows, &s->cap_rows, s->npairs, sizeof *s->rows) == 0) {
        for (unsigned p = 0; p < s->npairs; p++)
            s->rows[p] = (struct report_row){
                .country = s->countries[s->pairs[p].country].code,
                .route = s->pairs[p].route >= 0 ? s->pairs[p].route_name : NULL};
        report_bin(&s->rep, v, s->rows);
    }
    run_detectors(s, v);
    if (s->sink) {
        sink_bin(s->sink, v);
        char err[8];
        s->stop = s->stop || sink_failed(s->sink, err, sizeof err);
    }
}

int sensor_start_sink(struct sensor *s, char *err, size_t errlen)
{
    const struct options *o = s->opt;
    struct sink_config c = {
        .timeout_ms = (unsigned)o->redis_timeout,
        .prefix = o->redis_prefix,
        .sensor = o->sensor,
        .backlog = (unsigned)o->backlog,
        .backlog_bytes = o->cmd == CMD_REPLAY ? REPLAY_BACKLOG_BYTES : SINK_BACKLOG_BYTES,
        .wait_when_full = o->cmd == CMD_REPLAY,
        .retention = o->retention,
        .stream_maxlen = o->stream_maxlen,
        .alerts_maxlen = o->stream_maxlen / 10 > 1000 ? o->stream_maxlen / 10 : 1000,
        .heartbeat_ttl = 3 * o->bin > 60 ? 3 * o->bin : 60,
    };

    if (o->no_redis)
        return 0;
    if (config_redis_url(o, &c.url, err, errlen) < 0)
        return -1;
    c.min_replicas = config_min_replicas(o, &c.url);
    s->sink = sink_new(&c, err, errlen);
    memset(&c.url, 0, sizeof c.url);
    for (unsigned p = 0; s->sink && p < s->npairs; p++) {
        const struct sensor_pair *sp = &s->pairs[p];
        if (sink_pair(s->sink, p, s->countries[sp->country].code, sp->route_name) < 0) {
            snprintf(err, errlen, "out of memory for the Redis sink");
            return -1;
        }
        sink_pair_live(s->sink, p, sp->route >= 0);
    }
    return s->sink ? 0 : -1;
}

int sensor_close_sink(struct sensor *s, uint64_t timeout_ms, char *err, size_t errlen)
{
    struct backlog_stats st;
    char where[300];

    if (!s->sink)
        return 0;
    uint64_t pending = sink_close(s->sink, timeout_ms);
    if (sink_failed(s->sink, err, errlen))
        return -1;
    sink_stats(s->sink, &st);
    if (st.dropped_bins)
        LOG(LOG_WARN,
            "%" PRIu64 " bins dropped from the Redis backlog (over --backlog %" PRIu64
            ") are missing from Redis",
            st.dropped_bins, (uint64_t)s->opt->backlog);
    if (pending == 0)
        return 0;
    snprintf(err, errlen,
             "%" PRIu64 " bins (starts %" PRId64 " to %" PRId64 "), %" PRIu64 " flows and %" PRIu64
             " events not written to Redis at %s within --flush-timeout %" PRIu64 " s; last "
             "error: %s",
             st.pending_bins, st.pending_first_bin, st.pending_last_bin, st.pending_flows,
             st.pending_events, sink_where(s->sink, where, sizeof where), timeout_ms / 1000,
             st.last_error[0] ? st.last_error : "no answer");
    return -1;
}

/* One side of a finished flow: protocol counters and the record of pair p; the flow's
 * counters are pair[0]'s (swap: the other country's, whose in and out are the other way). */
static void flow_side(struct sensor *s, const struct flow *f, enum flow_end why, unsigned p,
                      bool swap)
{
    struct flow_record r;
    const struct sensor_pair *sp = &s->pairs[p];
    struct proto_count *pc = &s->protos[(size_t)p * s->nlabels + f->label];

    pc->pkts += f->pkts[0] + f->pkts[1];
    pc->bytes += f->bytes[0] + f->bytes[1];
    if (!(f->flags & FLOW_COUNTED))
        pc->flows++;
    if (s->sink)
        sink_proto(s->sink, p, classify_name(s->cls, f->label), f->pkts[0] + f->pkts[1]);
    if (!s->sink && !s->opt->flows)
        return;
    flow_to_record(f, why, &r);
    if (swap) {
        uint64_t t = r.pkts_in;
        r.pkts_in = r.pkts_out;
        r.pkts_out = t;
        t = r.bytes_in;
        r.bytes_in = r.bytes_out;
        r.bytes_out = t;
    }
    snprintf(r.country, sizeof r.country, "%s", s->countries[sp->country].code);
    snprintf(r.route, sizeof r.route, "%s", sp->route_name);
    snprintf(r.proto, sizeof r.proto, "%s", classify_name(s->cls, f->label));
    snprintf(r.host, sizeof r.host, "%s", f->host);
    if (s->sink)
        sink_flow(s->sink, &r);
    report_flow(&s->rep, &r);
}

/* The flows ended, in the order they ended, as their labels come: each pair they count for.
 * ENDED_READY: those whose labels are there (none waited for); ENDED_ONE: the oldest waited
 * for, then those ready; ENDED_ALL: every one (before a bin closes, at the end). */
enum ended_how { ENDED_READY, ENDED_ONE, ENDED_ALL };

static void flush_ended(struct sensor *s, enum ended_how how)
{
    if (how == ENDED_ALL && s->nended)
        classify_sync(s->cls);
    while (s->nended) {
        struct ended_flow *e = &s->ended[s->ended_first];
        if (e->ticket && !classify_ready(s->cls, e->ticket)) {
            if (how == ENDED_READY)
                return;
            classify_wait(s->cls, e->ticket);
            how = ENDED_READY;
        }
        e->f.label = e->res.label;
        memcpy(e->f.host, e->res.host, sizeof e->f.host);
        flow_side(s, &e->f, e->why, e->f.pair[0], false);
        if (e->f.pair[1] != FLOW_NO_PAIR)
            flow_side(s, &e->f, e->why, e->f.pair[1], true);
        s->ended_first = (s->ended_first + 1) % ENDED_MAX;
        s->nended--;
    }
}

/* A flow leaves the table (or is exported on its active timeout): its label asked for, it
 * waits in line with the flows ended before it. A flow that goes on after an export has its
 * label at once (later exports of it reuse it). */
static void on_flow(void *ctx, struct flow *f, enum flow_end why)
{
    struct sensor *s = ctx;

    if (s->nended == ENDED_MAX)
        flush_ended(s, ENDED_ONE);
    if (why == FLOW_END_ACTIVE)
        classify_done(s->cls, f); /* it goes on: its label now, for its later exports too */
    struct ended_flow *e = &s->ended[(s->ended_first + s->nended) % ENDED_MAX];
    s->nended++;
    e->ticket = classify_end(s->cls, f, &e->res);
    e->f = *f;
    e->why = why;
    f->flags |= FLOW_COUNTED;
}

/* The direction of a packet for the flow's first pair: that of the hit of the same country
 * (a packet between two countries has one hit each way). */
static unsigned flow_dir(const struct sensor *s, const struct flow *f,
                         const struct route_verdict *v, const int *pair)
{
    unsigned country = s->pairs[f->pair[0]].country;
    for (unsigned i = 1; i < v->nhits; i++)
        if (pair[i] >= 0 && s->pairs[pair[i]].country == country)
            return v->hit[i].dir;
    return v->hit[0].dir;
}

/* The flow and classification stages of a country packet counted on pair[0] (and pair[1]
 * when it goes between two countries). */
static void track_flow(struct sensor *s, const struct packet *p, const struct decoded *d,
                       const struct flow_hint *hint, const struct route_verdict *v, const int *pair,
                       uint32_t bytes)
{
    int64_t now_us = (p->ts_sec < 0 ? 0 : p->ts_sec) * 1000000 + p->ts_usec;
    bool created;

    if (p->ts_sec != s->expired_at) {
        flow_expire(s->flows, now_us, on_flow, s);
        flush_ended(s, ENDED_READY);
        s->expired_at = p->ts_sec;
    }
    struct flow *f = flow_get_hinted(s->flows, d, hint, now_us, &created);
    if (!f)
        return; /* counted by the flow table; the bins have the packet already */
    if (created) {
        f->pair[0] = (uint16_t)pair[0];
        f->pair[1] = v->nhits > 1 && pair[1] >= 0 ? (uint16_t)pair[1] : FLOW_NO_PAIR;
        for (unsigned i = 0; i < 2; i++)
            if (f->pair[i] != FLOW_NO_PAIR)
                bins_count_flow(s->bins, f->pair[i]);
    }
    unsigned dir = flow_dir(s, f, v, pair);
    uint8_t seen = dir == DIR_IN ? FLOW_SEEN_IN : FLOW_SEEN_OUT;
    if (!(f->flags & seen)) { /* the flow's first packet this way: a conversation start */
        f->flags |= seen;
        bins_count_start(s->bins, f->pair[0], dir);
        if (f->pair[1] != FLOW_NO_PAIR) /* the other country sees it the other way */
            bins_count_start(s->bins, f->pair[1], dir == DIR_IN ? DIR_OUT : DIR_IN);
    }
    flow_count(s->flows, f, dir, bytes, d->tcp_flags, now_us, on_flow, s);
    classify_packet(s->cls, f, d, now_us);
}

/* The countries and pairs of an earlier run of this sensor id (P{S}:pairs) that are watched
 * now: made, so their silence counts from the first bin. */
static void stored_pairs(struct sensor *s, struct redis *r)
{
    struct query_pairs pairs;
    char err[400];

    if (query_sensor_pairs(r, s->opt, s->opt->sensor, &pairs, err, sizeof err) < 0) {
        LOG(LOG_WARN, "no warm restart: %s", err);
        return;
    }
    for (size_t i = 0; i < pairs.n; i++) {
        unsigned idx = prefix_country_find(s->country, pairs.v[i].cc);
        int route = route_find(&s->routes, pairs.v[i].route);
        if (!idx || route < 0)
            continue;
        int c = s->country_id[idx] != SENSOR_NO_ID ? s->country_id[idx]
                                                   : sensor_country(s, pairs.v[i].cc);
        if (c < 0)
            break;
        s->country_id[idx] = (uint16_t)c;
        sensor_pair(s, (unsigned)c, (unsigned)route);
    }
    free(pairs.v);
}

/* A warm restart: the bins this sensor id stored in Redis before `first` (an earlier run)
 * teach each country's detector, so it decides from the first bin. Without them, it learns. */
static void warm_start(struct sensor *s, int64_t first)
{
    const char *keys[ROUTE_MAX];
    char keybuf[ROUTE_MAX][600], err[400];
    struct history_stats st;
    uint64_t bins = 0;

    struct redis *r = query_open(s->opt, "blackout-warm", err, sizeof err);
    if (!r) {
        LOG(LOG_WARN, "no warm restart (%s): the detectors learn", err);
        return;
    }
    stored_pairs(s, r);
    for (unsigned c = 0; c < s->ncountries; c++) {
        for (unsigned i = 0; i < s->routes.nroutes; i++) {
            sink_pair_key(keybuf[i], sizeof keybuf[i], s->opt->redis_prefix, s->opt->sensor, "bins",
                          s->countries[c].code, s->routes.names[i]);
            keys[i] = keybuf[i];
        }
        if (history_warm(s->countries[c].det, r, keys, first, &st, err, sizeof err) < 0) {
            LOG(LOG_WARN, "no warm restart of %s (%s): its detector learns", s->countries[c].code,
                err);
            continue;
        }
        bins += st.bins;
    }
    if (bins)
        LOG(LOG_NOTICE,
            "warm restart: %" PRIu64 " bins of history from Redis: the detectors decide from "
            "the first bin",
            bins);
    redis_free(r);
}

bool sensor_advance(struct sensor *s, int64_t ts)
{
    int64_t open = bins_open_start(s->bins);

    if (open == INT64_MIN && !s->warmed) { /* the clock starts: before the first bin */
        s->warmed = true;
        if (!s->opt->no_redis)
            warm_start(s, ts - ((ts % (int64_t)s->opt->bin) + (int64_t)s->opt->bin) %
                                   (int64_t)s->opt->bin);
    }

    if (s->nended && ts >= open + (int64_t)s->opt->bin) /* a bin closes: its flows first */
        flush_ended(s, ENDED_ALL);
    bins_advance(s->bins, ts, on_bin, s);
    return bins_open_start(s->bins) != open;
}

/* The pair of a hit: its country (made at its first packet under --country all) on its
 * route. Returns the pair, or -1 (caps, memory: the packet is counted as refused). */
static int hit_pair(struct sensor *s, const struct route_hit *h)
{
    uint16_t c = s->country_id[h->country];
    if (c == SENSOR_NO_ID) {
        int made = sensor_country(s, prefix_country_code(s->country, h->country));
        if (made < 0)
            return -1;
        c = s->country_id[h->country] = (uint16_t)made;
    }
    uint16_t p = s->pair_of[c * ROUTE_MAX + h->route];
    return p != SENSOR_NO_ID ? p : sensor_pair(s, c, h->route);
}

static void count_layers(struct sensor *s, const struct decoded *d)
{
    for (unsigned i = 0; i < d->nencap; i++)
        s->decap[d->encap[i]]++;
}

void sensor_packet(struct sensor *s, const struct packet *p)
{
    struct decoded d;
    struct route_verdict v;
    struct flow_hint hint;
    int pair[2] = {-1, -1};

    s->packets++;
    decode_packet((enum decode_link)p->link, s->decode_flags, p->data, p->caplen, &d);
    s->decode[d.status]++;
    if (d.nencap) /* mirror transports and tunnels opened */
        count_layers(s, &d);
    sensor_advance(s, p->ts_sec < 0 ? 0 : p->ts_sec);
    route_match(&s->routes, s->country, &d, p->iface, &v);
    if (!v.nhits) {
        bins_count_ctl(s->bins, v.route);
        return;
    }
    uint32_t bytes = decode_bytes(&d, p->len);
    flow_hint(s->flows, &d, &hint); /* its slot arrives while the bins count */
    for (unsigned i = 0; i < v.nhits; i++) {
        pair[i] = hit_pair(s, &v.hit[i]);
        if (pair[i] >= 0)
            bins_count(s->bins, (unsigned)pair[i], v.hit[i].dir, bytes, v.hit[i].chost);
    }
    if (pair[0] < 0) { /* the flow goes with a pair that exists */
        pair[0] = pair[1];
        pair[1] = -1;
    }
    if (pair[0] < 0) {
        s->refused++;
        return;
    }
    track_flow(s, p, &d, &hint, &v, pair, bytes);
}

bool sensor_tick(struct sensor *s, int64_t ts)
{
    int64_t open = bins_open_start(s->bins);
    bool opened = false;

    if (open == INT64_MIN || ts >= open + (int64_t)s->opt->bin) /* else not a late packet */
        opened = sensor_advance(s, ts);
    if (ts > s->expired_at) {
        flow_expire(s->flows, ts * 1000000, on_flow, s);
        flush_ended(s, ENDED_READY);
        s->expired_at = ts;
    }
    return opened;
}

void sensor_drops(struct sensor *s, int iface, uint64_t n)
{
    bins_count_drops(s->bins, route_of_iface(&s->routes, iface), n);
}

void sensor_finish(struct sensor *s)
{
    flow_flush(s->flows, on_flow, s);
    flush_ended(s, ENDED_ALL);
    bins_flush(s->bins, on_bin, s);
}

void sensor_free(struct sensor *s)
{
    sink_free(s->sink);
    s->sink = NULL;
    for (unsigned c = 0; c < s->ncountries; c++)
        detect_free(s->countries[c].det);
    free(s->countries);
    free(s->pairs);
    free(s->rows);
    free(s->pair_of);
    free(s->country_id);
    free(s->protos);
    classify_free(s->cls); /* before the ended flows it may still write to */
    free(s->ended);
    flow_free(s->flows);
    bins_free(s->bins);
    prefix_free(s->country);
    report_free(&s->rep);
    memset(s, 0, sizeof *s);
}
