/* gen_net — country and outside addresses, checksums. See gen_net.h. */
#include "gen_net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const gen_net_kp_blocks[] = {"175.45.176.0/22", "210.52.109.0/24", "77.94.35.0/24",
                                         NULL};

/* Hosts that serve most conversations (offsets into the v4 numbering). */
static const uint16_t net_servers[] = {8,  9,  15, 16, 67,   68,   69,   71,
                                       72, 75, 77, 80, 1030, 1041, 1290, 1301};

#define NET_NSERVERS (sizeof(net_servers) / sizeof(net_servers[0]))

int gen_net_parse_v6prefix(const char *s, struct gen_v6prefix *p, char *err, size_t errlen)
{
    const char *slash = strchr(s, '/');
    char addr[GEN_ADDR_TEXT];
    char *end = NULL;
    unsigned long len;

    if (slash == NULL || (size_t)(slash - s) >= sizeof(addr)) {
        snprintf(err, errlen, "--v6 '%s': expected PREFIX/LEN", s);
        return -1;
    }
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    len = strtoul(slash + 1, &end, 10);
    if (end == slash + 1 || *end != '\0' || len < 16 || len > 120) {
        snprintf(err, errlen, "--v6 '%s': prefix length must be 16..120", s);
        return -1;
    }
    if (inet_pton(AF_INET6, addr, p->b) != 1) {
        snprintf(err, errlen, "--v6 '%s': not an IPv6 address", s);
        return -1;
    }
    for (unsigned bit = (unsigned)len; bit < 128; bit++)
        p->b[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    p->len = (unsigned)len;
    p->set = 1;
    inet_ntop(AF_INET6, p->b, addr, sizeof(addr));
    snprintf(p->text, sizeof(p->text), "%s/%u", addr, p->len);
    return 0;
}

static uint32_t net_v4_of_index(unsigned idx)
{
    if (idx < 1024)
        return (175u << 24 | 45u << 16 | 176u << 8) + idx;
    if (idx < 1280)
        return (210u << 24 | 52u << 16 | 109u << 8) + (idx - 1024);
    return (77u << 24 | 94u << 16 | 35u << 8) + (idx - 1280);
}

static void net_put_v4(struct gen_addr *a, uint32_t v)
{
    memset(a, 0, sizeof(*a));
    a->b[0] = (uint8_t)(v >> 24);
    a->b[1] = (uint8_t)(v >> 16);
    a->b[2] = (uint8_t)(v >> 8);
    a->b[3] = (uint8_t)v;
}

/* v6 host i: servers are PREFIX::1..::10, the others hashed bits below the prefix. */
static void net_v6_host(const struct gen_v6prefix *p, unsigned i, struct gen_addr *a)
{
    memset(a, 0, sizeof(*a));
    a->v6 = 1;
    if (i < 16) {
        a->b[15] = (uint8_t)(i + 1);
    } else {
        uint64_t hi = gen_mix64(0x6b70ULL + i);
        uint64_t lo = gen_mix64(0x6b7000ULL + i);
        for (int k = 0; k < 8; k++) {
            a->b[k] = (uint8_t)(hi >> (56 - 8 * k));
            a->b[8 + k] = (uint8_t)(lo >> (56 - 8 * k));
        }
    }
    for (unsigned bit = 0; bit < p->len; bit++) {
        uint8_t m = (uint8_t)(0x80u >> (bit % 8));
        a->b[bit / 8] = (uint8_t)((a->b[bit / 8] & ~m) | (p->b[bit / 8] & m));
    }
}

void gen_net_country_addr(const struct gen_v6prefix *p, unsigned idx, struct gen_addr *a)
{
    if (idx < GEN_KP_V4_HOSTS)
        net_put_v4(a, net_v4_of_index(idx));
    else
        net_v6_host(p, idx - GEN_KP_V4_HOSTS, a);
}

unsigned gen_net_server(unsigned i, int v6)
{
    return v6 ? GEN_KP_V4_HOSTS + i % 16 : net_servers[i % NET_NSERVERS];
}

unsigned gen_net_pick_country(struct gen_rng *r, int v6)
{
    if (v6)
        return GEN_KP_V4_HOSTS +
               (gen_rng_below(r, 2) ? gen_rng_below(r, 16) : gen_rng_below(r, GEN_V6_HOSTS));
    if (gen_rng_below(r, 2))
        return net_servers[gen_rng_below(r, NET_NSERVERS)];
    for (;;) {
        unsigned idx = gen_rng_below(r, GEN_KP_V4_HOSTS);
        uint8_t last = (uint8_t)net_v4_of_index(idx);
        if (last != 0 && last != 255)
            return idx;
    }
}

int gen_net_is_kp_v4(uint32_t a)
{
    return (a & 0xfffffc00u) == (175u << 24 | 45u << 16 | 176u << 8) ||
           (a & 0xffffff00u) == (210u << 24 | 52u << 16 | 109u << 8) ||
           (a & 0xffffff00u) == (77u << 24 | 94u << 16 | 35u << 8);
}

/* Outside IPv4 hosts come from these public /8s (every region: ARIN,
 * RIPE, APNIC, AFRINIC). None of them holds an address that nDPI 4.2 maps
 * to an application by IP (checked address by address against its IP
 * tree), so a flow's nDPI label depends on its payload only. None of them
 * overlaps the KP blocks or private, shared or documentation space. */
static const uint8_t net_outside_v4[] = {16,  19,  25,  32,  39,  48,  56, 57,
                                         105, 106, 117, 133, 156, 196, 211};

void gen_net_outside_v4(struct gen_rng *r, struct gen_addr *a)
{
    uint32_t v;

    do {
        uint32_t top = net_outside_v4[gen_rng_below(r, sizeof(net_outside_v4))];
        v = top << 24 | (uint32_t)(gen_rng_next(r) >> 40);
    } while (gen_net_is_kp_v4(v) || (v & 0xff) == 0 || (v & 0xff) == 255);
    net_put_v4(a, v);
}

static int net_in_prefix(const struct gen_v6prefix *p, const uint8_t *b)
{
    for (unsigned bit = 0; bit < p->len; bit++) {
        uint8_t m = (uint8_t)(0x80u >> (bit % 8));
        if ((b[bit / 8] & m) != (p->b[bit / 8] & m))
            return 0;
    }
    return 1;
}

/* Global unicast 2400::/12, 2600::/12, 2a00::/12 and 2001:0200::/23-ish. */
void gen_net_outside_v6(struct gen_rng *r, const struct gen_v6prefix *p, struct gen_addr *a)
{
    static const uint16_t tops[] = {0x2400, 0x2600, 0x2a00, 0x2001};

    memset(a, 0, sizeof(*a));
    a->v6 = 1;
    do {
        uint16_t top = tops[gen_rng_below(r, 4)];
        gen_rng_fill(r, a->b, 16);
        if (top == 0x2001) {
            a->b[2] = (uint8_t)(0x02 + gen_rng_below(r, 2));
        } else {
            top = (uint16_t)(top | (a->b[1] & 0x0f));
        }
        a->b[0] = (uint8_t)(top >> 8);
        a->b[1] = (uint8_t)top;
    } while (p->set && net_in_prefix(p, a->b));
}

void gen_net_format(const struct gen_addr *a, char *buf, size_t len)
{
    if (inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->b, buf, (socklen_t)len) == NULL)
        snprintf(buf, len, "?");
}

void gen_net_put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void gen_net_put32(uint8_t *p, uint32_t v)
{
    gen_net_put16(p, v >> 16);
    gen_net_put16(p + 2, v & 0xffff);
}

uint32_t gen_net_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    uint64_t acc = sum;
    size_t i = 0;

    /* 32-bit big-endian words: the same one's complement sum, half the steps */
    for (; i + 4 <= n; i += 4)
        acc += (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 | p[i + 3];
    for (; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < n)
        acc += (uint32_t)p[i] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint32_t)acc;
}

uint16_t gen_net_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}
