/* gen_wrap — the last touch of blackout-gen's frames with --wrap: the way a remote mirror
 * or a tunnel delivers them. A mirror transport goes around the whole frame (ERSPAN type
 * I, II or III, VXLAN, GENEVE, GRE bridging), from the mirror source 192.0.2.10 to the
 * collector 192.0.2.20; a tunnel goes around the IP datagram, between the tunnel endpoints
 * 198.51.100.1 (router side) and 198.51.100.2 (IP in IP, which is 6in4 for IPv6 packets;
 * IP in GRE; GTP-U), under the frame's own link header.
 *
 * The wrapped capture is its bare twin's: a sensor that opens the encapsulation counts the
 * same packets, bytes and bins (the expect file does not change). ERSPAN session ids and
 * VNIs are 100 + route, like the VLAN ids. Successive wrapped packets take turns through
 * each transport's variants: GRE without and with key and sequence number, the ERSPAN III
 * platform sub-header, VXLAN on UDP 4789 and 8472, GENEVE without and with options, GTP-U
 * without and with a sequence number and an extension header. Pure: bytes in caller
 * buffers. */
#ifndef GEN_WRAP_H
#define GEN_WRAP_H

#include <stddef.h>
#include <stdint.h>

enum gen_wrap {
    GEN_WRAP_NONE,
    GEN_WRAP_ERSPAN1,
    GEN_WRAP_ERSPAN2,
    GEN_WRAP_ERSPAN3,
    GEN_WRAP_VXLAN,
    GEN_WRAP_GENEVE,
    GEN_WRAP_GRE_TEB,
    GEN_WRAP_IPIP, /* tunnels from here on */
    GEN_WRAP_GRE_IP,
    GEN_WRAP_GTPU,
    GEN_WRAP_N
};

#define GEN_WRAP_MAX 96 /* bytes a wrap adds, at most */

/* The wrap named name ("erspan2", "vxlan", ...; "none"). Returns 0, or -1 if unknown. */
int gen_wrap_parse(const char *name, enum gen_wrap *w);

/* The names, '|'-separated, for messages and --help. */
const char *gen_wrap_names(void);

const char *gen_wrap_name(enum gen_wrap w);

/* A tunnel (around the datagram) rather than a mirror transport (around the frame). */
int gen_wrap_is_tunnel(enum gen_wrap w);

/* Mirror transport w around frame (n bytes) into out; seq numbers the wrapped packets,
 * route picks the session id or VNI. Returns the length, or 0 if it does not fit. */
size_t gen_wrap_mirror(enum gen_wrap w, uint64_t seq, int route, const uint8_t *frame, size_t n,
                       uint8_t *out, size_t cap);

/* Tunnel w around datagram ip (n bytes) into out: an IPv4 datagram from the router side's
 * endpoint when from_router, else toward it. Returns the length, or 0 if it does not fit. */
size_t gen_wrap_tunnel(enum gen_wrap w, uint64_t seq, int from_router, const uint8_t *ip, size_t n,
                       uint8_t *out, size_t cap);

#endif
