/* decode — link layer to transport header through a checked cursor. See decode.h. */
#include "decode.h"

#include "cursor.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define ETH_VLAN    0x8100
#define ETH_QINQ    0x88a8
#define ETH_QINQ_9  0x9100
#define ETH_IPV4    0x0800
#define ETH_IPV6    0x86dd
#define ETH_MPLS    0x8847
#define ETH_MPLS_MC 0x8848
#define ETH_PPPOE   0x8864
#define ETH_TEB     0x6558 /* Transparent Ethernet Bridging */
#define ETH_ERSPAN  0x88be /* ERSPAN type I and II */
#define ETH_ERSPAN3 0x22eb /* ERSPAN type III */

#define GRE_C       0x8000 /* checksum present */
#define GRE_K       0x2000 /* key present */
#define GRE_S       0x1000 /* sequence number present */
#define GRE_MUSTBE0 0x4f00 /* routing, strict source route, recursion (RFC 2784) */
#define GRE_VERSION 0x0007 /* 0; 1 is PPTP's enhanced GRE, not opened */

#define UDP_GTPU        2152
#define UDP_VXLAN       4789
#define UDP_GENEVE      6081
#define UDP_VXLAN_LINUX 8472

#define GTPU_GPDU    0xff /* message type of a G-PDU: a user packet follows */
#define GTPU_MAX_EXT 8    /* GTP-U extension headers walked before giving up */

#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057

enum {
    IPP_HOPOPTS = 0,
    IPP_ICMP = 1,
    IPP_IPIP = 4,
    IPP_TCP = 6,
    IPP_UDP = 17,
    IPP_IPV6 = 41,
    IPP_ROUTING = 43,
    IPP_FRAGMENT = 44,
    IPP_GRE = 47,
    IPP_ESP = 50,
    IPP_AH = 51,
    IPP_ICMPV6 = 58,
    IPP_NONE = 59,
    IPP_DSTOPTS = 60,
    IPP_SCTP = 132,
    IPP_MOBILITY = 135,
    IPP_HIP = 139,
    IPP_SHIM6 = 140,
};

static const char *const status_names[DECODE_NSTATUS] = {
    [DECODE_OK] = "ok",
    [DECODE_TRUNCATED] = "truncated",
    [DECODE_BAD_HEADER] = "bad_header",
    [DECODE_UNSUPPORTED] = "unsupported",
    [DECODE_NOT_IP] = "not_ip",
};

static const char *const encap_names[DECODE_NENCAP] = {
    [DECODE_ENC_ERSPAN_I] = "erspan_i",
    [DECODE_ENC_ERSPAN_II] = "erspan_ii",
    [DECODE_ENC_ERSPAN_III] = "erspan_iii",
    [DECODE_ENC_VXLAN] = "vxlan",
    [DECODE_ENC_GENEVE] = "geneve",
    [DECODE_ENC_GRE_TEB] = "gre_teb",
    [DECODE_ENC_IPIP] = "ipip",
    [DECODE_ENC_6IN4] = "6in4",
    [DECODE_ENC_GRE_IP] = "gre_ip",
    [DECODE_ENC_GTPU] = "gtp_u",
};

const char *decode_status_name(enum decode_status s)
{
    return (unsigned)s < DECODE_NSTATUS ? status_names[s] : "invalid";
}

const char *decode_encap_name(enum decode_encap e)
{
    return (unsigned)e < DECODE_NENCAP ? encap_names[e] : "invalid";
}

static enum decode_status decode_ethertype(struct cursor *c, uint16_t type, struct decoded *d,
                                           unsigned depth);
static enum decode_status decode_eth(struct cursor *c, struct decoded *d, unsigned depth);
static enum decode_status decode_ipv4(struct cursor *c, struct decoded *d);
static enum decode_status decode_ipv6(struct cursor *c, struct decoded *d);
static enum decode_status decode_ip_any(struct cursor *c, struct decoded *d);

/* ---- mirror transports and tunnels ---- */

/* A mirror transport's frame starts at the cursor and ends at `end` (an offset in the
 * captured bytes, as the transport declares it): what was decoded so far is the delivery
 * channel and is forgotten. `ip`: the frame is an IP packet (ERSPAN III frame type 2,
 * GENEVE carrying IP), not Ethernet. `id`: the ERSPAN session or the VNI. */
static enum decode_status open_frame(struct cursor *c, struct decoded *d, enum decode_encap kind,
                                     size_t end, bool ip, uint32_t id)
{
    if (d->nencap >= DECODE_MAX_ENCAP)
        return DECODE_UNSUPPORTED;
    memset(d, 0, offsetof(struct decoded, status));
    d->vlan = DECODE_NO_VLAN;
    d->encap[d->nencap++] = (uint8_t)kind;
    d->frame_off = (uint32_t)c->pos;
    d->frame_end = (uint32_t)(end > c->pos ? end : c->pos);
    d->tunnel_hdrs = 0;
    if ((kind == DECODE_ENC_ERSPAN_II || kind == DECODE_ENC_ERSPAN_III) && !d->has_erspan) {
        d->has_erspan = 1;
        d->erspan_id = (uint16_t)id;
    }
    if ((kind == DECODE_ENC_VXLAN || kind == DECODE_ENC_GENEVE) && !d->has_vni) {
        d->has_vni = 1;
        d->vni = id;
    }
    return ip ? decode_ip_any(c, d) : decode_eth(c, d, 0);
}

/* A tunnel's inner IP packet (version 4, 6, or 0: by its first nibble) starts at the
 * cursor. Its addresses replace the outer ones, unless its header cannot be read. */
static enum decode_status open_tunnel(struct cursor *c, struct decoded *d, enum decode_encap kind,
                                      unsigned version)
{
    if (d->nencap >= DECODE_MAX_ENCAP)
        return DECODE_UNSUPPORTED;
    const struct decoded outer = *d;
    uint32_t hdrs = (uint32_t)(cur_ptr(c) - d->l3); /* outer IP and tunnel headers */
    memset(d, 0, offsetof(struct decoded, has_src_mac));
    d->encap[d->nencap++] = (uint8_t)kind;
    d->tunnel_hdrs += hdrs;
    enum decode_status st = version == 4   ? decode_ipv4(c, d)
                            : version == 6 ? decode_ipv6(c, d)
                                           : decode_ip_any(c, d);
    if (!d->has_ip)
        *d = outer; /* the outer packet is all there is to count */
    return st;
}

/* ERSPAN type II: version 1, VLAN, COS, En, T, session id (10 bits), index. */
static enum decode_status decap_erspan2(struct cursor *c, size_t end, struct decoded *d)
{
    const uint8_t *h = cur_take(c, 8);

    if (!h)
        return DECODE_TRUNCATED;
    if (h[0] >> 4 != 1)
        return DECODE_BAD_HEADER;
    return open_frame(c, d, DECODE_ENC_ERSPAN_II, end, false, rd_be16(h + 2) & 0x3ff);
}

/* ERSPAN type III: version 2, VLAN, COS, BSO, T, session id, timestamp, SGT, P, frame type
 * (0 Ethernet, 2 IP), hardware id, D, granularity, O (an 8-byte platform sub-header
 * follows). */
static enum decode_status decap_erspan3(struct cursor *c, size_t end, struct decoded *d)
{
    const uint8_t *h = cur_take(c, 12);

    if (!h)
        return DECODE_TRUNCATED;
    if (h[0] >> 4 != 2)
        return DECODE_BAD_HEADER;
    unsigned ft = (unsigned)(h[10] >> 2) & 0x1f;
    if ((h[11] & 1) && !cur_skip(c, 8))
        return DECODE_TRUNCATED;
    if (ft != 0 && ft != 2)
        return DECODE_UNSUPPORTED;
    return open_frame(c, d, DECODE_ENC_ERSPAN_III, end, ft == 2, rd_be16(h + 2) & 0x3ff);
}

static bool gre_opened(uint16_t type, const struct decoded *d)
{
    switch (type) {
    case ETH_ERSPAN:
    case ETH_ERSPAN3:
    case ETH_TEB:
        return true;
    case ETH_IPV4:
    case ETH_IPV6:
        return (d->flags & DECODE_TUNNELS) != 0;
    default:
        return false;
    }
}

/* GRE (RFC 2784, keys and sequence numbers of RFC 2890). Payloads not opened, and GRE
 * version 1, leave the packet as it is. */
static enum decode_status decap_gre(struct cursor *c, size_t end, struct decoded *d)
{
    const uint8_t *h = cur_take(c, 4);

    if (!h)
        return DECODE_TRUNCATED;
    uint16_t flags = rd_be16(h), type = rd_be16(h + 2);
    if ((flags & GRE_VERSION) != 0 || !gre_opened(type, d))
        return DECODE_OK;
    if (flags & GRE_MUSTBE0)
        return DECODE_BAD_HEADER;
    size_t opt =
        ((flags & GRE_C) ? 4u : 0u) + ((flags & GRE_K) ? 4u : 0u) + ((flags & GRE_S) ? 4u : 0u);
    if (!cur_skip(c, opt))
        return DECODE_TRUNCATED;
    switch (type) {
    case ETH_ERSPAN: /* type I has no sequence number and no ERSPAN header */
        if (!(flags & GRE_S))
            return open_frame(c, d, DECODE_ENC_ERSPAN_I, end, false, 0);
        return decap_erspan2(c, end, d);
    case ETH_ERSPAN3:
        return decap_erspan3(c, end, d);
    case ETH_TEB:
        return open_frame(c, d, DECODE_ENC_GRE_TEB, end, false, 0);
    default:
        return open_tunnel(c, d, DECODE_ENC_GRE_IP, type == ETH_IPV4 ? 4 : 6);
    }
}

/* VXLAN (RFC 7348): flags (I: the VNI is valid), reserved, VNI, reserved. */
static enum decode_status decap_vxlan(struct cursor *c, size_t end, struct decoded *d)
{
    const uint8_t *h = cur_take(c, 8);

    if (!h)
        return DECODE_TRUNCATED;
    if (!(h[0] & 0x08))
        return DECODE_BAD_HEADER;
    return open_frame(c, d, DECODE_ENC_VXLAN, end, false, rd_be32(h + 4) >> 8);
}

/* GENEVE (RFC 8926): version, options length (4-byte words), flags, protocol type, VNI;
 * the options are skipped. */
static enum decode_status decap_geneve(struct cursor *c, size_t end, struct decoded *d)
{
    const uint8_t *h = cur_take(c, 8);

    if (!h)
        return DECODE_TRUNCATED;
    if (h[0] >> 6 != 0)
        return DECODE_BAD_HEADER;
    if (!cur_skip(c, (size_t)(h[0] & 0x3f) * 4))
        return DECODE_TRUNCATED;
    uint16_t type = rd_be16(h + 2);
    if (type != ETH_TEB && type != ETH_IPV4 && type != ETH_IPV6)
        return DECODE_UNSUPPORTED;
    return open_frame(c, d, DECODE_ENC_GENEVE, end, type != ETH_TEB, rd_be32(h + 4) >> 8);
}

/* GTP-U (3GPP TS 29.281): version 1, PT 1, E/S/PN; message type; length; TEID; with any
 * of E/S/PN a sequence number, N-PDU number and the first extension header type; then
 * the extension headers (length in 4-byte words, the next type in their last byte). Only
 * a G-PDU carries a user packet; signalling is left as it is. */
static enum decode_status decap_gtpu(struct cursor *c, struct decoded *d)
{
    const uint8_t *h = cur_take(c, 8);
    uint8_t units = 0;

    if (!h)
        return DECODE_TRUNCATED;
    if (h[0] >> 5 != 1 || !(h[0] & 0x10))
        return DECODE_BAD_HEADER;
    if (h[1] != GTPU_GPDU)
        return DECODE_OK;
    if (h[0] & 0x07) {
        const uint8_t *o = cur_take(c, 4);
        if (!o)
            return DECODE_TRUNCATED;
        for (unsigned i = 0, next = (h[0] & 0x04) ? o[3] : 0; next != 0; i++) {
            if (i >= GTPU_MAX_EXT)
                return DECODE_UNSUPPORTED;
            if (!cur_peek_u8(c, 0, &units))
                return DECODE_TRUNCATED;
            if (units == 0)
                return DECODE_BAD_HEADER;
            const uint8_t *e = cur_take(c, (size_t)units * 4);
            if (!e)
                return DECODE_TRUNCATED;
            next = e[(size_t)units * 4 - 1];
        }
    }
    return open_tunnel(c, d, DECODE_ENC_GTPU, 0);
}

/* After a UDP header: the mirror transports and GTP-U, by destination port. `end`: where
 * the datagram ends, as declared. Not inlined (nor decap_ip_proto): the transport decoder
 * then reaches it by a jump, without saving registers for every bare packet. */
__attribute__((noinline)) static enum decode_status decap_udp(struct cursor *c, size_t end,
                                                              struct decoded *d)
{
    switch (d->dport) {
    case UDP_VXLAN:
    case UDP_VXLAN_LINUX:
        return decap_vxlan(c, end, d);
    case UDP_GENEVE:
        return decap_geneve(c, end, d);
    case UDP_GTPU:
        return (d->flags & DECODE_TUNNELS) ? decap_gtpu(c, d) : DECODE_OK;
    default:
        return DECODE_OK;
    }
}

/* After an IP header: GRE, and IP in IP. */
__attribute__((noinline)) static enum decode_status decap_ip_proto(struct cursor *c, uint8_t proto,
                                                                   size_t end, struct decoded *d)
{
    switch (proto) {
    case IPP_GRE:
        return decap_gre(c, end, d);
    case IPP_IPIP:
        return (d->flags & DECODE_TUNNELS) ? open_tunnel(c, d, DECODE_ENC_IPIP, 4) : DECODE_OK;
    case IPP_IPV6:
        return (d->flags & DECODE_TUNNELS) ? open_tunnel(c, d, DECODE_ENC_6IN4, 6) : DECODE_OK;
    default:
        return DECODE_OK;
    }
}

uint32_t decode_bytes(const struct decoded *d, uint32_t wire_len)
{
    uint32_t n = wire_len;

    if (d->frame_end) {
        uint32_t end = d->frame_end < wire_len ? d->frame_end : wire_len;
        n = end > d->frame_off ? end - d->frame_off : 0;
    }
    return n > d->tunnel_hdrs ? n - d->tunnel_hdrs : 0;
}

/* Transport header. `l4_len` is the transport length the IP header declares (it may exceed
 * what was captured when the snap length cut the packet). */
static enum decode_status decode_l4(struct cursor *c, uint8_t proto, uint32_t l4_len,
                                    struct decoded *d)
{
    const uint8_t *h;

    d->l4_proto = proto;
    switch (proto) {
    case IPP_TCP: {
        h = cur_take(c, 20);
        if (!h)
            return DECODE_TRUNCATED;
        uint32_t hlen = (uint32_t)(h[12] >> 4) * 4;
        d->sport = rd_be16(h);
        d->dport = rd_be16(h + 2);
        d->has_ports = 1;
        d->tcp_flags = h[13];
        if (hlen < 20 || hlen > l4_len)
            return DECODE_BAD_HEADER;
        d->payload_len = l4_len - hlen;
        return DECODE_OK;
    }
    case IPP_UDP:
        h = cur_take(c, 8);
        if (!h)
            return DECODE_TRUNCATED;
        d->sport = rd_be16(h);
        d->dport = rd_be16(h + 2);
        d->has_ports = 1;
        if (l4_len < 8)
            return DECODE_BAD_HEADER;
        d->payload_len = l4_len - 8;
        return decap_udp(c, c->pos - 8 + l4_len, d);
    case IPP_SCTP:
        h = cur_take(c, 12);
        if (!h)
            return DECODE_TRUNCATED;
        d->sport = rd_be16(h);
        d->dport = rd_be16(h + 2);
        d->has_ports = 1;
        d->payload_len = l4_len >= 12 ? l4_len - 12 : 0;
        return DECODE_OK;
    case IPP_ICMP:
    case IPP_ICMPV6:
        h = cur_take(c, 4);
        if (!h)
            return DECODE_TRUNCATED;
        d->icmp_type = h[0];
        d->icmp_code = h[1];
        d->payload_len = l4_len >= 8 ? l4_len - 8 : 0;
        return DECODE_OK;
    default:
        d->payload_len = l4_len;
        return decap_ip_proto(c, proto, c->pos + l4_len, d);
    }
}

static void set_v4_mapped(uint8_t out[16], uint32_t a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint32_t be = __builtin_bswap32(a);
    memcpy(out, prefix, 12);
    memcpy(out + 12, &be, 4);
}

static enum decode_status decode_ipv4(struct cursor *c, struct decoded *d)
{
    const uint8_t *start = cur_ptr(c), *h;
    uint8_t vhl = 0;

    if (!cur_peek_u8(c, 0, &vhl))
        return DECODE_TRUNCATED;
    if ((vhl >> 4) != 4)
        return DECODE_BAD_HEADER;
    h = cur_take(c, 20);
    if (!h)
        return DECODE_TRUNCATED;
    uint32_t ihl = (uint32_t)(vhl & 0x0f) * 4;
    uint16_t tot_len = rd_be16(h + 2), id = rd_be16(h + 4), frag = rd_be16(h + 6);
    uint8_t proto = h[9];
    d->src4 = rd_be32(h + 12);
    d->dst4 = rd_be32(h + 16);
    if (ihl < 20)
        return DECODE_BAD_HEADER;
    /* A zero total length comes from segmentation offload on the capturing host: the
     * captured bytes are all we know. */
    uint32_t ip_len = tot_len ? tot_len : (uint32_t)(cur_left(c) + 20);
    if (ip_len < ihl)
        return DECODE_BAD_HEADER;

    d->has_ip = 1;
    d->ip_version = 4;
    set_v4_mapped(d->src, d->src4);
    set_v4_mapped(d->dst, d->dst4);
    if (!cur_skip(c, ihl - 20))
        return DECODE_TRUNCATED;
    cur_limit(c, ip_len - ihl);
    d->l3 = start;
    d->l3_len = (uint32_t)(cur_ptr(c) - start + cur_left(c));

    uint16_t offset = frag & 0x1fff;
    if (offset != 0 || (frag & 0x2000) != 0) {
        d->is_fragment = 1;
        d->frag_id = id;
    }
    if (offset != 0) {
        d->later_frag = 1;
        d->l4_proto = proto;
        d->payload_len = ip_len - ihl;
        return DECODE_OK;
    }
    return decode_l4(c, proto, ip_len - ihl, d);
}

/* Walks the IPv6 extension-header chain (bounded) and decodes the transport header.
 * `remain` is the payload length the IPv6 header declares. */
static enum decode_status decode_ip6_chain(struct cursor *c, uint8_t next, uint32_t remain,
                                           struct decoded *d)
{
    for (unsigned i = 0;; i++) {
        uint8_t nh = 0, hlen = 0, frag_hi = 0, frag_lo = 0, idb[4] = {0};
        uint32_t len;

        switch (next) {
        case IPP_HOPOPTS:
        case IPP_ROUTING:
        case IPP_DSTOPTS:
        case IPP_MOBILITY:
        case IPP_HIP:
        case IPP_SHIM6:
        case IPP_AH:
        case IPP_FRAGMENT:
            break;
        case IPP_NONE:
            d->l4_proto = next;
            return DECODE_OK;
        case IPP_ESP:
            d->l4_proto = next;
            d->payload_len = remain;
            return DECODE_OK;
        default:
            return decode_l4(c, next, remain, d);
        }
        if (i >= DECODE_MAX_IP6_EXT)
            return DECODE_UNSUPPORTED;
        if (!cur_peek_u8(c, 0, &nh) || !cur_peek_u8(c, 1, &hlen) || !cur_peek_u8(c, 2, &frag_hi) ||
            !cur_peek_u8(c, 3, &frag_lo))
            return DECODE_TRUNCATED;
        if (next == IPP_FRAGMENT) {
            len = 8;
            for (size_t k = 0; k < 4; k++)
                if (!cur_peek_u8(c, 4 + k, &idb[k]))
                    return DECODE_TRUNCATED;
            d->is_fragment = 1;
            d->frag_id =
                (uint32_t)idb[0] << 24 | (uint32_t)idb[1] << 16 | (uint32_t)idb[2] << 8 | idb[3];
            if ((frag_hi << 8 | (frag_lo & 0xf8)) != 0) { /* not the first fragment */
                d->later_frag = 1;
                d->l4_proto = nh;
                d->payload_len = remain >= 8 ? remain - 8 : 0;
                return DECODE_OK;
            }
        } else {
            len = next == IPP_AH ? ((uint32_t)hlen + 2) * 4 : ((uint32_t)hlen + 1) * 8;
        }
        if (len > remain)
            return DECODE_BAD_HEADER;
        if (!cur_skip(c, len))
            return DECODE_TRUNCATED;
        remain -= len;
        next = nh;
    }
}

static enum decode_status decode_ipv6(struct cursor *c, struct decoded *d)
{
    uint32_t vtcfl = 0;
    uint16_t plen = 0;
    uint8_t next = 0, hops = 0;
    const uint8_t *start = cur_ptr(c);
    uint8_t first = 0;

    if (!cur_peek_u8(c, 0, &first))
        return DECODE_TRUNCATED;
    if ((first >> 4) != 6)
        return DECODE_BAD_HEADER;
    if (!cur_need(c, 40))
        return DECODE_TRUNCATED;
    cur_be32(c, &vtcfl);
    cur_be16(c, &plen);
    cur_u8(c, &next);
    cur_u8(c, &hops);
    cur_copy(c, d->src, 16);
    cur_copy(c, d->dst, 16);
    d->has_ip = 1;
    d->ip_version = 6;

    /* A zero payload length means a jumbogram (or offload): use what was captured. */
    uint32_t remain = plen ? plen : (uint32_t)cur_left(c);
    cur_limit(c, remain);
    d->l3 = start;
    d->l3_len = (uint32_t)(40 + cur_left(c));
    return decode_ip6_chain(c, next, remain, d);
}

/* Decodes by the first nibble: 4 or 6. */
static enum decode_status decode_ip_any(struct cursor *c, struct decoded *d)
{
    uint8_t b = 0;

    if (!cur_peek_u8(c, 0, &b))
        return DECODE_TRUNCATED;
    if ((b >> 4) == 4)
        return decode_ipv4(c, d);
    if ((b >> 4) == 6)
        return decode_ipv6(c, d);
    return DECODE_BAD_HEADER;
}

static enum decode_status decode_eth(struct cursor *c, struct decoded *d, unsigned depth)
{
    const uint8_t *h = cur_take(c, 14);

    if (!h)
        return DECODE_TRUNCATED;
    if (!d->has_dst_mac) { /* an inner frame (MPLS pseudowire) keeps the outer MACs */
        memcpy(d->dst_mac, h, 6);
        memcpy(d->src_mac, h + 6, 6);
        d->has_dst_mac = d->has_src_mac = 1;
    }
    return decode_ethertype(c, rd_be16(h + 12), d, depth);
}

static enum decode_status decode_mpls(struct cursor *c, struct decoded *d, unsigned depth)
{
    uint32_t entry = 0;
    uint8_t b = 0;

    for (unsigned i = 0;; i++) {
        if (i >= DECODE_MAX_MPLS)
            return DECODE_UNSUPPORTED;
        if (!cur_be32(c, &entry))
            return DECODE_TRUNCATED;
        if (entry & 0x100) /* bottom of stack */
            break;
    }
    if (!cur_peek_u8(c, 0, &b))
        return DECODE_TRUNCATED;
    switch (b >> 4) {
    case 4:
        return decode_ipv4(c, d);
    case 6:
        return decode_ipv6(c, d);
    case 0: /* pseudowire control word, then an Ethernet frame */
        cur_skip(c, 4);
        return decode_eth(c, d, depth + 1);
    default:
        return DECODE_UNSUPPORTED;
    }
}

static enum decode_status decode_pppoe(struct cursor *c, struct decoded *d)
{
    uint8_t vt = 0, code = 0;
    uint16_t session = 0, len = 0, proto = 0;

    if (!cur_need(c, 8))
        return DECODE_TRUNCATED;
    cur_u8(c, &vt);
    cur_u8(c, &code);
    cur_be16(c, &session);
    cur_be16(c, &len);
    cur_be16(c, &proto);
    if (vt != 0x11 || len < 2)
        return DECODE_BAD_HEADER;
    cur_limit(c, (size_t)len - 2);
    if (proto == PPP_IPV4)
        return decode_ipv4(c, d);
    if (proto == PPP_IPV6)
        return decode_ipv6(c, d);
    return DECODE_NOT_IP;
}

static enum decode_status decode_ethertype(struct cursor *c, uint16_t type, struct decoded *d,
                                           unsigned depth)
{

    for (unsigned tags = 0;; tags++) {
        if (type != ETH_VLAN && type != ETH_QINQ && type != ETH_QINQ_9)
            break;
        if (tags >= DECODE_MAX_VLANS)
            return DECODE_UNSUPPORTED;
        const uint8_t *tag = cur_take(c, 4);
        if (!tag)
            return DECODE_TRUNCATED;
        type = rd_be16(tag + 2);
        if (d->vlan == DECODE_NO_VLAN)
            d->vlan = rd_be16(tag) & 0x0fff;
    }
    switch (type) {
    case ETH_IPV4:
        return decode_ipv4(c, d);
    case ETH_IPV6:
        return decode_ipv6(c, d);
    case ETH_MPLS:
    case ETH_MPLS_MC:
        if (depth >= 2) /* MPLS inside a pseudowire inside MPLS: stop */
            return DECODE_UNSUPPORTED;
        return decode_mpls(c, d, depth);
    case ETH_PPPOE:
        return decode_pppoe(c, d);
    default:
        return DECODE_NOT_IP;
    }
}

/* Linux cooked v1: packet type, ARPHRD type, address length, 8 address bytes, protocol. */
static enum decode_status decode_sll(struct cursor *c, struct decoded *d)
{
    uint16_t pkttype = 0, hatype = 0, alen = 0, proto = 0;
    uint8_t addr[8] = {0};

    if (!cur_need(c, 16))
        return DECODE_TRUNCATED;
    cur_be16(c, &pkttype);
    cur_be16(c, &hatype);
    cur_be16(c, &alen);
    cur_copy(c, addr, 8);
    cur_be16(c, &proto);
    if (alen == 6) {
        memcpy(d->src_mac, addr, 6);
        d->has_src_mac = 1;
    }
    return decode_ethertype(c, proto, d, 0);
}

/* Linux cooked v2: protocol, reserved, interface index, ARPHRD type, packet type, address
 * length, 8 address bytes. */
static enum decode_status decode_sll2(struct cursor *c, struct decoded *d)
{
    uint16_t proto = 0, hatype = 0;
    uint8_t pkttype = 0, alen = 0, addr[8] = {0};

    if (!cur_need(c, 20))
        return DECODE_TRUNCATED;
    cur_be16(c, &proto);
    cur_skip(c, 6);
    cur_be16(c, &hatype);
    cur_u8(c, &pkttype);
    cur_u8(c, &alen);
    cur_copy(c, addr, 8);
    if (alen == 6) {
        memcpy(d->src_mac, addr, 6);
        d->has_src_mac = 1;
    }
    return decode_ethertype(c, proto, d, 0);
}

/* BSD loopback: a 4-byte address family. DLT_NULL stores it in the writer's byte order, so
 * both orders are accepted; the IPv6 family differs between BSDs (24, 28, 30). */
static enum decode_status decode_null(struct cursor *c, struct decoded *d, int network_order)
{
    uint32_t fam = 0;

    if (network_order ? !cur_be32(c, &fam) : !cur_le32(c, &fam))
        return DECODE_TRUNCATED;
    if (fam > 0xffff) /* written by a big-endian host */
        fam = (fam >> 24) | (fam >> 8 & 0xff00) | (fam << 8 & 0xff0000) | (fam << 24);
    switch (fam) {
    case 2:
        return decode_ipv4(c, d);
    case 24:
    case 28:
    case 30:
        return decode_ipv6(c, d);
    default:
        return DECODE_NOT_IP;
    }
}

static enum decode_status decode_link(enum decode_link link, struct cursor *c, struct decoded *d)
{
    switch (link) {
    case DECODE_LINK_ETH:
        return decode_eth(c, d, 0);
    case DECODE_LINK_SLL:
        return decode_sll(c, d);
    case DECODE_LINK_SLL2:
        return decode_sll2(c, d);
    case DECODE_LINK_RAW:
        return decode_ip_any(c, d);
    case DECODE_LINK_IPV4:
        return decode_ipv4(c, d);
    case DECODE_LINK_IPV6:
        return decode_ipv6(c, d);
    case DECODE_LINK_NULL:
        return decode_null(c, d, 0);
    case DECODE_LINK_LOOP:
        return decode_null(c, d, 1);
    }
    return DECODE_UNSUPPORTED;
}

/* The transport header of the common frame (fast path below): TCP, UDP to a port no mirror
 * transport or tunnel uses, or ICMP. Writes nothing. Returns the header's length (TCP: its
 * data offset; ICMP: 0, no ports), or -1 for anything the general decoder must see. */
static int common_l4(uint8_t proto, const uint8_t *l4, uint32_t l4_len)
{
    if (proto == IPP_ICMP)
        return 0;
    uint16_t dport = rd_be16(l4 + 2);
    uint32_t hlen = proto == IPP_TCP ? (uint32_t)(l4[12] >> 4) * 4 : 8;
    if (proto == IPP_UDP && (dport == UDP_VXLAN || dport == UDP_VXLAN_LINUX ||
                             dport == UDP_GENEVE || dport == UDP_GTPU))
        return -1;
    return hlen >= (proto == IPP_TCP ? 20u : 8u) && hlen <= l4_len ? (int)hlen : -1;
}

/* The common frame in one pass: Ethernet, at most one 802.1Q tag, IPv4 without options or
 * fragments, then TCP, UDP off the mirror and tunnel ports, or ICMP. Every check comes
 * before the first write, and any frame that fails one (or is anything else) goes to the
 * general decoder: the result is the same as the general decoder's, field for field
 * (tests/test_decode.c compares the two over every cut of many frames, and so does the
 * fuzzer). One length check per header and no calls: about 90 instructions less a frame. */
static bool decode_common(const uint8_t *buf, size_t caplen, struct decoded *d)
{
    struct cursor c;
    uint16_t vlan = DECODE_NO_VLAN;

    cur_init(&c, buf, caplen);
    const uint8_t *eth = cur_take(&c, 14);
    if (!eth)
        return false;
    uint16_t type = rd_be16(eth + 12);
    if (type == ETH_VLAN) {
        const uint8_t *tag = cur_take(&c, 4);
        if (!tag)
            return false;
        vlan = rd_be16(tag) & 0x0fff;
        type = rd_be16(tag + 2);
    }
    size_t ip_off = c.pos;
    const uint8_t *ip = type == ETH_IPV4 ? cur_take(&c, 20) : NULL;
    if (!ip || ip[0] != 0x45 || (rd_be16(ip + 6) & 0x3fff) != 0)
        return false;
    uint32_t ip_len = rd_be16(ip + 2);
    uint8_t proto = ip[9];
    size_t fixed = proto == IPP_TCP ? 20 : proto == IPP_UDP ? 8 : proto == IPP_ICMP ? 4 : 0;
    const uint8_t *l4 = fixed && ip_len >= 20 + fixed ? cur_take(&c, fixed) : NULL;
    int hlen = l4 ? common_l4(proto, l4, ip_len - 20) : -1;
    if (hlen < 0)
        return false;

    memcpy(d->dst_mac, eth, 6);
    memcpy(d->src_mac, eth + 6, 6);
    d->has_dst_mac = d->has_src_mac = 1;
    d->vlan = vlan;
    d->has_ip = 1;
    d->ip_version = 4;
    d->src4 = rd_be32(ip + 12);
    d->dst4 = rd_be32(ip + 16);
    set_v4_mapped(d->src, d->src4);
    set_v4_mapped(d->dst, d->dst4);
    d->l3 = ip;
    d->l3_len = (uint32_t)(caplen - ip_off < ip_len ? caplen - ip_off : ip_len);
    d->l4_proto = proto;
    if (proto == IPP_ICMP) {
        d->icmp_type = l4[0];
        d->icmp_code = l4[1];
        d->payload_len = ip_len >= 28 ? ip_len - 28 : 0;
        return true;
    }
    d->sport = rd_be16(l4);
    d->dport = rd_be16(l4 + 2);
    d->has_ports = 1;
    d->tcp_flags = proto == IPP_TCP ? l4[13] : 0;
    d->payload_len = ip_len - 20 - (uint32_t)hlen;
    return true;
}

enum decode_status decode_packet(enum decode_link link, unsigned flags, const uint8_t *buf,
                                 size_t caplen, struct decoded *d)
{
    static const struct decoded blank = {.vlan = DECODE_NO_VLAN};
    struct cursor c;

    /* a copy of fixed size from a template: a few vector moves, where memset was a string
     * instruction with its start-up cost on every packet */
    memcpy(d, &blank, offsetof(struct decoded, src));
    d->flags = (uint8_t)flags;
    if (link == DECODE_LINK_ETH && !(flags & DECODE_NO_FAST) && decode_common(buf, caplen, d))
        return DECODE_OK; /* d->status is DECODE_OK (0) from the template */
    cur_init(&c, buf, caplen);
    d->status = (uint8_t)decode_link(link, &c, d);
    return (enum decode_status)d->status;
}
