/* gen_sched — heap, arrival streams, windows and frame emission. See gen_sched.h. */
#include "gen_sched.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_app.h"
#include "gen_conv.h"
#include "gen_emit.h"
#include "gen_frame.h"

#define US                1000000ULL
#define SCHED_SLAB        64
#define SCHED_MAX_STREAMS (2 * GEN_MAX_ROUTES + GEN_MAX_WIN * GEN_MAX_ROUTES + 1)
#define SESSION_MAX       1000 /* conversations of one session at most */
#define SESSION_GAP_S     2.0  /* mean gap between the conversations of a session */

enum sched_type { ST_COUNTRY, ST_BG, ST_SYNFLOOD, ST_PROTO, ST_CONV, ST_SESSION };

struct sched_stream {
    enum sched_type type;
    int route;
    int win;
    int n;       /* proto: conversations made so far */
    double lmax; /* candidate arrivals per second */
    struct gen_rng rng;
};

struct sched_ev {
    uint64_t t;
    uint64_t seq; /* ties keep insertion order, so runs are reproducible */
    void *obj;
    enum sched_type type;
};

struct sched_heap {
    struct sched_ev *ev;
    size_t n, cap;
};

/* Set of 64-bit 5-tuple fingerprints (open addressing, 0 = empty). */
struct sched_keys {
    uint64_t *slot;
    size_t n, cap;
};

struct sched_slab {
    struct sched_slab *next;
    struct gen_conv conv[SCHED_SLAB];
};

/* The conversations still to come of a country session (--sessions). */
struct sched_session {
    struct gen_rng rng;
    int route;     /* its stream's route (failovers apply per conversation) */
    unsigned left; /* conversations still to come */
    unsigned host; /* the country host of every conversation */
};

struct sched_ctx {
    const struct gen_opt *o;
    struct gen_expect *exp;
    struct sched_heap heap;
    struct sched_keys keys;
    struct sched_slab *slabs;
    struct gen_conv *free;
    double per_arrival; /* country conversations per arrival: 1, or a session's mean */
    struct gen_emit em;
    int nstreams;
    struct sched_stream streams[SCHED_MAX_STREAMS];
    uint64_t start_us, end_us, seq, country_convs;
    int capped; /* the flow cap stopped the arrivals */
    char *err;
    size_t errlen;
};

/* ---- heap ---- */

static int ev_before(const struct sched_ev *a, const struct sched_ev *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int heap_push(struct sched_ctx *x, uint64_t t, void *obj, enum sched_type type)
{
    struct sched_heap *h = &x->heap;
    size_t i;

    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 4096;
        struct sched_ev *ev = realloc(h->ev, cap * sizeof(*ev));
        if (ev == NULL) {
            snprintf(x->err, x->errlen, "out of memory");
            return -1;
        }
        h->ev = ev;
        h->cap = cap;
    }
    i = h->n++;
    h->ev[i] = (struct sched_ev){t, x->seq++, obj, type};
    while (i > 0 && ev_before(&h->ev[i], &h->ev[(i - 1) / 2])) {
        struct sched_ev tmp = h->ev[i];
        h->ev[i] = h->ev[(i - 1) / 2];
        h->ev[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
    return 0;
}

static struct sched_ev heap_pop(struct sched_heap *h)
{
    struct sched_ev top = h->ev[0];
    size_t i = 0;

    h->ev[0] = h->ev[--h->n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && ev_before(&h->ev[l], &h->ev[m]))
            m = l;
        if (r < h->n && ev_before(&h->ev[r], &h->ev[m]))
            m = r;
        if (m == i)
            break;
        struct sched_ev tmp = h->ev[i];
        h->ev[i] = h->ev[m];
        h->ev[m] = tmp;
        i = m;
    }
    return top;
}

/* ---- 5-tuple set ---- */

static int keys_grow(struct sched_keys *k)
{
    size_t cap = k->cap ? k->cap * 2 : 1u << 16;
    uint64_t *slot = calloc(cap, sizeof(*slot));

    if (slot == NULL)
        return -1;
    for (size_t i = 0; i < k->cap; i++) {
        size_t j = k->slot[i] & (cap - 1);
        if (k->slot[i] == 0)
            continue;
        while (slot[j] != 0)
            j = (j + 1) & (cap - 1);
        slot[j] = k->slot[i];
    }
    free(k->slot);
    k->slot = slot;
    k->cap = cap;
    return 0;
}

/* Returns 1 if key was added, 0 if already there, -1 when out of memory. */
static int keys_add(struct sched_keys *k, uint64_t key)
{
    size_t j;

    if (key == 0)
        key = 1;
    if (2 * (k->n + 1) > k->cap && keys_grow(k) < 0)
        return -1;
    for (j = key & (k->cap - 1); k->slot[j] != 0; j = (j + 1) & (k->cap - 1))
        if (k->slot[j] == key)
            return 0;
    k->slot[j] = key;
    k->n++;
    return 1;
}

/* ---- rates ---- */

static double sched_profile(const struct gen_opt *o, uint64_t rel_us)
{
    double t = (double)rel_us / 1e6;
    double day;

    switch (o->profile) {
    case GEN_PROF_DECLINE: /* 100% until 1 h, linear to 30% at 5 h */
        if (t < 3600)
            return 1.0;
        return t >= 18000 ? 0.3 : 1.0 - 0.7 * (t - 3600) / 14400;
    case GEN_PROF_DIURNAL: /* 30%..100% (--trough), peak at 06:00 UTC (15:00 in Pyongyang) */
        day = fmod((double)o->start + t, 86400.0);
        return o->day_hi + o->day_amp * cos(2.0 * M_PI * (day - 21600.0) / 86400.0);
    case GEN_PROF_FLAT:
        break;
    }
    return 1.0;
}

static double sched_factor(const struct gen_opt *o, int route, uint64_t rel_us)
{
    return sched_profile(o, rel_us) * gen_window_scale(&o->win, route, rel_us);
}

/* ---- conversations ---- */

static struct gen_conv *conv_alloc(struct sched_ctx *x)
{
    struct gen_conv *c;

    if (x->free == NULL) {
        struct sched_slab *s = malloc(sizeof(*s));
        if (s == NULL)
            return NULL;
        s->next = x->slabs;
        x->slabs = s;
        for (int i = 0; i < SCHED_SLAB; i++) {
            s->conv[i].next_free = x->free;
            x->free = &s->conv[i];
        }
    }
    c = x->free;
    x->free = c->next_free;
    return c;
}

static void conv_release(struct sched_ctx *x, struct gen_conv *c)
{
    c->next_free = x->free;
    x->free = c;
}

/* Percent of flood-mix country conversations that are a lone spoofed SYN. */
#define SCHED_FLOOD_SYN_PCT 30

static enum gen_label sched_label(enum gen_mix mix, struct gen_rng *r)
{
    /* DNS, HTTP, TLS, SMTP, ICMP in percent: full and light mixes */
    static const uint8_t weights[2][5] = {{30, 20, 30, 8, 12}, {90, 0, 0, 0, 10}};
    const uint8_t *w = weights[mix == GEN_MIX_LIGHT];
    uint32_t u = gen_rng_below(r, 100);
    int l = 0;

    while (l < 4 && u >= w[l]) {
        u -= w[l];
        l++;
    }
    return (enum gen_label)l;
}

static void sched_plan(const struct sched_ctx *x, struct gen_rng *r, enum sched_type type,
                       uint64_t t, struct gen_conv_plan *p)
{
    const struct gen_opt *o = x->o;
    int syn = type == ST_SYNFLOOD || (type == ST_COUNTRY && o->mix == GEN_MIX_FLOOD &&
                                      gen_rng_below(r, 100) < SCHED_FLOOD_SYN_PCT);

    memset(p, 0, sizeof(*p));
    p->country = type != ST_BG;
    p->t_us = t;
    p->syn_only = syn;
    p->label = syn ? (gen_rng_below(r, 2) ? GEN_L_HTTP : GEN_L_TLS) : sched_label(o->mix, r);
    p->v6 = o->v6.set && gen_rng_below(r, 5) == 0;
    p->country_init = p->country && !syn && gen_rng_below(r, 5) == 0;
    p->host = gen_net_pick_country(r, p->v6);
    p->name = gen_rng_below(r, GEN_APP_NNAMES);
}

/* Start a conversation at t, its random stream split from rng; NULL with x->err filled on
 * failure. */
static struct gen_conv *sched_start_conv(struct sched_ctx *x, struct gen_rng *rng,
                                         const struct gen_conv_plan *p, int route, uint64_t t)
{
    struct gen_conv *c = conv_alloc(x);
    int added = 0;

    if (c == NULL)
        goto nomem;
    gen_rng_split(rng, &c->rng);
    c->route = (uint8_t)route;
    gen_conv_endpoints(c, p, &x->o->v6);
    while (p->country && added == 0) { /* every country 5-tuple is unique in the file */
        added = keys_add(&x->keys, gen_conv_key(c));
        if (added == 0)
            gen_conv_redraw(c, &x->o->v6);
    }
    if (added < 0)
        goto nomem;
    x->country_convs += (uint64_t)p->country;
    if (gen_conv_script(c, p, &x->o->v6) < 0) {
        snprintf(x->err, x->errlen, "internal error: conversation script too large");
        conv_release(x, c);
        return NULL;
    }
    if (heap_push(x, t, c, ST_CONV) < 0) {
        conv_release(x, c);
        return NULL;
    }
    return c;
nomem:
    snprintf(x->err, x->errlen, "out of memory");
    if (c != NULL)
        conv_release(x, c);
    return NULL;
}

/* ---- packets ---- */

/* Account and write one conversation packet, unless a window silences it. */
static int sched_packet(struct sched_ctx *x, struct gen_conv *c, struct gen_pkt *p, uint64_t t)
{
    const struct gen_opt *o = x->o;
    uint64_t rel = t - x->start_us;
    struct gen_acct a;

    memset(&a, 0, sizeof(a));
    a.route = c->route;
    a.kind = GEN_K_CTL;
    if (gen_window_active(&o->win, GEN_WIN_BLIND, c->route, rel))
        return 0;
    if (c->country) {
        a.kind = p->dst == &c->addr[c->ctry_side] ? GEN_K_IN : GEN_K_OUT;
        if (gen_window_active(&o->win, GEN_WIN_OUTAGE, c->route, rel) ||
            gen_window_active(&o->win, GEN_WIN_FAILOVER, c->route, rel))
            return 0;
        if (a.kind == GEN_K_OUT && gen_window_active(&o->win, GEN_WIN_ONEWAY, c->route, rel))
            return 0;
        a.label = c->label;
        a.host = c->host;
        a.new_flow = !c->counted;
        c->counted = 1;
    }
    a.payload = (c->l4 == 1 || c->l4 == 58) ? p->len > 8 : p->len > 0;
    return gen_emit_packet(&x->em, p, &a, t, x->err, x->errlen);
}

static int sched_conv(struct sched_ctx *x, struct gen_conv *c, uint64_t t)
{
    struct gen_pkt pkt;
    uint32_t gap;

    if (gen_conv_next(c, &pkt) == 0 && sched_packet(x, c, &pkt, t) < 0)
        return -1;
    if (gen_conv_more(c, &gap))
        return heap_push(x, t + gap, c, ST_CONV);
    conv_release(x, c);
    return 0;
}

/* ---- arrival streams ---- */

/* A planned conversation at t on route, unless an outage or a one-way window stops it. */
static int sched_launch(struct sched_ctx *x, struct gen_rng *rng, struct gen_conv_plan *p,
                        int route, uint64_t t)
{
    const struct gen_opt *o = x->o;
    uint64_t rel = t - x->start_us;

    if (p->country && gen_window_active(&o->win, GEN_WIN_OUTAGE, route, rel))
        return 0;
    if (p->country && gen_window_active(&o->win, GEN_WIN_ONEWAY, route, rel)) {
        if (p->country_init)
            return 0; /* the country's own hosts are dark */
        p->unanswered = 1;
    }
    return sched_start_conv(x, rng, p, route, t) != NULL ? 0 : -1;
}

/* Conversations in a session: floor of a Pareto(ALPHA) draw, at most SESSION_MAX. */
static unsigned sched_session_size(const struct gen_opt *o, struct gen_rng *r)
{
    double k = pow(1.0 - gen_rng_unit(r), -1.0 / o->sessions);
    return k >= SESSION_MAX ? SESSION_MAX : (unsigned)k;
}

static uint64_t sched_session_gap(struct gen_rng *r)
{
    return (uint64_t)floor(gen_rng_exp(r, SESSION_GAP_S * 1e6) + 0.5) + 1;
}

/* A new country session of stream s opened by the conversation planned as p. */
static int sched_open_session(struct sched_ctx *x, struct sched_stream *s,
                              const struct gen_conv_plan *p, uint64_t t)
{
    unsigned k = sched_session_size(x->o, &s->rng);
    struct sched_session *ss;

    if (k < 2)
        return 0;
    ss = malloc(sizeof(*ss)); /* freed when it ends, or by sched_free (the heap holds it) */
    if (ss == NULL) {
        snprintf(x->err, x->errlen, "out of memory");
        return -1;
    }
    gen_rng_split(&s->rng, &ss->rng);
    ss->route = s->route;
    ss->left = k - 1;
    ss->host = p->host;
    if (heap_push(x, t + sched_session_gap(&ss->rng), ss, ST_SESSION) < 0) {
        free(ss);
        return -1;
    }
    return 0;
}

/* The next conversation of a session. */
static int sched_session(struct sched_ctx *x, struct sched_session *ss, uint64_t t)
{
    const struct gen_opt *o = x->o;
    uint64_t rel = t - x->start_us;
    struct gen_conv_plan p;
    int rc = 0;

    sched_plan(x, &ss->rng, ST_COUNTRY, t, &p);
    p.host = ss->host;
    if (!gen_window_active(&o->win, GEN_WIN_BLIND, ss->route, rel) &&
        (o->max_flows == 0 || x->country_convs < o->max_flows))
        rc = sched_launch(x, &ss->rng, &p, gen_window_failover(&o->win, ss->route, rel), t);
    if (rc == 0 && --ss->left > 0 && t < x->end_us) {
        rc = heap_push(x, t + sched_session_gap(&ss->rng), ss, ST_SESSION);
        if (rc == 0)
            return 0; /* the session goes on */
    }
    free(ss);
    return rc;
}

/* One candidate arrival of stream s at t: thinning, then the windows. */
static int sched_arrival(struct sched_ctx *x, struct sched_stream *s, uint64_t t)
{
    const struct gen_opt *o = x->o;
    uint64_t rel = t - x->start_us;
    double u = gen_rng_unit(&s->rng);
    struct gen_conv_plan p;
    int route = s->route;

    sched_plan(x, &s->rng, s->type, t, &p);
    if (gen_window_active(&o->win, GEN_WIN_BLIND, route, rel))
        return 0;
    if (s->type == ST_COUNTRY) {
        double rate = o->sessions > 0 ? o->rate / x->per_arrival : o->rate;
        if (u * s->lmax >= rate * sched_factor(o, route, rel))
            return 0;
        if (o->max_flows != 0 && x->country_convs >= o->max_flows)
            return 0;
        if (o->sessions > 0 && sched_open_session(x, s, &p, t) < 0)
            return -1;
        route = gen_window_failover(&o->win, route, rel);
    }
    return sched_launch(x, &s->rng, &p, route, t);
}

/* The proto scenario: one conversation per protocol (and per IP version
 * with --v6), two seconds apart, each listed in the flows list. */
static int sched_proto(struct sched_ctx *x, struct sched_stream *s, uint64_t t)
{
    static const enum gen_label order[5] = {GEN_L_DNS, GEN_L_HTTP, GEN_L_TLS, GEN_L_SMTP,
                                            GEN_L_ICMP};
    static const uint8_t names[5] = {0, 4, 5, 2, 6};
    struct gen_conv_plan p;
    struct gen_flowrec f;
    struct gen_conv *c;
    int k = s->n % 5;

    memset(&p, 0, sizeof(p));
    p.country = 1;
    p.label = order[k];
    p.v6 = s->n >= 5;
    p.host = gen_net_server((unsigned)k, p.v6);
    p.name = names[k];
    p.t_us = t;
    c = sched_start_conv(x, &s->rng, &p, 0, t);
    if (c == NULL)
        return -1;
    memset(&f, 0, sizeof(f));
    f.route = c->route;
    f.label = c->label;
    f.l4 = c->l4;
    gen_net_format(&c->addr[0], f.src, sizeof(f.src));
    gen_net_format(&c->addr[1], f.dst, sizeof(f.dst));
    f.sport = c->l4 == 6 || c->l4 == 17 ? c->port[0] : 0;
    f.dport = c->l4 == 6 || c->l4 == 17 ? c->port[1] : 0;
    f.host = k < 3 ? gen_app_names[names[k]] : NULL;
    if (gen_expect_flow(x->exp, &f) < 0) {
        snprintf(x->err, x->errlen, "out of memory");
        return -1;
    }
    if (++s->n < (x->o->v6.set ? 10 : 5))
        return heap_push(x, t + 2 * US, s, ST_PROTO);
    return 0;
}

static uint64_t sched_gap(struct sched_stream *s)
{
    return (uint64_t)floor(gen_rng_exp(&s->rng, 1e6 / s->lmax) + 0.5);
}

static int sched_stream(struct sched_ctx *x, struct sched_stream *s, uint64_t t)
{
    uint64_t limit = x->end_us;
    uint64_t next;

    if (s->type == ST_PROTO)
        return sched_proto(x, s, t);
    if (sched_arrival(x, s, t) < 0)
        return -1;
    if (s->type == ST_SYNFLOOD && x->start_us + x->o->win.w[s->win].end * US < limit)
        limit = x->start_us + x->o->win.w[s->win].end * US;
    if (s->type != ST_BG && x->o->max_flows != 0 && x->country_convs >= x->o->max_flows) {
        x->capped = 1;
        return 0;
    }
    next = t + sched_gap(s);
    return next < limit ? heap_push(x, next, s, s->type) : 0;
}

/* ---- setup and main loop ---- */

static int sched_add_stream(struct sched_ctx *x, enum sched_type type, int route, int win,
                            double lmax, uint64_t from)
{
    struct sched_stream *s;

    if (x->nstreams >= SCHED_MAX_STREAMS || lmax <= 0)
        return 0;
    s = &x->streams[x->nstreams++];
    memset(s, 0, sizeof(*s));
    s->type = type;
    s->route = route;
    s->win = win;
    s->lmax = lmax;
    gen_rng_seed(&s->rng, gen_mix64(x->o->seed) ^ gen_mix64((uint64_t)type << 32 |
                                                            (uint64_t)route << 16 | (uint64_t)win));
    return heap_push(x, type == ST_PROTO ? from : from + sched_gap(s), s, type);
}

static int sched_setup(struct sched_ctx *x)
{
    const struct gen_opt *o = x->o;
    int rc = 0;

    if (o->mix == GEN_MIX_PROTO)
        return sched_add_stream(x, ST_PROTO, 0, 0, 1.0, x->start_us + US);
    x->per_arrival = 1;
    for (int k = 2; o->sessions > 0 && k <= SESSION_MAX; k++)
        x->per_arrival += pow(k, -o->sessions); /* E[K] = sum of P(K >= k) */
    for (int r = 0; r < o->routes; r++) {
        double lmax = o->rate * gen_window_max_scale(&o->win);
        rc |= sched_add_stream(x, ST_COUNTRY, r, 0, o->sessions > 0 ? lmax / x->per_arrival : lmax,
                               x->start_us);
        rc |= sched_add_stream(x, ST_BG, r, 0, o->bg, x->start_us);
    }
    for (int i = 0; i < o->win.n; i++) {
        const struct gen_window *w = &o->win.w[i];
        for (int r = 0; w->kind == GEN_WIN_SYNFLOOD && r < o->routes; r++)
            if (w->routes >> r & 1u)
                rc |= sched_add_stream(x, ST_SYNFLOOD, r, i, w->value, x->start_us + w->start * US);
    }
    return rc;
}

static void sched_free(struct sched_ctx *x)
{
    while (x->slabs != NULL) {
        struct sched_slab *next = x->slabs->next;
        free(x->slabs);
        x->slabs = next;
    }
    for (size_t i = 0; i < x->heap.n; i++)
        if (x->heap.ev[i].type == ST_SESSION)
            free(x->heap.ev[i].obj);
    free(x->heap.ev);
    free(x->keys.slot);
    free(x);
}

int gen_sched_run(const struct gen_opt *o, struct gen_pcap *out, struct gen_expect *exp,
                  uint64_t *end_s, char *err, size_t errlen)
{
    struct sched_ctx *x = calloc(1, sizeof(*x));
    int rc = 0;

    if (x == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    x->o = o;
    x->exp = exp;
    x->err = err;
    x->errlen = errlen;
    x->start_us = o->start * US;
    x->end_us = x->start_us + o->duration * US;
    gen_emit_init(&x->em, o, out, exp);
    rc = sched_setup(x);
    while (rc == 0 && x->heap.n > 0 && !x->em.full) {
        struct sched_ev ev = heap_pop(&x->heap);
        if (ev.type == ST_CONV)
            rc = sched_conv(x, ev.obj, ev.t);
        else if (ev.type == ST_SESSION)
            rc = sched_session(x, ev.obj, ev.t);
        else
            rc = sched_stream(x, ev.obj, ev.t);
    }
    *end_s = o->start + o->duration;
    if (x->em.full || x->capped)
        *end_s = x->em.last_t / US + 1;
    sched_free(x);
    return rc;
}
