/* sensor — the per-packet pipeline. See sensor.h. */
#include "sensor.h"

#include "log.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        .extra = true, /* labels refined after detection: ndpiReader parity 95.6% -> 99.1% */
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
    s->protos = calloc((size_t)s->routes.nroutes * s->nlabels, sizeof *s->protos);
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
    if (flows_init(s, o, err, errlen) < 0)
        return -1;
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
}

/* A flow leaves the table (or is exported on its active timeout): final label, protocol
 * counters, flow record. */
static void on_flow(void *ctx, struct flow *f, enum flow_end why)
{
    struct sensor *s = ctx;
    struct flow_record r;

    classify_done(s->cls, f);
    struct proto_count *pc = &s->protos[(size_t)f->route * s->nlabels + f->label];
    pc->pkts += f->pkts[0] + f->pkts[1];
    pc->bytes += f->bytes[0] + f->bytes[1];
    if (!(f->flags & FLOW_COUNTED)) {
        pc->flows++;
        f->flags |= FLOW_COUNTED;
    }
    if (!s->opt->flows)
        return;
    flow_to_record(f, why, &r);
    snprintf(r.route, sizeof r.route, "%s", s->routes.names[f->route]);
    snprintf(r.proto, sizeof r.proto, "%s", classify_name(s->cls, f->label));
    snprintf(r.host, sizeof r.host, "%s", f->host);
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
    if (!f) {
        s->unflowed++;
        return;
    }
    if (created) {
        f->route = (uint8_t)v->route;
        bins_count_flow(s->bins, v->route);
    }
    flow_count(s->flows, f, v->dir, p->len, d->tcp_flags, now_us, on_flow, s);
    classify_packet(s->cls, f, d, now_us);
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
    track_flow(s, p, &d, &v);
}

void sensor_finish(struct sensor *s)
{
    flow_flush(s->flows, on_flow, s);
    bins_flush(s->bins, on_bin, s);
}

void sensor_free(struct sensor *s)
{
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
