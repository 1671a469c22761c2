/* gen_net — addresses for blackout-gen: the country's hosts, the outside
 * world, an optional IPv6 country prefix, text forms and the Internet
 * checksum.
 *
 * Country hosts are numbered 0..GEN_HOSTS-1: 0..1535 are the IPv4 KP blocks
 * (175.45.176.0/22, then 210.52.109.0/24, then 77.94.35.0/24, by offset);
 * 1536.. are hosts inside the --v6 prefix. The number lets the expect module
 * count distinct hosts per bin without a hash set. */
#ifndef GEN_NET_H
#define GEN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "gen_rng.h"

#define GEN_KP_V4_HOSTS 1536
#define GEN_V6_HOSTS    256
#define GEN_HOSTS       (GEN_KP_V4_HOSTS + GEN_V6_HOSTS)
#define GEN_ADDR_TEXT   48

struct gen_addr {
    uint8_t v6;    /* 0: IPv4 in b[0..3]; 1: IPv6 in b[0..15] */
    uint8_t b[16]; /* network byte order */
};

struct gen_v6prefix {
    int set;
    unsigned len; /* prefix length, 16..120 */
    uint8_t b[16];
    char text[GEN_ADDR_TEXT + 8];
};

/* Parse "2001:db8:4b50::/48". Returns 0, or -1 with err filled. */
int gen_net_parse_v6prefix(const char *s, struct gen_v6prefix *p, char *err, size_t errlen);

/* The KP IPv4 blocks, as "a.b.c.d/len" strings, NULL-terminated. */
extern const char *const gen_net_kp_blocks[];

/* Country host number -> address (v6 numbers need the prefix). */
void gen_net_country_addr(const struct gen_v6prefix *p, unsigned idx, struct gen_addr *a);

/* Host number of country server i (i taken modulo the number of servers);
 * v6 != 0 gives the matching host inside the v6 prefix. */
unsigned gen_net_server(unsigned i, int v6);

/* Draw a country host number: servers more often than the rest.
 * v6 != 0 draws from the v6 prefix hosts. */
unsigned gen_net_pick_country(struct gen_rng *r, int v6);

/* Draw a public-looking address outside the country set (and outside
 * private, reserved and documentation space). IPv4 ones avoid every range
 * nDPI 4.2 labels by address. */
void gen_net_outside_v4(struct gen_rng *r, struct gen_addr *a);
void gen_net_outside_v6(struct gen_rng *r, const struct gen_v6prefix *p, struct gen_addr *a);

/* Is this IPv4 address (host order) inside the KP blocks? */
int gen_net_is_kp_v4(uint32_t a);

/* Text form into buf (inet_ntop). */
void gen_net_format(const struct gen_addr *a, char *buf, size_t len);

/* Big-endian stores of 16 and 32 bits. */
void gen_net_put16(uint8_t *p, uint32_t v);
void gen_net_put32(uint8_t *p, uint32_t v);

/* Internet checksum: accumulate, then fold and complement. */
uint32_t gen_net_csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t gen_net_csum_fold(uint32_t sum);

#endif
