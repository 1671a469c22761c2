/* gen_frame — turns one packet description into wire bytes: the IP datagram
 * (IPv4 with optional options, or IPv6; TCP, UDP or ICMP with correct
 * checksums), its IPv4 fragments, and the link-layer frame around it
 * (Ethernet with VLAN/QinQ/MPLS and minimum-frame padding, Linux SLL/SLL2,
 * raw, BSD null/loop). Pure: bytes in caller buffers, no I/O. */
#ifndef GEN_FRAME_H
#define GEN_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "gen_net.h"
#include "gen_opt.h"

#define GEN_FRAME_MAX 2048

/* TCP flags. */
#define GEN_TH_FIN 0x01
#define GEN_TH_SYN 0x02
#define GEN_TH_RST 0x04
#define GEN_TH_PSH 0x08
#define GEN_TH_ACK 0x10

/* Extra encapsulation of one packet (--encap-mix). */
enum gen_encap {
    GEN_ENC_NONE,
    GEN_ENC_QINQ,  /* outer tag (route VLAN, TPID 0x88a8 or 0x8100) + inner tag */
    GEN_ENC_MPLS,  /* two MPLS labels under the VLAN tag */
    GEN_ENC_IPOPT, /* IPv4 options: NOP padding or record-route */
    GEN_ENC_FRAG,  /* IPv4 fragments */
    GEN_ENC_PAD,   /* Ethernet padded to 60 bytes */
};

struct gen_pkt {
    const struct gen_addr *src, *dst;
    uint8_t l4; /* 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6 */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;    /* TCP flags */
    uint8_t bare_syn; /* SYN without the usual MSS/WS/SACK options */
    uint16_t win;
    uint16_t ip_id;
    uint8_t ttl;
    uint8_t df;
    uint32_t flowlabel;     /* IPv6 */
    const uint8_t *payload; /* L4 payload; for ICMP the whole ICMP message */
    uint16_t len;
    /* link layer */
    uint8_t route;
    uint8_t from_router; /* sent by the router side (see gen_frame_link) */
    /* encapsulation */
    enum gen_encap encap;
    uint8_t qinq_ad;  /* outer TPID 0x88a8 instead of 0x8100 */
    uint8_t ipopt_rr; /* record-route instead of NOP padding */
    uint16_t inner_vlan;
    uint32_t mpls[2];
    uint16_t frag_data; /* data bytes per fragment (multiple of 8) */
    uint16_t wrap_hdrs; /* the datagram is in a tunnel (IPv4) with this many header bytes */
};

/* Link-layer settings shared by every frame. */
struct gen_frame_cfg {
    enum gen_link link;
    enum gen_mark mark; /* the --mark option (what the sensor can see is decided here) */
};

/* Build the IP datagram of p into ip (cap bytes). Returns its length, or 0
 * if it does not fit. */
size_t gen_frame_ip(const struct gen_pkt *p, uint8_t *ip, size_t cap);

/* Number of IPv4 fragments datagram ip (iplen bytes) splits into with
 * frag_data bytes of data each; 1 when it is small enough. */
int gen_frame_nfrags(const uint8_t *ip, size_t iplen, uint16_t frag_data);

/* Fragment k of the datagram into out. Returns its length, or 0. */
size_t gen_frame_frag(const uint8_t *ip, size_t iplen, uint16_t frag_data, int k, uint8_t *out,
                      size_t cap);

/* Wrap datagram ip in the link header into frame. Returns the frame length
 * (the wire length), or 0 if it does not fit.
 * MAC scheme: frames sent by the router side have src = router MAC
 * 02:00:00:00:01:0R and dst = observer 02:00:00:00:00:01; the others the
 * reverse. Country packets toward the country come from the router side. */
size_t gen_frame_link(const struct gen_frame_cfg *cfg, const struct gen_pkt *p, const uint8_t *ip,
                      size_t iplen, uint8_t *frame, size_t cap);

/* Router MAC of route r as the frames carry it (neutral when MACs do not
 * mark routes). */
void gen_frame_router_mac(const struct gen_frame_cfg *cfg, int route, uint8_t mac[6]);

#endif
