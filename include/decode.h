/* decode — turns one captured frame into link marks, addresses, ports and a status.
 *
 * Pipeline stage 2: capture → decode → match → flow/classify → bins. Pure: it reads only the
 * bytes it is given, through a bounds-checked cursor, allocates nothing and keeps no state.
 * The result may point into the caller's buffer (l3), valid as long as that buffer is.
 *
 * Every frame ends in exactly one status. Addresses are valid whenever has_ip is set, which
 * can be true for a packet whose transport header is truncated or malformed: the packet
 * still crossed the wire between those two hosts and is counted. */
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

struct decoded {
    uint8_t status;      /* enum decode_status */
    uint8_t has_ip;      /* src/dst and ip_version are valid */
    uint8_t ip_version;  /* 4 or 6 */
    uint8_t l4_proto;    /* transport protocol number, after IPv6 extension headers */
    uint8_t has_ports;   /* sport/dport are valid (TCP, UDP, SCTP, first fragment only) */
    uint8_t is_fragment; /* part of a fragmented datagram */
    uint8_t later_frag;  /* a fragment other than the first: no transport header */
    uint8_t tcp_flags;   /* TCP flag byte when l4_proto is TCP and the header was read */
    uint8_t has_src_mac, has_dst_mac;
    uint8_t icmp_type, icmp_code;
    uint16_t vlan; /* outermost VLAN id, DECODE_NO_VLAN when untagged */
    uint16_t sport, dport;
    uint32_t frag_id; /* IPv4 identification or IPv6 fragment id, when is_fragment */
    uint8_t src_mac[6], dst_mac[6];
    uint32_t src4, dst4;      /* IPv4 addresses in host order (ip_version 4) */
    uint8_t src[16], dst[16]; /* addresses as 16 bytes; IPv4 as ::ffff:a.b.c.d */
    const uint8_t *l3;        /* IP header onwards, clamped to min(IP length, captured) */
    uint32_t l3_len;
    uint32_t payload_len; /* transport payload length declared by the headers */
};

/* Decodes one frame of `caplen` captured bytes. Fills *d (always, also on failure) and
 * returns d->status. Never reads outside buf[0, caplen). */
enum decode_status decode_packet(enum decode_link link, const uint8_t *buf, size_t caplen,
                                 struct decoded *d);

/* The status's name as it appears in the summary's "decode" object. */
const char *decode_status_name(enum decode_status s);

#endif
