/* decode — turns one captured frame into link marks, addresses, ports and a status.
 *
 * Pipeline stage 2: capture → decode → match → flow/classify → bins. Pure: it reads only the
 * bytes it is given, through a bounds-checked cursor, allocates nothing and keeps no state.
 * The result may point into the caller's buffer (l3), valid as long as that buffer is.
 *
 * Every frame ends in exactly one status. Addresses are valid whenever has_ip is set, which
 * can be true for a packet whose transport header is truncated or malformed: the packet
 * still crossed the wire between those two hosts and is counted.
 *
 * Encapsulations are opened through the same cursor, at most DECODE_MAX_ENCAP deep:
 *   - mirror transports (ERSPAN I/II/III, VXLAN on UDP 4789 and 8472, GENEVE on UDP 6081,
 *     GRE bridging 0x6558): the delivery channel of a remote mirror. The frame inside
 *     replaces everything decoded so far (link marks, addresses), so it is matched and
 *     counted as if it had arrived bare; the session id (ERSPAN II/III) or VNI (VXLAN,
 *     GENEVE) of the outermost one is kept for the route rules. Always opened.
 *   - tunnels (IPv4 in IP, IPv6 in IP, IP in GRE, GTP-U G-PDUs on UDP 2152): the innermost
 *     IP packet gives the addresses and ports; the link marks stay the frame's. Opened only
 *     with DECODE_TUNNELS. When the inner IP header cannot be read the packet keeps the
 *     outer addresses (and the inner status).
 * A transport or tunnel header that is cut or malformed ends the decode (truncated,
 * bad_header) with what was read before it; a header of a kind not opened (GRE version 1,
 * GRE carrying another protocol, GTP signalling) leaves the packet as the plain IP packet
 * it is. decode_bytes says how many bytes of the wire length the packet counts for. */
#ifndef BLACKOUT_DECODE_H
#define BLACKOUT_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* Link-layer framings the decoder reads (the capture module maps pcap's DLT values). */
enum decode_link {
    DECODE_LINK_ETH,  /* Ethernet II / 802.3 */
    DECODE_LINK_SLL,  /* Linux cooked capture v1 */
    DECODE_LINK_SLL2, /* Linux cooked capture v2 */
    DECODE_LINK_RAW,  /* raw IP, version from the first nibble */
    DECODE_LINK_IPV4, /* raw IPv4 only */
    DECODE_LINK_IPV6, /* raw IPv6 only */
    DECODE_LINK_NULL, /* BSD loopback, address family in the writer's byte order */
    DECODE_LINK_LOOP, /* OpenBSD loopback, address family in network byte order */
};

enum decode_status {
    DECODE_OK,          /* every header present and valid */
    DECODE_TRUNCATED,   /* the capture ends inside a header */
    DECODE_BAD_HEADER,  /* a header is present but invalid (IHL < 5, length < header ...) */
    DECODE_UNSUPPORTED, /* an encapsulation the decoder does not follow, or past its limits */
    DECODE_NOT_IP,      /* a valid frame that carries no IP (ARP, LLDP, STP ...) */
    DECODE_NSTATUS
};

#define DECODE_NO_VLAN     0xffffu
#define DECODE_MAX_VLANS   4 /* 802.1Q/802.1ad tags followed before giving up */
#define DECODE_MAX_MPLS    8 /* MPLS labels followed before giving up */
#define DECODE_MAX_IP6_EXT 8 /* IPv6 extension headers walked before giving up */
#define DECODE_MAX_ENCAP   4 /* mirror transports and tunnels opened, nested */

/* Options of decode_packet. */
#define DECODE_TUNNELS 1u /* open IP tunnels (mirror transports are always opened) */
#define DECODE_NO_FAST 2u /* every frame through the general decoder (tests compare the two) */

/* What was opened: one counter each in the summary's "decode" object ("decapsulated"). */
enum decode_encap {
    DECODE_ENC_ERSPAN_I,   /* GRE 0x88BE without a sequence number: the frame follows */
    DECODE_ENC_ERSPAN_II,  /* GRE 0x88BE with a sequence number, 8-byte ERSPAN header */
    DECODE_ENC_ERSPAN_III, /* GRE 0x22EB, 12-byte header (+ 8-byte platform sub-header) */
    DECODE_ENC_VXLAN,      /* UDP 4789 or 8472 */
    DECODE_ENC_GENEVE,     /* UDP 6081, options skipped by their length */
    DECODE_ENC_GRE_TEB,    /* GRE 0x6558, Transparent Ethernet Bridging */
    DECODE_ENC_IPIP,       /* tunnel: IP protocol 4, IPv4 inside */
    DECODE_ENC_6IN4,       /* tunnel: IP protocol 41, IPv6 inside */
    DECODE_ENC_GRE_IP,     /* tunnel: GRE 0x0800 or 0x86DD */
    DECODE_ENC_GTPU,       /* tunnel: GTP-U G-PDU on UDP 2152 */
    DECODE_NENCAP
};

struct decoded {
    /* The innermost IP packet (reset when a tunnel or a mirrored frame is opened). */
    uint8_t has_ip;      /* src/dst and ip_version are valid */
    uint8_t ip_version;  /* 4 or 6 */
    uint8_t l4_proto;    /* transport protocol number, after IPv6 extension headers */
    uint8_t has_ports;   /* sport/dport are valid (TCP, UDP, SCTP, first fragment only) */
    uint8_t is_fragment; /* part of a fragmented datagram */
    uint8_t later_frag;  /* a fragment other than the first: no transport header */
    uint8_t tcp_flags;   /* TCP flag byte when l4_proto is TCP and the header was read */
    uint8_t icmp_type, icmp_code;
    uint16_t sport, dport;
    uint32_t frag_id;    /* IPv4 identification or IPv6 fragment id, when is_fragment */
    uint32_t src4, dst4; /* IPv4 addresses in host order (ip_version 4) */
    const uint8_t *l3;   /* IP header onwards, clamped to min(IP length, captured) */
    uint32_t l3_len;
    uint32_t payload_len; /* transport payload length declared by the headers */
    /* The frame's link marks (reset when a mirrored frame is opened). */
    uint8_t has_src_mac, has_dst_mac;
    uint16_t vlan; /* outermost VLAN id, DECODE_NO_VLAN when untagged */
    uint8_t src_mac[6], dst_mac[6];
    /* The layers opened, outermost first. */
    uint8_t status;                  /* enum decode_status */
    uint8_t flags;                   /* as given to decode_packet */
    uint8_t nencap;                  /* entries of encap */
    uint8_t encap[DECODE_MAX_ENCAP]; /* enum decode_encap */
    uint8_t has_erspan;              /* erspan_id is valid (ERSPAN II or III) */
    uint8_t has_vni;                 /* vni is valid (VXLAN or GENEVE) */
    uint16_t erspan_id;              /* session id of the outermost ERSPAN II/III header */
    uint32_t vni;                    /* VNI of the outermost VXLAN or GENEVE header */
    uint32_t frame_off;              /* mirrored frame: its offset in the captured bytes ... */
    uint32_t frame_end;              /* ... and where the transport says it ends (0: no mirror) */
    uint32_t tunnel_hdrs;            /* bytes of tunnel headers opened inside the counted frame */
    /* Written whenever has_ip is set, not cleared otherwise (last: decode_packet clears the
     * fields above, and 32 bytes less to clear per packet is measurable). */
    uint8_t src[16], dst[16]; /* addresses as 16 bytes; IPv4 as ::ffff:a.b.c.d */
};

/* Decodes one frame of `caplen` captured bytes; flags: 0 or DECODE_TUNNELS. Fills *d
 * (always, also on failure) and returns d->status. Never reads outside buf[0, caplen). */
enum decode_status decode_packet(enum decode_link link, unsigned flags, const uint8_t *buf,
                                 size_t caplen, struct decoded *d);

/* The bytes a decoded packet of `wire_len` bytes on the wire counts for: the packet as it
 * crossed the observed link. With a mirror transport, the mirrored frame's length as the
 * transport declares it (the outer headers are the delivery channel); then, with tunnels,
 * less the tunnel headers opened (outer IP, GRE, UDP and GTP headers). Else wire_len. */
uint32_t decode_bytes(const struct decoded *d, uint32_t wire_len);

/* The status's name as it appears in the summary's "decode" object. */
const char *decode_status_name(enum decode_status s);

/* The encapsulation's name as it appears in the summary's "decapsulated" object. */
const char *decode_encap_name(enum decode_encap e);

#endif
