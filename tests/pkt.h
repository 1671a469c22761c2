/* pkt — builds packet bytes by hand for the unit tests: each helper appends one header to a
 * fixed buffer, big-endian as on the wire. Checksums are left zero (nothing checks them). */
#ifndef BLACKOUT_TEST_PKT_H
#define BLACKOUT_TEST_PKT_H

#include <stdint.h>
#include <string.h>

struct pkt {
    uint8_t b[2048];
    size_t n;
};

static inline void pk_u8(struct pkt *p, unsigned v)
{
    p->b[p->n++] = (uint8_t)v;
}

static inline void pk_u16(struct pkt *p, unsigned v)
{
    pk_u8(p, v >> 8);
    pk_u8(p, v);
}

static inline void pk_u32(struct pkt *p, uint32_t v)
{
    pk_u16(p, v >> 16);
    pk_u16(p, v & 0xffff);
}

static inline void pk_bytes(struct pkt *p, const void *src, size_t n)
{
    memcpy(p->b + p->n, src, n);
    p->n += n;
}

static inline void pk_zero(struct pkt *p, size_t n)
{
    memset(p->b + p->n, 0, n);
    p->n += n;
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t PK_MAC_A[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t PK_MAC_B[6] = {0x02, 0, 0, 0, 1, 0x00};

static inline void pk_eth(struct pkt *p, unsigned type)
{
    pk_bytes(p, PK_MAC_A, 6);
    pk_bytes(p, PK_MAC_B, 6);
    pk_u16(p, type);
}

static inline void pk_vlan(struct pkt *p, unsigned id, unsigned next)
{
    pk_u16(p, id);
    pk_u16(p, next);
}

/* IPv4 header with `optlen` bytes of NOP options; total = header + l4len. */
static inline void pk_ip4(struct pkt *p, uint32_t src, uint32_t dst, unsigned proto, size_t l4len,
                          unsigned frag, size_t optlen)
{
    size_t hl = 20 + optlen;
    pk_u8(p, 0x40 | (unsigned)(hl / 4));
    pk_u8(p, 0);
    pk_u16(p, (unsigned)(hl + l4len));
    pk_u16(p, 0x1234);
    pk_u16(p, frag);
    pk_u8(p, 64);
    pk_u8(p, proto);
    pk_u16(p, 0);
    pk_u32(p, src);
    pk_u32(p, dst);
    for (size_t i = 0; i < optlen; i++)
        pk_u8(p, 1);
}

static inline void pk_ip6(struct pkt *p, const uint8_t src[16], const uint8_t dst[16],
                          unsigned next, size_t plen)
{
    pk_u32(p, 0x60000000);
    pk_u16(p, (unsigned)plen);
    pk_u8(p, next);
    pk_u8(p, 64);
    pk_bytes(p, src, 16);
    pk_bytes(p, dst, 16);
}

static inline void pk_tcp(struct pkt *p, unsigned sport, unsigned dport, unsigned flags,
                          size_t payload)
{
    pk_u16(p, sport);
    pk_u16(p, dport);
    pk_u32(p, 1000);
    pk_u32(p, 0);
    pk_u8(p, 5 << 4);
    pk_u8(p, flags);
    pk_u16(p, 65535);
    pk_u16(p, 0);
    pk_u16(p, 0);
    for (size_t i = 0; i < payload; i++)
        pk_u8(p, 'a' + (unsigned)(i % 26));
}

static inline void pk_udp(struct pkt *p, unsigned sport, unsigned dport, size_t payload)
{
    pk_u16(p, sport);
    pk_u16(p, dport);
    pk_u16(p, (unsigned)(8 + payload));
    pk_u16(p, 0);
    for (size_t i = 0; i < payload; i++)
        pk_u8(p, 'x');
}

#endif
