/* gen_wrap — mirror transports and tunnels around frames. See gen_wrap.h. */
#include "gen_wrap.h"

#include <string.h>

#include "gen_net.h"

static const char *const wrap_names[GEN_WRAP_N] = {
    "none", "erspan1", "erspan2", "erspan3", "vxlan", "geneve", "gre-teb", "ipip", "gre-ip", "gtpu",
};

static const uint8_t mirror_src_mac[6] = {0x02, 0, 0, 0, 0x0e, 0x01};
static const uint8_t mirror_dst_mac[6] = {0x02, 0, 0, 0, 0x0e, 0x02};
static const uint8_t mirror_src[4] = {192, 0, 2, 10}, mirror_dst[4] = {192, 0, 2, 20};
static const uint8_t tunnel_router[4] = {198, 51, 100, 1}, tunnel_far[4] = {198, 51, 100, 2};

/* GRE flag sets the packets take turns through: none, key, sequence, both. */
static const uint16_t gre_flags[4] = {0x0000, 0x2000, 0x1000, 0x3000};

int gen_wrap_parse(const char *name, enum gen_wrap *w)
{
    for (int i = 0; i < GEN_WRAP_N; i++)
        if (strcmp(name, wrap_names[i]) == 0) {
            *w = (enum gen_wrap)i;
            return 0;
        }
    return -1;
}

const char *gen_wrap_names(void)
{
    return "erspan1|erspan2|erspan3|vxlan|geneve|gre-teb|ipip|gre-ip|gtpu";
}

const char *gen_wrap_name(enum gen_wrap w)
{
    return wrap_names[w];
}

int gen_wrap_is_tunnel(enum gen_wrap w)
{
    return w >= GEN_WRAP_IPIP;
}

/* IPv4 header (20 bytes, DF, TTL 64) for a payload of n bytes. */
static void wrap_ipv4(uint8_t *h, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
                      size_t n, uint64_t seq)
{
    h[0] = 0x45;
    h[1] = 0;
    gen_net_put16(h + 2, (uint32_t)(20 + n));
    gen_net_put16(h + 4, (uint32_t)(seq & 0xffff));
    gen_net_put16(h + 6, 0x4000);
    h[8] = 64;
    h[9] = proto;
    gen_net_put16(h + 10, 0);
    memcpy(h + 12, src, 4);
    memcpy(h + 16, dst, 4);
    gen_net_put16(h + 10, gen_net_csum_fold(gen_net_csum_add(0, h, 20)));
}

/* UDP header (checksum 0, allowed over IPv4) for a payload of n bytes. */
static size_t wrap_udp(uint8_t *h, uint32_t sport, uint32_t dport, size_t n)
{
    gen_net_put16(h, sport);
    gen_net_put16(h + 2, dport);
    gen_net_put16(h + 4, (uint32_t)(8 + n));
    gen_net_put16(h + 6, 0);
    return 8;
}

/* GRE header with the flags of this turn; the key is `key`, the sequence number seq. */
static size_t wrap_gre(uint8_t *h, uint16_t flags, uint32_t type, uint32_t key, uint64_t seq)
{
    size_t n = 4;

    gen_net_put16(h, flags);
    gen_net_put16(h + 2, type);
    if (flags & 0x2000) {
        gen_net_put32(h + n, key);
        n += 4;
    }
    if (flags & 0x1000) {
        gen_net_put32(h + n, (uint32_t)seq);
        n += 4;
    }
    return n;
}

/* ERSPAN type II (8 bytes) or III (12, + 8 for the platform sub-header) header. */
static size_t wrap_erspan(uint8_t *h, int type3, unsigned session, uint64_t seq)
{
    gen_net_put16(h, type3 ? 0x2000 : 0x1000); /* version; VLAN 0 (the frame keeps its tag) */
    gen_net_put16(h + 2, session & 0x3ff);     /* COS, En/BSO, T: 0 */
    if (!type3) {
        gen_net_put32(h + 4, (uint32_t)(seq & 0xfffff)); /* index */
        return 8;
    }
    gen_net_put32(h + 4, (uint32_t)(seq * 100)); /* time stamp, 100 us granularity */
    gen_net_put16(h + 8, 0);                     /* security group tag */
    int platform = (int)(seq & 1);
    h[10] = 0x00;                                   /* P 0, frame type 0, hw id 0 */
    h[11] = (uint8_t)(1 << 1 | (platform ? 1 : 0)); /* granularity 1, O */
    if (!platform)
        return 12;
    gen_net_put32(h + 12, 3u << 26 | (uint32_t)session); /* platform id 3, port id */
    gen_net_put32(h + 16, (uint32_t)(seq >> 32));        /* upper time stamp */
    return 20;
}

/* The transport headers of mirror w (after the outer IPv4 header) for a frame of n bytes;
 * *proto receives the IP protocol. Returns their length. */
static size_t wrap_transport(enum gen_wrap w, uint64_t seq, unsigned id, size_t n, uint8_t *h,
                             uint8_t *proto)
{
    size_t k;

    *proto = 47;
    switch (w) {
    case GEN_WRAP_ERSPAN1:
        return wrap_gre(h, 0, 0x88be, 0, seq);
    case GEN_WRAP_ERSPAN2:
        k = wrap_gre(h, 0x1000, 0x88be, 0, seq);
        return k + wrap_erspan(h + k, 0, id, seq);
    case GEN_WRAP_ERSPAN3:
        k = wrap_gre(h, 0x1000, 0x22eb, 0, seq);
        return k + wrap_erspan(h + k, 1, id, seq);
    case GEN_WRAP_GRE_TEB:
        return wrap_gre(h, gre_flags[seq & 3], 0x6558, id, seq);
    case GEN_WRAP_VXLAN:
        *proto = 17;
        wrap_udp(h, 50000 + (uint32_t)(seq % 10000), (seq & 1) ? 8472 : 4789, 8 + n);
        gen_net_put32(h + 8, 0x08000000);
        gen_net_put32(h + 12, id << 8);
        return 16;
    default: { /* GENEVE, with one 8-byte option every other packet */
        size_t opt = (seq & 1) ? 8 : 0;
        *proto = 17;
        wrap_udp(h, 50000 + (uint32_t)(seq % 10000), 6081, 8 + opt + n);
        h[8] = (uint8_t)(opt / 4);
        h[9] = 0;
        gen_net_put16(h + 10, 0x6558);
        gen_net_put32(h + 12, id << 8);
        if (opt) {
            gen_net_put32(h + 16, 0x0103u << 16 | 0x01u << 8 | 1); /* class, type, 1 word */
            gen_net_put32(h + 20, (uint32_t)seq);
        }
        return 16 + opt;
    }
    }
}

size_t gen_wrap_mirror(enum gen_wrap w, uint64_t seq, int route, const uint8_t *frame, size_t n,
                       uint8_t *out, size_t cap)
{
    uint8_t proto = 0;

    if (cap < GEN_WRAP_MAX || n > cap - GEN_WRAP_MAX)
        return 0;
    memcpy(out, mirror_dst_mac, 6);
    memcpy(out + 6, mirror_src_mac, 6);
    gen_net_put16(out + 12, 0x0800);
    size_t t = wrap_transport(w, seq, 100u + (unsigned)route, n, out + 34, &proto);
    wrap_ipv4(out + 14, mirror_src, mirror_dst, proto, t + n, seq);
    memcpy(out + 34 + t, frame, n);
    return 34 + t + n;
}

/* GTP-U G-PDU header for a user packet of n bytes: every other packet with a sequence
 * number and a PDU session container extension header. */
static size_t wrap_gtpu(uint8_t *h, uint64_t seq, int from_router, size_t n)
{
    int ext = (int)(seq & 1);
    size_t k = ext ? 16 : 8;

    h[0] = ext ? 0x36 : 0x30; /* version 1, PT 1; E and S */
    h[1] = 0xff;              /* G-PDU */
    gen_net_put16(h + 2, (uint32_t)(k - 8 + n));
    gen_net_put32(h + 4, from_router ? 0x1001 : 0x2001); /* TEID */
    if (ext) {
        gen_net_put16(h + 8, (uint32_t)(seq & 0xffff));
        h[10] = 0;
        h[11] = 0x85;                       /* PDU session container follows */
        gen_net_put32(h + 12, 0x01000900u); /* 1 word: QFI 9, no next header */
    }
    return k;
}

size_t gen_wrap_tunnel(enum gen_wrap w, uint64_t seq, int from_router, const uint8_t *ip, size_t n,
                       uint8_t *out, size_t cap)
{
    const uint8_t *src = from_router ? tunnel_router : tunnel_far;
    const uint8_t *dst = from_router ? tunnel_far : tunnel_router;
    int v6 = n > 0 && ip[0] >> 4 == 6;
    uint8_t proto = v6 ? 41 : 4;
    size_t t = 0;

    if (cap < GEN_WRAP_MAX || n > cap - GEN_WRAP_MAX)
        return 0;
    if (w == GEN_WRAP_GRE_IP) {
        proto = 47;
        t = wrap_gre(out + 20, gre_flags[seq & 3], v6 ? 0x86dd : 0x0800, 0x28, seq);
    } else if (w == GEN_WRAP_GTPU) {
        proto = 17;
        uint8_t g[16];
        size_t k = wrap_gtpu(g, seq, from_router, n);
        t = wrap_udp(out + 20, 2152, 2152, k + n);
        memcpy(out + 20 + t, g, k);
        t += k;
    }
    wrap_ipv4(out, src, dst, proto, t + n, seq);
    memcpy(out + 20 + t, ip, n);
    return 20 + t + n;
}
