/* gen_conv — conversation endpoints and packet scripts. See gen_conv.h. */
#include "gen_conv.h"

#include <string.h>

#include "gen_app.h"
#include "gen_tls.h"

const char *const gen_label_names[GEN_L_N] = {"DNS", "HTTP", "TLS", "SMTP", "ICMP", "ICMPV6"};

static const uint16_t conv_server_port[GEN_L_N] = {53, 80, 443, 25, 0, 0};

#define MS 1000u

enum { INIT = 0, RESP = 1 };

static uint16_t conv_client_port(struct gen_rng *r)
{
    /* Linux or Windows ephemeral range */
    if (gen_rng_below(r, 3) == 0)
        return (uint16_t)gen_rng_range(r, 49152, 65535);
    return (uint16_t)gen_rng_range(r, 32768, 60999);
}

static uint8_t conv_ttl(struct gen_rng *r, int country)
{
    if (country)
        return (uint8_t)gen_rng_range(r, 48, 58);
    return (uint8_t)(gen_rng_below(r, 3) == 0 ? gen_rng_range(r, 100, 120)
                                              : gen_rng_range(r, 40, 58));
}

static void conv_outside(struct gen_conv *c, int side, int v6, const struct gen_v6prefix *p)
{
    if (v6)
        gen_net_outside_v6(&c->rng, p, &c->addr[side]);
    else
        gen_net_outside_v4(&c->rng, &c->addr[side]);
}

void gen_conv_endpoints(struct gen_conv *c, const struct gen_conv_plan *p,
                        const struct gen_v6prefix *v6)
{
    struct gen_rng *r = &c->rng;
    int is_icmp = p->label == GEN_L_ICMP || p->label == GEN_L_ICMPV6;

    c->country = (uint8_t)(p->country != 0);
    c->ctry_side = (uint8_t)(p->country_init ? INIT : RESP);
    c->host = (uint16_t)p->host;
    if (p->country) {
        gen_net_country_addr(v6, p->host, &c->addr[c->ctry_side]);
        conv_outside(c, 1 - c->ctry_side, p->v6, v6);
        c->far_side = (uint8_t)(1 - c->ctry_side);
    } else {
        conv_outside(c, INIT, p->v6, v6);
        conv_outside(c, RESP, p->v6, v6);
        c->far_side = (uint8_t)gen_rng_below(r, 2);
    }
    c->label = (uint8_t)(is_icmp && p->v6 ? GEN_L_ICMPV6 : p->label);
    c->l4 = (uint8_t)(is_icmp ? (p->v6 ? 58 : 1) : p->label == GEN_L_DNS ? 17 : 6);
    c->port[INIT] = is_icmp ? (uint16_t)gen_rng_below(r, 65536) : conv_client_port(r);
    c->port[RESP] = conv_server_port[c->label];
    for (int s = 0; s < 2; s++) {
        int ctry = c->country && s == c->ctry_side;
        c->seq[s] = (uint32_t)gen_rng_next(r);
        c->ipid[s] = (uint16_t)gen_rng_below(r, 65536);
        c->ttl[s] = conv_ttl(r, ctry);
        c->rtt[s] = ctry ? gen_rng_range(r, 15 * MS, 90 * MS) : gen_rng_range(r, 4 * MS, 220 * MS);
    }
    c->flowlabel = (uint32_t)gen_rng_below(r, 1u << 20);
    c->bare_syn = (uint8_t)(p->syn_only != 0);
    c->nsteps = 0;
    c->next = 0;
    c->used = 0;
    c->counted = 0;
}

void gen_conv_redraw(struct gen_conv *c, const struct gen_v6prefix *v6)
{
    if (c->l4 == 1 || c->l4 == 58)
        conv_outside(c, 1 - c->ctry_side, c->addr[0].v6, v6);
    else
        c->port[INIT] = conv_client_port(&c->rng);
}

uint64_t gen_conv_key(const struct gen_conv *c)
{
    int icmp = c->l4 == 1 || c->l4 == 58;
    uint64_t h[2];

    for (int s = 0; s < 2; s++) {
        uint64_t w[2] = {0, 0};
        for (int i = 0; i < 16; i++)
            w[i / 8] = w[i / 8] << 8 | c->addr[s].b[i];
        h[s] = gen_mix64(w[0] ^ gen_mix64(w[1] ^ ((uint64_t)(icmp ? 0 : c->port[s]) << 8 | c->l4)));
    }
    /* order-free combination, so both directions give the same key */
    return gen_mix64((h[0] < h[1] ? h[0] : h[1]) * 31 + (h[0] < h[1] ? h[1] : h[0]));
}

/* ---- script building ---- */

static int conv_step(struct gen_conv *c, uint32_t gap, int from, uint8_t flags, size_t off,
                     size_t len)
{
    struct gen_step *st;

    if (c->nsteps >= GEN_MAX_STEPS)
        return -1;
    st = &c->st[c->nsteps++];
    st->gap_us = gap;
    st->off = (uint16_t)off;
    st->len = (uint16_t)len;
    st->from_resp = (uint8_t)from;
    st->flags = flags;
    st->retx = 0;
    return 0;
}

/* Writer over the free part of the conversation buffer. */
static void conv_wr(struct gen_conv *c, struct gen_wr *w)
{
    gen_wr_init(w, c->buf + c->used, sizeof(c->buf) - c->used);
}

/* Keep what w wrote; returns its offset in buf, or -1 on overflow. */
static int conv_keep(struct gen_conv *c, const struct gen_wr *w, size_t *len)
{
    size_t off = c->used;

    if (w->err)
        return -1;
    c->used = (uint16_t)(c->used + w->len);
    *len = w->len;
    return (int)off;
}

static uint32_t conv_jitter(struct gen_conv *c, uint32_t lo, uint32_t hi)
{
    return gen_rng_range(&c->rng, lo, hi);
}

/* Time from the observer seeing a packet toward side `to` until it sees
 * that side's answer: the round trip plus the host's own delay. */
static uint32_t conv_answer(struct gen_conv *c, int to, uint32_t think_lo, uint32_t think_hi)
{
    return c->rtt[to] + conv_jitter(c, think_lo, think_hi);
}

static int conv_tcp_open(struct gen_conv *c)
{
    int rc = conv_step(c, 0, INIT, GEN_TH_SYN, 0, 0);

    rc |= conv_step(c, conv_answer(c, RESP, 20, 400), RESP, GEN_TH_SYN | GEN_TH_ACK, 0, 0);
    rc |= conv_step(c, conv_answer(c, INIT, 20, 200), INIT, GEN_TH_ACK, 0, 0);
    return rc;
}

/* Data from `from` in MSS-sized segments; the first after gap. */
static int conv_tcp_send(struct gen_conv *c, uint32_t gap, int from, int off, size_t len)
{
    size_t mss = c->addr[0].v6 ? 1440 : 1460;
    int rc = off < 0 ? -1 : 0;

    for (size_t done = 0; rc == 0 && done < len;) {
        size_t n = len - done < mss ? len - done : mss;
        uint8_t fl = (uint8_t)(GEN_TH_ACK | (done + n == len ? GEN_TH_PSH : 0));
        rc = conv_step(c, done == 0 ? gap : conv_jitter(c, 15, 400), from, fl, (size_t)off + done,
                       n);
        done += n;
    }
    return rc;
}

/* FIN from `first`, FIN from the other side, last ACK. */
static int conv_tcp_close(struct gen_conv *c, uint32_t gap, int first)
{
    int rc = conv_step(c, gap, first, GEN_TH_FIN | GEN_TH_ACK, 0, 0);

    rc |=
        conv_step(c, conv_answer(c, 1 - first, 50, 2000), 1 - first, GEN_TH_FIN | GEN_TH_ACK, 0, 0);
    rc |= conv_step(c, conv_answer(c, first, 20, 200), first, GEN_TH_ACK, 0, 0);
    return rc;
}

static const char *conv_name(const struct gen_conv_plan *p)
{
    return gen_app_names[p->name % GEN_APP_NNAMES];
}

static int conv_dns(struct gen_conv *c, const struct gen_conv_plan *p,
                    const struct gen_v6prefix *v6)
{
    uint16_t id = (uint16_t)gen_rng_below(&c->rng, 65536);
    struct gen_addr ans;
    struct gen_wr w;
    size_t qlen = 0, alen = 0;
    int qoff, aoff, rc;

    conv_wr(c, &w);
    gen_dns_query(&w, id, conv_name(p), p->v6);
    qoff = conv_keep(c, &w, &qlen);
    gen_net_country_addr(v6, gen_net_server(p->name, p->v6), &ans);
    conv_wr(c, &w);
    gen_dns_answer(&w, id, conv_name(p), &ans, 3600);
    aoff = conv_keep(c, &w, &alen);
    if (qoff < 0 || aoff < 0)
        return -1;
    rc = conv_step(c, 0, INIT, 0, (size_t)qoff, qlen);
    if (p->unanswered)
        return rc | conv_step(c, 2000 * MS, INIT, 0, (size_t)qoff, qlen);
    return rc | conv_step(c, conv_answer(c, RESP, 100, 5000), RESP, 0, (size_t)aoff, alen);
}

static int conv_http(struct gen_conv *c, const struct gen_conv_plan *p)
{
    struct gen_wr w;
    size_t qlen = 0, rlen = 0;
    int qoff, roff, rc;

    conv_wr(c, &w);
    gen_http_request(&w, &c->rng, conv_name(p));
    qoff = conv_keep(c, &w, &qlen);
    conv_wr(c, &w);
    gen_http_response(&w, &c->rng, conv_name(p), p->t_us / 1000000,
                      gen_rng_range(&c->rng, 300, 4000));
    roff = conv_keep(c, &w, &rlen);
    rc = conv_tcp_open(c);
    rc |= conv_tcp_send(c, conv_jitter(c, 100, 3000), INIT, qoff, qlen);
    rc |= conv_tcp_send(c, conv_answer(c, RESP, 500, 30000), RESP, roff, rlen);
    rc |= conv_tcp_close(c, conv_jitter(c, 50, 300), RESP);
    return rc;
}

/* The four TLS flights: ClientHello; ServerHello..; client Finished and
 * request; server response. */
static void conv_tls_flight(struct gen_conv *c, struct gen_wr *w, int k, int tls13,
                            const uint8_t *sid, const char *name)
{
    struct gen_rng *r = &c->rng;

    if (k == 0) {
        gen_tls_client_hello(w, r, name, tls13, sid);
    } else if (k == 1) {
        gen_tls_server_hello(w, r, tls13, sid);
        gen_tls_ccs(w);
        if (tls13)
            gen_tls_record(w, r, GEN_TLS_APPDATA, (uint16_t)gen_rng_range(r, 1200, 3500));
        else
            gen_tls_record(w, r, GEN_TLS_HANDSHAKE, 40);
    } else if (k == 2) {
        gen_tls_ccs(w);
        gen_tls_record(w, r, tls13 ? GEN_TLS_APPDATA : GEN_TLS_HANDSHAKE, tls13 ? 53 : 40);
        gen_tls_record(w, r, GEN_TLS_APPDATA, (uint16_t)gen_rng_range(r, 200, 700));
    } else {
        if (tls13)
            gen_tls_record(w, r, GEN_TLS_APPDATA, (uint16_t)gen_rng_range(r, 200, 280));
        gen_tls_record(w, r, GEN_TLS_APPDATA, (uint16_t)gen_rng_range(r, 300, 6000));
    }
}

static int conv_tls(struct gen_conv *c, const struct gen_conv_plan *p)
{
    static const uint32_t think[4][2] = {{100, 3000}, {500, 20000}, {200, 5000}, {1000, 40000}};
    int tls13 = gen_rng_below(&c->rng, 10) < 7;
    uint8_t sid[GEN_TLS_SID];
    int rc = conv_tcp_open(c);

    gen_rng_fill(&c->rng, sid, sizeof(sid));
    for (int k = 0; k < 4; k++) {
        struct gen_wr w;
        size_t len = 0;
        int off, side = k % 2;
        uint32_t gap;

        conv_wr(c, &w);
        conv_tls_flight(c, &w, k, tls13, sid, conv_name(p));
        off = conv_keep(c, &w, &len);
        gap = k == 0 ? conv_jitter(c, think[0][0], think[0][1])
                     : conv_answer(c, side, think[k][0], think[k][1]);
        rc |= conv_tcp_send(c, gap, side, off, len);
    }
    rc |= conv_step(c, conv_answer(c, INIT, 20, 200), INIT, GEN_TH_ACK, 0, 0);
    rc |= conv_tcp_close(c, conv_jitter(c, 5 * MS, 500 * MS), INIT);
    return rc;
}

static int conv_smtp(struct gen_conv *c, const struct gen_conv_plan *p)
{
    static const char *const clients[] = {"mx1.mailrelay.net", "smtp.post-office.org",
                                          "mail.tradelink.com", "relay.newsdesk.info"};
    static const enum gen_smtp_line lines[] = {GEN_SMTP_BANNER, GEN_SMTP_EHLO, GEN_SMTP_EHLO_OK,
                                               GEN_SMTP_QUIT, GEN_SMTP_BYE};
    const char *client = clients[gen_rng_below(&c->rng, 4)];
    int rc = conv_tcp_open(c);

    for (int k = 0; k < 5; k++) {
        int side = k % 2 == 0 ? RESP : INIT;
        struct gen_wr w;
        size_t len = 0;
        int off;

        conv_wr(c, &w);
        gen_smtp_line(&w, lines[k], conv_name(p), client);
        off = conv_keep(c, &w, &len);
        rc |= conv_tcp_send(c, conv_answer(c, side, 300, 20000), side, off, len);
    }
    rc |= conv_tcp_close(c, conv_jitter(c, 50, 300), RESP);
    return rc;
}

static int conv_icmp(struct gen_conv *c, const struct gen_conv_plan *p)
{
    int n = (int)gen_rng_range(&c->rng, 1, 4);
    uint32_t back = 0;
    int rc = 0;

    for (int k = 0; k < n; k++) {
        uint64_t t = p->t_us + (uint64_t)k * 1000 * MS;
        struct gen_wr w;
        size_t qlen = 0, alen = 0;
        int qoff, aoff;

        conv_wr(c, &w);
        gen_icmp_echo(&w, p->v6, 0, c->port[INIT], (uint16_t)(k + 1), t);
        qoff = conv_keep(c, &w, &qlen);
        conv_wr(c, &w);
        gen_icmp_echo(&w, p->v6, 1, c->port[INIT], (uint16_t)(k + 1), t);
        aoff = conv_keep(c, &w, &alen);
        if (qoff < 0 || aoff < 0)
            return -1;
        rc |= conv_step(c, k == 0 ? 0 : 1000 * MS - back + conv_jitter(c, 0, 900), INIT, 0,
                        (size_t)qoff, qlen);
        back = 0;
        if (!p->unanswered) {
            back = conv_answer(c, RESP, 10, 300);
            rc |= conv_step(c, back, RESP, 0, (size_t)aoff, alen);
        }
    }
    return rc;
}

/* A SYN nobody answers, sent again after 1 s and 2 s more. */
static int conv_syn_retries(struct gen_conv *c)
{
    int rc = conv_step(c, 0, INIT, GEN_TH_SYN, 0, 0);

    rc |= conv_step(c, 1000 * MS, INIT, GEN_TH_SYN, 0, 0);
    rc |= conv_step(c, 2000 * MS, INIT, GEN_TH_SYN, 0, 0);
    if (rc == 0) {
        c->st[1].retx = 1;
        c->st[2].retx = 1;
    }
    return rc;
}

int gen_conv_script(struct gen_conv *c, const struct gen_conv_plan *p,
                    const struct gen_v6prefix *v6)
{
    if (p->syn_only)
        return conv_step(c, 0, INIT, GEN_TH_SYN, 0, 0);
    if (p->unanswered && c->l4 == 6)
        return conv_syn_retries(c);
    switch (c->label) {
    case GEN_L_DNS:
        return conv_dns(c, p, v6);
    case GEN_L_HTTP:
        return conv_http(c, p);
    case GEN_L_TLS:
        return conv_tls(c, p);
    case GEN_L_SMTP:
        return conv_smtp(c, p);
    default:
        return conv_icmp(c, p);
    }
}

int gen_conv_next(struct gen_conv *c, struct gen_pkt *pkt)
{
    const struct gen_step *st;
    int s, o;

    if (c->next >= c->nsteps)
        return -1;
    st = &c->st[c->next++];
    s = st->from_resp;
    o = 1 - s;
    memset(pkt, 0, sizeof(*pkt));
    pkt->src = &c->addr[s];
    pkt->dst = &c->addr[o];
    pkt->l4 = c->l4;
    pkt->sport = c->port[s];
    pkt->dport = c->port[o];
    if (c->l4 == 6) {
        pkt->seq = c->seq[s];
        pkt->ack = st->flags & GEN_TH_ACK ? c->seq[o] : 0;
        pkt->flags = st->flags;
        pkt->win = st->flags & GEN_TH_SYN ? (s == INIT ? 64240 : 65160) : 502;
        pkt->bare_syn = c->bare_syn;
        if (!st->retx)
            c->seq[s] += st->len + (st->flags & (GEN_TH_SYN | GEN_TH_FIN) ? 1u : 0u);
    }
    pkt->ip_id = c->ipid[s]++;
    pkt->ttl = c->ttl[s];
    pkt->df = c->l4 != 17;
    pkt->flowlabel = c->flowlabel;
    pkt->payload = c->buf + st->off;
    pkt->len = st->len;
    pkt->route = c->route;
    pkt->from_router = (uint8_t)(s == c->far_side);
    return 0;
}

int gen_conv_more(const struct gen_conv *c, uint32_t *gap_us)
{
    if (c->next >= c->nsteps)
        return 0;
    *gap_us = c->st[c->next].gap_us;
    return 1;
}
