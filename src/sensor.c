/* sensor — the per-packet pipeline. See sensor.h. */
#include "sensor.h"

#include "history.h"
#include "log.h"
#include "query.h"
#include "redis.h"
#include "reload.h"
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SINK_BACKLOG_BYTES ((size_t)1 << 30)

struct prefix_set *sensor_load_country(const struct options *o, char *err, size_t errlen)
{
    struct prefix_set *p = prefix_new();
    int n = 0;

    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (o->prefixes && (n = prefix_load_file(p, o->prefixes, err, errlen)) < 0)
        goto err;
    if (o->rir) {
        int m = prefix_load_rir(p, o->rir, o->country, err, errlen);
        if (m < 0)
            goto err;
        if (m == 0) {
            snprintf(err, errlen, "%s: no allocated or assigned lines for country '%s'", o->rir,
                     o->country);
            goto err;
        }
        n += m;
    }
    if (!o->prefixes && !o->rir && prefix_load_builtin(p, o->country, err, errlen) < 0)
        goto err;
    if (o->prefixes && n == 0) {
        snprintf(err, errlen, "%s: no prefixes in the file", o->prefixes);
        goto err;
    }
    prefix_finish(p);
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
    s->cls = classify_new(&cc, err, errlen);
    if (!s->cls)
        return -1;
    s->nlabels = classify_nlabels(s->cls);
    s->protos = calloc((size_t)SENSOR_ACCOUNTS_MAX * s->nlabels, sizeof *s->protos);
    if (!s->protos) {
        snprintf(err, errlen, "out of memory for protocol counters");
        return -1;
    }
    s->expired_at = INT64_MIN;
    return 0;
}

int sensor_init(struct sensor *s, const struct options *o, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->opt = o;
    json_init(&s->json);
    if (sensor_build_routes(&s->routes, o, err, errlen) < 0)
        return -1;
    for (unsigned r = 0; r < s->routes.nroutes; r++)
        s->account[r] = (unsigned)sensor_account(s, s->routes.names[r]);
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
    struct detect_config dc;
    detect_defaults(&dc, (unsigned)o->bin);
    dc.warmup = (unsigned)o->warmup;
    dc.horizon = (unsigned)o->horizon;
    dc.alarms_per_month = o->false_alarms;
    dc.down_below = o->down_below;
    dc.up_above = o->up_above;
    for (unsigned r = 0; r < s->routes.nroutes; r++)
        s->route_names[r] = s->routes.names[r];
    s->det = detect_new(&dc, s->routes.nroutes, s->route_names, o->sensor);
    if (!s->det) {
        snprintf(err, errlen, "cannot start the detector (bad --false-alarms or out of memory)");
        return -1;
    }
    LOG(LOG_INFO, "country set: %llu IPv4 addresses, %zu IPv6 ranges; %u routes",
        (unsigned long long)prefix_v4_addresses(s->country), prefix_v6_ranges(s->country),
        s->routes.nroutes);
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

/* A warm restart: the bins this sensor id stored in Redis before `first` (an earlier run)
 * teach the detector, so it decides from the first bin. Without them, it learns. */
static void warm_start(struct sensor *s, int64_t first)
{
    const char *keys[ROUTE_MAX];
    char keybuf[ROUTE_MAX][600], err[400];
    struct history_stats st;

    if (s->opt->no_redis)
        return;
    struct redis *r = query_open(s->opt, "blackout-warm", err, sizeof err);
    for (unsigned i = 0; r && i < s->routes.nroutes; i++) {
        sink_key(keybuf[i], sizeof keybuf[i], s->opt->redis_prefix, s->opt->sensor, "bins",
                 s->routes.names[i]);
        keys[i] = keybuf[i];
    }
    if (!r || history_warm(s->det, r, keys, first, &st, err, sizeof err) < 0)
        LOG(LOG_WARN, "no warm restart (%s): the detector learns", err);
    else if (st.bins)
        LOG(LOG_NOTICE,
            "warm restart: %" PRIu64 " bins of history from Redis, from %" PRId64
            ": the detector decides from the first bin",
            st.bins, st.first);
    redis_free(r);
}

/* The detector's view of a closed bin; its events go out as JSON lines and to Redis with
 * this bin's flush, and so do the routes' states. */
static void run_detector(struct sensor *s, const struct bin_view *v)
{
    struct detect_route_bin rb[ROUTE_MAX];
    struct event ev[2 * ROUTE_MAX + 4];
    struct detect_route_status st;

    for (unsigned r = 0; r < v->nroutes; r++) {
        const struct bin_counts *c = &v->routes[r];
        rb[r] = (struct detect_route_bin){.pkts = {c->pkts_in, c->pkts_out},
                                          .starts = {c->starts_in, c->starts_out},
                                          .ctl_pkts = c->ctl_pkts,
                                          .drops = c->drops};
    }
    if (!s->warmed) {
        s->warmed = true;
        warm_start(s, v->start);
    }
    const struct detect_bin b = {.start = v->start,
                                 .len = v->len,
                                 .partial = v->partial,
                                 .after_jump = v->after_jump,
                                 .nroutes = v->nroutes,
                                 .routes = rb};
    unsigned n = detect_feed(s->det, &b, ev, sizeof ev / sizeof ev[0]);
    for (unsigned i = 0; i < n; i++) {
        s->events++;
        report_event(s, &ev[i]);
        if (s->sink)
            sink_event(s->sink, &ev[i]);
    }
    if (!s->sink)
        return;
    for (unsigned r = 0; r < v->nroutes; r++) {
        detect_route_status(s->det, r, &st);
        sink_route_state(s->sink, s->routes.names[r], detect_state_name(st.state), st.since,
                         st.baseline_pps, st.observed_pps);
    }
    detect_country_status(s->det, &st);
    sink_route_state(s->sink, "*", detect_state_name(st.state), st.since, st.baseline_pps,
                     st.observed_pps);
}

/* Every closed bin: totals, then the reports. */
static void on_bin(void *ctx, const struct bin_view *v)
{
    struct sensor *s = ctx;

    for (unsigned r = 0; r < v->nroutes; r++) {
        const struct bin_counts *c = &v->routes[r];
        struct route_total *t = &s->totals[s->account[r]];
        t->pkts_in += c->pkts_in;
        t->pkts_out += c->pkts_out;
        t->bytes_in += c->bytes_in;
        t->bytes_out += c->bytes_out;
        t->flows += c->flows_new;
        t->ctl_pkts += c->ctl_pkts;
        t->drops += c->drops;
    }
    s->bins_emitted++;
    report_bin(s, v);
    run_detector(s, v);
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
        .nroutes = s->routes.nroutes,
        .route_names = s->route_names,
        .backlog = (unsigned)o->backlog,
        .backlog_bytes = SINK_BACKLOG_BYTES,
        .wait_when_full = o->cmd == CMD_REPLAY,
        .retention = o->retention,
        .stream_maxlen = o->stream_maxlen,
        .alerts_maxlen = o->stream_maxlen / 10 > 1000 ? o->stream_maxlen / 10 : 1000,
        .heartbeat_ttl = 3 * o->bin > 60 ? 3 * o->bin : 60,
    };

    if (o->no_redis)
        return 0;
    for (unsigned r = 0; r < s->routes.nroutes; r++)
        s->route_names[r] = s->routes.names[r];
    if (redis_url_parse(o->redis, &c.url, err, errlen) < 0)
        return -1;
    s->sink = sink_new(&c, err, errlen);
    memset(&c.url, 0, sizeof c.url);
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

/* A flow leaves the table (or is exported on its active timeout): final label, protocol
 * counters, flow record. */
static void on_flow(void *ctx, struct flow *f, enum flow_end why)
{
    struct sensor *s = ctx;
    struct flow_record r;

    classify_done(s->cls, f);
    struct proto_count *pc = &s->protos[(size_t)s->account[f->route] * s->nlabels + f->label];
    pc->pkts += f->pkts[0] + f->pkts[1];
    pc->bytes += f->bytes[0] + f->bytes[1];
    if (!(f->flags & FLOW_COUNTED)) {
        pc->flows++;
        f->flags |= FLOW_COUNTED;
    }
    if (s->sink)
        sink_proto(s->sink, f->route, classify_name(s->cls, f->label), f->pkts[0] + f->pkts[1]);
    if (!s->sink && !s->opt->flows)
        return;
    flow_to_record(f, why, &r);
    snprintf(r.route, sizeof r.route, "%s", s->routes.names[f->route]);
    snprintf(r.proto, sizeof r.proto, "%s", classify_name(s->cls, f->label));
    snprintf(r.host, sizeof r.host, "%s", f->host);
    if (s->sink)
        sink_flow(s->sink, &r);
    if (s->opt->flows)
        report_flow(s, &r);
}

/* The flow and classification stages of a country packet. */
static void track_flow(struct sensor *s, const struct packet *p, const struct decoded *d,
                       const struct route_verdict *v)
{
    int64_t now_us = (p->ts_sec < 0 ? 0 : p->ts_sec) * 1000000 + p->ts_usec;
    bool created;

    if (p->ts_sec != s->expired_at) {
        flow_expire(s->flows, now_us, on_flow, s);
        s->expired_at = p->ts_sec;
    }
    struct flow *f = flow_get(s->flows, d, now_us, &created);
    if (!f)
        return; /* counted by the flow table; the bins have the packet already */
    if (created) {
        f->route = (uint8_t)v->route;
        bins_count_flow(s->bins, v->route);
    }
    uint8_t seen = v->dir == DIR_IN ? FLOW_SEEN_IN : FLOW_SEEN_OUT;
    if (!(f->flags & seen)) { /* the flow's first packet this way: a conversation start */
        f->flags |= seen;
        bins_count_start(s->bins, v->route, v->dir);
    }
    flow_count(s->flows, f, v->dir, p->len, d->tcp_flags, now_us, on_flow, s);
    classify_packet(s->cls, f, d, now_us);
}

/* Moves packet time to ts; a staged reload takes effect once the open bin has closed. */
static void advance(struct sensor *s, int64_t ts)
{
    int64_t open = bins_open_start(s->bins);

    bins_advance(s->bins, ts, on_bin, s);
    if (s->reload && bins_open_start(s->bins) != open)
        reload_apply(s);
}

void sensor_packet(struct sensor *s, const struct packet *p)
{
    struct decoded d;
    struct route_verdict v;

    s->packets++;
    decode_packet((enum decode_link)p->link, p->data, p->caplen, &d);
    s->decode[d.status]++;
    advance(s, p->ts_sec < 0 ? 0 : p->ts_sec);
    route_match(&s->routes, s->country, &d, p->iface, &v);
    if (!v.country) {
        bins_count_ctl(s->bins, v.route);
        return;
    }
    bins_count(s->bins, v.route, v.dir, p->len, v.chost);
    track_flow(s, p, &d, &v);
}

void sensor_tick(struct sensor *s, int64_t ts)
{
    int64_t open = bins_open_start(s->bins);

    if (open == INT64_MIN || ts >= open + (int64_t)s->opt->bin) /* else not a late packet */
        advance(s, ts);
    if (ts > s->expired_at) {
        flow_expire(s->flows, ts * 1000000, on_flow, s);
        s->expired_at = ts;
    }
}

void sensor_drops(struct sensor *s, int iface, uint64_t n)
{
    bins_count_drops(s->bins, route_of_iface(&s->routes, iface), n);
}

void sensor_finish(struct sensor *s)
{
    flow_flush(s->flows, on_flow, s);
    bins_flush(s->bins, on_bin, s);
}

void sensor_free(struct sensor *s)
{
    reload_free(s->reload);
    s->reload = NULL;
    sink_free(s->sink);
    s->sink = NULL;
    detect_free(s->det);
    s->det = NULL;
    free(s->protos);
    classify_free(s->cls);
    flow_free(s->flows);
    bins_free(s->bins);
    prefix_free(s->country);
    json_free(&s->json);
    s->bins = NULL;
    s->country = NULL;
    s->flows = NULL;
    s->cls = NULL;
    s->protos = NULL;
}
