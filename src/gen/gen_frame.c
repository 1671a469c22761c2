/* gen_frame — datagrams, fragments and link-layer frames. See gen_frame.h. */
#include "gen_frame.h"

#include <string.h>

static const uint8_t frame_observer_mac[6] = {0x02, 0, 0, 0, 0, 0x01};

/* Sum of the pseudo-header of p for an L4 length of n. */
static uint32_t frame_pseudo(const struct gen_pkt *p, size_t n)
{
    uint8_t tail[8] = {0};
    size_t alen = p->src->v6 ? 16 : 4;
    uint32_t sum = 0;

    sum = gen_net_csum_add(sum, p->src->b, alen);
    sum = gen_net_csum_add(sum, p->dst->b, alen);
    gen_net_put32(tail, (uint32_t)n);
    tail[7] = p->l4;
    return gen_net_csum_add(sum, tail, 8);
}

static size_t frame_tcp(const struct gen_pkt *p, uint8_t *l4, size_t cap)
{
    /* MSS, NOP, window scale 7, NOP, NOP, SACK permitted */
    uint8_t opt[12] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2};
    size_t optlen = (p->flags & GEN_TH_SYN) && !p->bare_syn ? sizeof(opt) : 0;
    size_t hl = 20 + optlen;

    if (hl + p->len > cap)
        return 0;
    if (p->src->v6)
        opt[3] = 0xa0; /* MSS 1440 */
    gen_net_put16(l4, p->sport);
    gen_net_put16(l4 + 2, p->dport);
    gen_net_put32(l4 + 4, p->seq);
    gen_net_put32(l4 + 8, p->ack);
    l4[12] = (uint8_t)((hl / 4) << 4);
    l4[13] = p->flags;
    gen_net_put16(l4 + 14, p->win);
    gen_net_put32(l4 + 16, 0); /* checksum, urgent pointer */
    memcpy(l4 + 20, opt, optlen);
    if (p->len > 0)
        memcpy(l4 + hl, p->payload, p->len);
    return hl + p->len;
}

/* The L4 segment of p at l4 with its checksum. Returns its length, or 0. */
static size_t frame_l4(const struct gen_pkt *p, uint8_t *l4, size_t cap)
{
    size_t n;
    int ck;

    if (p->l4 == 6) {
        n = frame_tcp(p, l4, cap);
        ck = 16;
    } else if (p->l4 == 17) {
        n = 8 + (size_t)p->len;
        if (n > cap)
            return 0;
        gen_net_put16(l4, p->sport);
        gen_net_put16(l4 + 2, p->dport);
        gen_net_put16(l4 + 4, (uint32_t)n);
        gen_net_put16(l4 + 6, 0);
        memcpy(l4 + 8, p->payload, p->len);
        ck = 6;
    } else {
        n = p->len;
        if (n > cap || n < 4)
            return 0;
        memcpy(l4, p->payload, n);
        gen_net_put16(l4 + 2, 0);
        ck = 2;
    }
    if (n > 0) {
        uint32_t sum = p->l4 == 1 ? 0 : frame_pseudo(p, n);
        uint16_t c = gen_net_csum_fold(gen_net_csum_add(sum, l4, n));
        if (p->l4 == 17 && c == 0)
            c = 0xffff;
        gen_net_put16(l4 + ck, c);
    }
    return n;
}

static size_t frame_ipv4_options(const struct gen_pkt *p, uint8_t *opt)
{
    /* record route with room for two addresses, then end of list */
    static const uint8_t rr[12] = {7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t nop[4] = {1, 1, 1, 0};

    if (p->encap != GEN_ENC_IPOPT)
        return 0;
    memcpy(opt, p->ipopt_rr ? rr : nop, p->ipopt_rr ? sizeof(rr) : sizeof(nop));
    return p->ipopt_rr ? sizeof(rr) : sizeof(nop);
}

static void frame_ipv4_header(const struct gen_pkt *p, uint8_t *ip, size_t hl, size_t total)
{
    ip[0] = (uint8_t)(0x40 | (hl / 4));
    ip[1] = 0;
    gen_net_put16(ip + 2, (uint32_t)total);
    gen_net_put16(ip + 4, p->ip_id);
    gen_net_put16(ip + 6, p->df ? 0x4000 : 0);
    ip[8] = p->ttl;
    ip[9] = p->l4;
    gen_net_put16(ip + 10, 0);
    memcpy(ip + 12, p->src->b, 4);
    memcpy(ip + 16, p->dst->b, 4);
    gen_net_put16(ip + 10, gen_net_csum_fold(gen_net_csum_add(0, ip, hl)));
}

size_t gen_frame_ip(const struct gen_pkt *p, uint8_t *ip, size_t cap)
{
    size_t hl, n;

    if (cap < 60)
        return 0;
    if (p->src->v6) {
        hl = 40;
        n = frame_l4(p, ip + hl, cap - hl);
        if (n == 0)
            return 0;
        gen_net_put32(ip, 0x60000000u | (p->flowlabel & 0xfffff));
        gen_net_put16(ip + 4, (uint32_t)n);
        ip[6] = p->l4;
        ip[7] = p->ttl;
        memcpy(ip + 8, p->src->b, 16);
        memcpy(ip + 24, p->dst->b, 16);
        return hl + n;
    }
    hl = 20 + frame_ipv4_options(p, ip + 20);
    n = frame_l4(p, ip + hl, cap - hl);
    if (n == 0)
        return 0;
    frame_ipv4_header(p, ip, hl, hl + n);
    return hl + n;
}

int gen_frame_nfrags(const uint8_t *ip, size_t iplen, uint16_t frag_data)
{
    size_t hl = (size_t)(ip[0] & 0x0f) * 4;
    size_t data = iplen - hl;

    if ((ip[0] >> 4) != 4 || frag_data < 8 || data <= frag_data)
        return 1;
    return (int)((data + frag_data - 1) / frag_data);
}

size_t gen_frame_frag(const uint8_t *ip, size_t iplen, uint16_t frag_data, int k, uint8_t *out,
                      size_t cap)
{
    size_t hl = (size_t)(ip[0] & 0x0f) * 4;
    size_t off = (size_t)k * frag_data;
    size_t n;

    if (off >= iplen - hl)
        return 0;
    n = iplen - hl - off < frag_data ? iplen - hl - off : frag_data;
    if (hl + n > cap)
        return 0;
    memcpy(out, ip, hl);
    memcpy(out + hl, ip + hl + off, n);
    gen_net_put16(out + 2, (uint32_t)(hl + n));
    gen_net_put16(out + 6, (uint32_t)((off / 8) | (off + n < iplen - hl ? 0x2000 : 0)));
    gen_net_put16(out + 10, 0);
    gen_net_put16(out + 10, gen_net_csum_fold(gen_net_csum_add(0, out, hl)));
    return hl + n;
}

void gen_frame_router_mac(const struct gen_frame_cfg *cfg, int route, uint8_t mac[6])
{
    static const uint8_t neutral[6] = {0x02, 0, 0, 0, 0, 0x02};

    memcpy(mac, neutral, 6);
    if (cfg->mark & GEN_MARK_MAC) {
        mac[4] = 0x01;
        mac[5] = (uint8_t)route;
    }
}

/* The datagram under the link header is IPv6 (a tunnel's outer header is IPv4). */
static int frame_v6(const struct gen_pkt *p)
{
    return p->src->v6 && p->wrap_hdrs == 0;
}

static size_t frame_tag(uint8_t *f, uint32_t tpid, uint32_t vid)
{
    gen_net_put16(f, tpid);
    gen_net_put16(f + 2, vid & 0x0fff);
    return 4;
}

/* Ethernet header through the ethertype; returns its length. */
static size_t frame_eth(const struct gen_frame_cfg *cfg, const struct gen_pkt *p, uint8_t *f)
{
    uint8_t router[6];
    size_t n = 12;

    gen_frame_router_mac(cfg, p->route, router);
    memcpy(f, p->from_router ? frame_observer_mac : router, 6);
    memcpy(f + 6, p->from_router ? router : frame_observer_mac, 6);
    if (cfg->mark & GEN_MARK_VLAN) {
        int qinq = p->encap == GEN_ENC_QINQ;
        n += frame_tag(f + n, qinq && p->qinq_ad ? 0x88a8 : 0x8100, 100u + p->route);
        if (qinq)
            n += frame_tag(f + n, 0x8100, p->inner_vlan);
    }
    if (p->encap == GEN_ENC_MPLS) {
        gen_net_put16(f + n, 0x8847);
        gen_net_put32(f + n + 2, (p->mpls[0] & 0xfffff) << 12 | 64);
        gen_net_put32(f + n + 6, (p->mpls[1] & 0xfffff) << 12 | 1u << 8 | 64);
        return n + 10;
    }
    gen_net_put16(f + n, frame_v6(p) ? 0x86dd : 0x0800);
    return n + 2;
}

/* Linux cooked header v1 (16 bytes) or v2 (20 bytes). */
static size_t frame_sll(const struct gen_frame_cfg *cfg, const struct gen_pkt *p, uint8_t *f)
{
    uint32_t proto = frame_v6(p) ? 0x86dd : 0x0800;
    uint8_t pkttype = p->from_router ? 0 : 4; /* PACKET_HOST : PACKET_OUTGOING */
    uint8_t addr[8] = {0};

    gen_frame_router_mac(cfg, p->route, addr);
    if (cfg->link == GEN_LINK_SLL) {
        gen_net_put16(f, pkttype);
        gen_net_put16(f + 2, 1); /* ARPHRD_ETHER */
        gen_net_put16(f + 4, 6);
        memcpy(f + 6, addr, 8);
        gen_net_put16(f + 14, proto);
        return 16;
    }
    gen_net_put16(f, proto);
    gen_net_put16(f + 2, 0);
    gen_net_put32(f + 4, 1u + p->route); /* interface index */
    gen_net_put16(f + 8, 1);
    f[10] = pkttype;
    f[11] = 6;
    memcpy(f + 12, addr, 8);
    return 20;
}

static size_t frame_header(const struct gen_frame_cfg *cfg, const struct gen_pkt *p, uint8_t *f)
{
    uint32_t af = frame_v6(p) ? 24 : 2; /* BSD AF_INET, AF_INET6 (NetBSD/OpenBSD value) */

    switch (cfg->link) {
    case GEN_LINK_ETH:
        return frame_eth(cfg, p, f);
    case GEN_LINK_SLL:
    case GEN_LINK_SLL2:
        return frame_sll(cfg, p, f);
    case GEN_LINK_NULL: /* host byte order of the writer: little-endian */
        f[0] = (uint8_t)af;
        f[1] = f[2] = f[3] = 0;
        return 4;
    case GEN_LINK_LOOP:
        gen_net_put32(f, af);
        return 4;
    case GEN_LINK_RAW:
        return 0;
    }
    return 0;
}

size_t gen_frame_link(const struct gen_frame_cfg *cfg, const struct gen_pkt *p, const uint8_t *ip,
                      size_t iplen, uint8_t *frame, size_t cap)
{
    size_t n;

    if (cap < 64 || iplen > cap - 64)
        return 0;
    n = frame_header(cfg, p, frame);
    memcpy(frame + n, ip, iplen);
    n += iplen;
    /* padded as the bare frame was: a tunnel's headers come on top */
    if (p->encap == GEN_ENC_PAD && cfg->link == GEN_LINK_ETH && n < 60u + p->wrap_hdrs) {
        memset(frame + n, 0, 60u + p->wrap_hdrs - n);
        n = 60u + p->wrap_hdrs;
    }
    return n;
}
