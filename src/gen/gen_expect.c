/* gen_expect — counters, bins, events and the expect JSON. See gen_expect.h. */
#include "gen_expect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_frame.h"

struct exp_route {
    uint64_t pkts[2], bytes[2]; /* [GEN_K_IN], [GEN_K_OUT] */
    uint64_t flows, frags, ctl_pkts, ctl_bytes;
    uint64_t proto_pkts[GEN_L_N], proto_bytes[GEN_L_N], proto_flows[GEN_L_N];
};

struct exp_bin {
    uint64_t pkts[2], bytes[2];
    uint64_t flows_new, hosts, ctl_pkts;
};

struct gen_expect {
    int nroutes;
    uint32_t binlen;
    int bins_on;
    struct exp_route r[GEN_MAX_ROUTES];
    struct exp_bin *bins[GEN_MAX_ROUTES];
    size_t nbins, cap;
    uint64_t first_bin;
    uint32_t *stamp; /* [route * GEN_HOSTS + host] = 1 + index of the bin it was last counted in */
    uint64_t packets, payload_pkts, first_us, last_us;
    struct gen_flowrec *flows;
    size_t nflows, flows_cap;
};

struct gen_expect *gen_expect_new(const struct gen_opt *o)
{
    struct gen_expect *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return NULL;
    e->nroutes = o->routes;
    e->binlen = o->bin;
    e->bins_on = !o->no_bins;
    if (e->bins_on) {
        e->stamp = calloc((size_t)GEN_MAX_ROUTES * GEN_HOSTS, sizeof(*e->stamp));
        if (e->stamp == NULL) {
            free(e);
            return NULL;
        }
    }
    return e;
}

void gen_expect_free(struct gen_expect *e)
{
    if (e == NULL)
        return;
    for (int i = 0; i < GEN_MAX_ROUTES; i++)
        free(e->bins[i]);
    free(e->stamp);
    free(e->flows);
    free(e);
}

uint64_t gen_expect_packets(const struct gen_expect *e)
{
    return e->packets;
}

/* Make bins [0, n) exist for every route, new ones zero. */
static int exp_grow(struct gen_expect *e, size_t n)
{
    if (n > e->cap) {
        size_t cap = e->cap ? e->cap : 1024;
        while (cap < n)
            cap *= 2;
        for (int i = 0; i < e->nroutes; i++) {
            struct exp_bin *b = realloc(e->bins[i], cap * sizeof(*b));
            if (b == NULL)
                return -1;
            e->bins[i] = b;
        }
        e->cap = cap;
    }
    for (int i = 0; i < e->nroutes; i++)
        memset(e->bins[i] + e->nbins, 0, (n - e->nbins) * sizeof(struct exp_bin));
    e->nbins = n;
    return 0;
}

/* The bin of time t for route; NULL when out of memory. */
static struct exp_bin *exp_bin(struct gen_expect *e, int route, uint64_t t_us, size_t *idx)
{
    uint64_t abs = t_us / 1000000 / e->binlen;

    if (e->packets == 0)
        e->first_bin = abs;
    *idx = (size_t)(abs - e->first_bin);
    if (*idx >= e->nbins && exp_grow(e, *idx + 1) < 0)
        return NULL;
    return &e->bins[route][*idx];
}

static void exp_count_bin(struct gen_expect *e, struct exp_bin *b, size_t idx,
                          const struct gen_acct *a, uint32_t wire)
{
    uint32_t *st;

    if (a->kind == GEN_K_CTL) {
        b->ctl_pkts++;
        return;
    }
    b->pkts[a->kind]++;
    b->bytes[a->kind] += wire;
    b->flows_new += a->new_flow;
    st = &e->stamp[(size_t)a->route * GEN_HOSTS + a->host];
    if (*st != idx + 1) {
        *st = (uint32_t)(idx + 1);
        b->hosts++;
    }
}

int gen_expect_frame(struct gen_expect *e, const struct gen_acct *a, uint64_t t_us, uint32_t wire)
{
    struct exp_route *r = &e->r[a->route];

    if (e->bins_on) {
        size_t idx;
        struct exp_bin *b = exp_bin(e, a->route, t_us, &idx);
        if (b == NULL)
            return -1;
        exp_count_bin(e, b, idx, a, wire);
    }
    if (e->packets++ == 0)
        e->first_us = t_us;
    e->last_us = t_us;
    e->payload_pkts += a->payload;
    if (a->kind == GEN_K_CTL) {
        r->ctl_pkts++;
        r->ctl_bytes += wire;
        return 0;
    }
    r->pkts[a->kind]++;
    r->bytes[a->kind] += wire;
    r->frags += a->frag;
    r->flows += a->new_flow;
    r->proto_pkts[a->label]++;
    r->proto_bytes[a->label] += wire;
    r->proto_flows[a->label] += a->new_flow;
    return 0;
}

int gen_expect_flow(struct gen_expect *e, const struct gen_flowrec *f)
{
    if (e->nflows == e->flows_cap) {
        size_t cap = e->flows_cap ? e->flows_cap * 2 : 16;
        struct gen_flowrec *n = realloc(e->flows, cap * sizeof(*n));
        if (n == NULL)
            return -1;
        e->flows = n;
        e->flows_cap = cap;
    }
    e->flows[e->nflows++] = *f;
    return 0;
}

/* ---- JSON ---- */

static void exp_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void exp_time(FILE *f, uint64_t t_us)
{
    fprintf(f, "%llu.%06llu", (unsigned long long)(t_us / 1000000),
            (unsigned long long)(t_us % 1000000));
}

static void exp_header(FILE *f, const struct gen_expect *e, const struct gen_opt *o, uint64_t end)
{
    fprintf(f, "{\"scenario\":");
    exp_str(f, o->scenario);
    fprintf(f,
            ",\"seed\":%llu,\"start\":%llu,\"end\":%llu,\"bin\":%u,\"link\":\"%s\","
            "\"mark\":\"%s\",\"pcapng\":%s,\"snaplen\":%u,\"encap_mix\":%s,\"wrap\":\"%s\","
            "\"rate\":%.10g,\"bg\":%.10g,\n",
            (unsigned long long)o->seed, (unsigned long long)o->start, (unsigned long long)end,
            e->binlen, gen_opt_link_name(o->link), gen_opt_mark_name(gen_opt_effective_mark(o)),
            o->pcapng ? "true" : "false", o->snaplen, o->encap_mix ? "true" : "false",
            gen_wrap_name(o->wrap), o->rate, o->bg);
}

static void exp_route(FILE *f, const struct gen_expect *e, const struct gen_opt *o, int i)
{
    const struct exp_route *r = &e->r[i];
    enum gen_mark m = gen_opt_effective_mark(o);
    struct gen_frame_cfg cfg = {o->link, o->mark};
    char name[GEN_ROUTE_NAME];
    uint8_t mac[6];
    int first = 1;

    gen_window_route_name(i, name, sizeof(name));
    gen_frame_router_mac(&cfg, i, mac);
    fprintf(f, "%s\"%s\":{\"vlan\":", i ? ",\n  " : "\n  ", name);
    if (m & GEN_MARK_VLAN)
        fprintf(f, "%d", 100 + i);
    else
        fprintf(f, "null");
    if (m & GEN_MARK_MAC)
        fprintf(f, ",\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\"", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
    else
        fprintf(f, ",\"mac\":null");
    fprintf(f,
            ",\"pkts_in\":%llu,\"pkts_out\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
            "\"flows\":%llu,\"frags\":%llu,\"protocols\":{",
            (unsigned long long)r->pkts[0], (unsigned long long)r->pkts[1],
            (unsigned long long)r->bytes[0], (unsigned long long)r->bytes[1],
            (unsigned long long)r->flows, (unsigned long long)r->frags);
    for (int l = 0; l < GEN_L_N; l++) {
        if (r->proto_pkts[l] == 0)
            continue;
        fprintf(f, "%s\"%s\":{\"pkts\":%llu,\"bytes\":%llu,\"flows\":%llu}", first ? "" : ",",
                gen_label_names[l], (unsigned long long)r->proto_pkts[l],
                (unsigned long long)r->proto_bytes[l], (unsigned long long)r->proto_flows[l]);
        first = 0;
    }
    fprintf(f, "}}");
}

static void exp_routes(FILE *f, const struct gen_expect *e, const struct gen_opt *o)
{
    char name[GEN_ROUTE_NAME];

    fprintf(f, "\"routes\":{");
    for (int i = 0; i < e->nroutes; i++)
        exp_route(f, e, o, i);
    fprintf(f, "},\n\"ctl_pkts\":{");
    for (int i = 0; i < e->nroutes; i++) {
        gen_window_route_name(i, name, sizeof(name));
        fprintf(f, "%s\"%s\":%llu", i ? "," : "", name, (unsigned long long)e->r[i].ctl_pkts);
    }
    fprintf(f, "},\n\"packets\":%llu,\"payload_pkts\":%llu,\"first_ts\":",
            (unsigned long long)e->packets, (unsigned long long)e->payload_pkts);
    exp_time(f, e->first_us);
    fprintf(f, ",\"last_ts\":");
    exp_time(f, e->last_us);
    fprintf(f, ",\n\"v6_prefix\":");
    if (o->v6.set)
        exp_str(f, o->v6.text);
    else
        fprintf(f, "null");
    fprintf(f, ",\n\"mac_scheme\":{\"observer\":\"02:00:00:00:00:01\","
               "\"in\":{\"src\":\"router\",\"dst\":\"observer\"},"
               "\"out\":{\"src\":\"observer\",\"dst\":\"router\"},"
               "\"sll_addr\":\"router\",\"sll2_ifindex\":\"route index + 1\"},\n");
}

static void exp_bins(FILE *f, const struct gen_expect *e)
{
    char name[GEN_ROUTE_NAME];

    if (!e->bins_on) {
        fprintf(f, "\"bins\":null,\n");
        return;
    }
    fprintf(f, "\"bins\":{");
    for (int i = 0; i < e->nroutes; i++) {
        gen_window_route_name(i, name, sizeof(name));
        fprintf(f, "%s\"%s\":[", i ? "],\n" : "\n", name);
        for (size_t k = 0; k < e->nbins; k++) {
            const struct exp_bin *b = &e->bins[i][k];
            fprintf(f,
                    "%s{\"start\":%llu,\"pkts_in\":%llu,\"pkts_out\":%llu,\"bytes_in\":%llu,"
                    "\"bytes_out\":%llu,\"flows_new\":%llu,\"hosts\":%llu,\"ctl_pkts\":%llu}",
                    k ? ",\n " : "\n ", (unsigned long long)((e->first_bin + k) * e->binlen),
                    (unsigned long long)b->pkts[0], (unsigned long long)b->pkts[1],
                    (unsigned long long)b->bytes[0], (unsigned long long)b->bytes[1],
                    (unsigned long long)b->flows_new, (unsigned long long)b->hosts,
                    (unsigned long long)b->ctl_pkts);
        }
    }
    fprintf(f, "%s},\n", e->nroutes ? "]" : "");
}

/* ---- events ---- */

static void exp_events(FILE *f, const struct gen_opt *o)
{
    struct gen_event ev[GEN_MAX_EVENTS];
    int n = gen_window_events(&o->win, o->routes, o->duration, ev);
    char name[GEN_ROUTE_NAME];

    fprintf(f, "\"events\":[");
    for (int i = 0; i < n; i++) {
        if (ev[i].route >= 0)
            gen_window_route_name(ev[i].route, name, sizeof(name));
        fprintf(f, "%s\n {\"event\":\"%s\",\"route\":\"%s\",\"since\":%llu", i ? "," : "",
                ev[i].event, ev[i].route >= 0 ? name : "*",
                (unsigned long long)(o->start + ev[i].since));
        if (ev[i].duration > 0)
            fprintf(f, ",\"duration\":%u", ev[i].duration);
        if (ev[i].cause != NULL)
            fprintf(f, ",\"cause\":\"%s\"", ev[i].cause);
        if (ev[i].silent != NULL)
            fprintf(f, ",\"silent\":\"%s\"", ev[i].silent);
        fprintf(f, "}");
    }
    fprintf(f, "%s]", n ? "\n" : "");
}

static void exp_flows(FILE *f, const struct gen_expect *e)
{
    static const char *const l4names[] = {[1] = "icmp", [6] = "tcp", [17] = "udp", [58] = "icmp6"};
    char name[GEN_ROUTE_NAME];

    fprintf(f, ",\n\"flows\":[");
    for (size_t i = 0; i < e->nflows; i++) {
        const struct gen_flowrec *r = &e->flows[i];
        gen_window_route_name(r->route, name, sizeof(name));
        fprintf(f, "%s\n {\"route\":\"%s\",\"proto\":\"%s\",\"src\":", i ? "," : "", name,
                l4names[r->l4] ? l4names[r->l4] : "?");
        exp_str(f, r->src);
        fprintf(f, ",\"sport\":%u,\"dst\":", r->sport);
        exp_str(f, r->dst);
        fprintf(f, ",\"dport\":%u,\"label\":\"%s\",\"host\":", r->dport, gen_label_names[r->label]);
        if (r->host != NULL)
            exp_str(f, r->host);
        else
            fprintf(f, "null");
        fprintf(f, "}");
    }
    fprintf(f, "%s]", e->nflows ? "\n" : "");
}

int gen_expect_write(const struct gen_expect *e, const struct gen_opt *o, uint64_t end_s, FILE *f)
{
    exp_header(f, e, o, end_s);
    exp_routes(f, e, o);
    exp_bins(f, e);
    exp_events(f, o);
    if (e->nflows > 0)
        exp_flows(f, e);
    fprintf(f, "}\n");
    return ferror(f) ? -1 : 0;
}
