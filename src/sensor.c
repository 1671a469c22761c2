/* sensor — the per-packet pipeline. See sensor.h. */
#include "sensor.h"

#include "log.h"
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
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

static int build_routes(struct route_table *t, const struct options *o, char *err, size_t errlen)
{
    route_init(t);
    for (unsigned i = 0; i < o->routes.n; i++)
        if (route_add(t, o->routes.v[i], err, errlen) < 0)
            return -1;
    return route_finish(t, err, errlen);
}

int sensor_init(struct sensor *s, const struct options *o, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->opt = o;
    json_init(&s->json);
    if (build_routes(&s->routes, o, err, errlen) < 0)
        return -1;
    s->country = sensor_load_country(o, err, errlen);
    if (!s->country)
        return -1;
    s->bins = bins_new(s->routes.nroutes, (unsigned)o->bin, (unsigned)o->host_cap);
    if (!s->bins) {
        snprintf(err, errlen, "out of memory for bins");
        return -1;
    }
    LOG(LOG_INFO, "country set: %llu IPv4 addresses, %zu IPv6 ranges; %u routes",
        (unsigned long long)prefix_v4_addresses(s->country), prefix_v6_ranges(s->country),
        s->routes.nroutes);
    return 0;
}

/* Every closed bin: totals, then the reports. */
static void on_bin(void *ctx, const struct bin_view *v)
{
    struct sensor *s = ctx;

    for (unsigned r = 0; r < v->nroutes; r++) {
        const struct bin_counts *c = &v->routes[r];
        struct route_total *t = &s->totals[r];
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
    if (pending == 0)
        return 0;
    sink_stats(s->sink, &st);
    snprintf(err, errlen,
             "%" PRIu64 " bins (starts %" PRId64 " to %" PRId64 "), %" PRIu64 " flows and %" PRIu64
             " events not written to Redis at %s within --flush-timeout %" PRIu64 " s; last "
             "error: %s",
             st.pending_bins, st.pending_first_bin, st.pending_last_bin, st.pending_flows,
             st.pending_events, sink_where(s->sink, where, sizeof where), timeout_ms / 1000,
             st.last_error[0] ? st.last_error : "no answer");
    return -1;
}

void sensor_packet(struct sensor *s, const struct packet *p)
{
    struct decoded d;
    struct route_verdict v;

    s->packets++;
    decode_packet((enum decode_link)p->link, p->data, p->caplen, &d);
    s->decode[d.status]++;
    bins_advance(s->bins, p->ts_sec < 0 ? 0 : p->ts_sec, on_bin, s);
    route_match(&s->routes, s->country, &d, p->iface, &v);
    if (!v.country) {
        bins_count_ctl(s->bins, v.route);
        return;
    }
    bins_count(s->bins, v.route, v.dir, p->len, v.chost);
}

void sensor_finish(struct sensor *s)
{
    bins_flush(s->bins, on_bin, s);
}

void sensor_free(struct sensor *s)
{
    sink_free(s->sink);
    s->sink = NULL;
    bins_free(s->bins);
    prefix_free(s->country);
    json_free(&s->json);
    s->bins = NULL;
    s->country = NULL;
}
