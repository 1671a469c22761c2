/* Unit tests for the decoder on hand-made byte strings, including truncated and hostile ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "decode.h"
#include "pkt.h"

static const uint32_t KP = IP4(175, 45, 176, 10);
static const uint32_t EXT = IP4(8, 8, 8, 8);

static const uint8_t V6A[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t V6B[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static enum decode_status dec(const struct pkt *p, enum decode_link link, struct decoded *d)
{
    return decode_packet(link, DECODE_TUNNELS, p->b, p->n, d);
}

static void eth_ipv4_tcp(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x0800);
    pk_ip4(&p, EXT, KP, 6, 20 + 11, 0, 0);
    pk_tcp(&p, 40000, 80, 0x18, 11);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_true(d.has_ip);
    assert_int_equal(d.ip_version, 4);
    assert_int_equal(d.src4, EXT);
    assert_int_equal(d.dst4, KP);
    assert_int_equal(d.dst[10], 0xff);
    assert_int_equal(d.dst[12], 175);
    assert_true(d.has_ports);
    assert_int_equal(d.sport, 40000);
    assert_int_equal(d.dport, 80);
    assert_int_equal(d.tcp_flags, 0x18);
    assert_int_equal(d.payload_len, 11);
    assert_int_equal(d.vlan, DECODE_NO_VLAN);
    assert_memory_equal(d.src_mac, PK_MAC_B, 6);
    assert_memory_equal(d.dst_mac, PK_MAC_A, 6);
    assert_int_equal(d.l3_len, 20 + 20 + 11);
    assert_ptr_equal(d.l3, p.b + 14);
}

static void vlan_and_qinq_keep_outer_id(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x8100);
    pk_vlan(&p, 0x2000 | 101, 0x0800); /* priority bits set: only the id counts */
    pk_ip4(&p, KP, EXT, 17, 8, 0, 0);
    pk_udp(&p, 53, 5353, 0);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.vlan, 101);

    p.n = 0;
    pk_eth(&p, 0x88a8);
    pk_vlan(&p, 300, 0x8100);
    pk_vlan(&p, 7, 0x0800);
    pk_ip4(&p, KP, EXT, 17, 8, 0, 0);
    pk_udp(&p, 53, 5353, 0);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.vlan, 300);
    assert_int_equal(d.sport, 53);
}

static void too_many_vlan_tags_unsupported(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x8100);
    for (int i = 0; i < DECODE_MAX_VLANS; i++)
        pk_vlan(&p, 10 + (unsigned)i, 0x8100);
    pk_vlan(&p, 99, 0x0800);
    pk_ip4(&p, KP, EXT, 17, 8, 0, 0);
    pk_udp(&p, 1, 2, 0);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_UNSUPPORTED);
    assert_false(d.has_ip);
}

static void mpls_stack_then_ipv4(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x8100);
    pk_vlan(&p, 102, 0x8847);
    pk_u32(&p, 1000 << 12 | 0 << 8 | 64);
    pk_u32(&p, 2000 << 12 | 1 << 8 | 64); /* bottom of stack */
    pk_ip4(&p, EXT, KP, 6, 20, 0, 0);
    pk_tcp(&p, 1, 443, 0x02, 0);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.vlan, 102);
    assert_int_equal(d.dst4, KP);
    assert_int_equal(d.dport, 443);
}

static void mpls_pseudowire_ethernet(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x8847);
    pk_u32(&p, 5 << 12 | 1 << 8 | 64);
    pk_u32(&p, 0); /* control word */
    pk_eth(&p, 0x0800);
    pk_ip4(&p, EXT, KP, 17, 8, 0, 0);
    pk_udp(&p, 9, 10, 0);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.dport, 10);
}

static void mpls_too_deep_unsupported(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x8847);
    for (int i = 0; i < DECODE_MAX_MPLS + 1; i++)
        pk_u32(&p, 7 << 12 | 64);
    pk_ip4(&p, EXT, KP, 17, 8, 0, 0);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_UNSUPPORTED);
}

static void ipv4_options_and_padding(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x0800);
    pk_ip4(&p, EXT, KP, 17, 8 + 2, 0, 8);
    pk_udp(&p, 1234, 53, 2);
    pk_zero(&p, 20); /* Ethernet padding past the IP total length */
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.dport, 53);
    assert_int_equal(d.l3_len, 28 + 8 + 2);
    assert_int_equal(d.payload_len, 2);
}

static void ipv4_fragments(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x0800);
    pk_ip4(&p, EXT, KP, 17, 8 + 100, 0x2000, 0); /* first fragment: more fragments */
    pk_udp(&p, 1111, 2222, 100);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_true(d.is_fragment);
    assert_false(d.later_frag);
    assert_true(d.has_ports);
    assert_int_equal(d.sport, 1111);

    p.n = 0;
    pk_eth(&p, 0x0800);
    pk_ip4(&p, EXT, KP, 17, 100, 0x0010, 0); /* offset 128 bytes: no transport header */
    pk_zero(&p, 100);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_true(d.is_fragment);
    assert_true(d.later_frag);
    assert_false(d.has_ports);
    assert_true(d.has_ip);
    assert_int_equal(d.l4_proto, 17);
}

static void ipv4_bad_headers(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x0800);
    pk_ip4(&p, EXT, KP, 17, 8, 0, 0);
    pk_udp(&p, 1, 2, 0);
    p.b[14] = 0x44; /* IHL 4 */
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_BAD_HEADER);
    assert_false(d.has_ip);
    p.b[14] = 0x55; /* version 5 */
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_BAD_HEADER);
    p.b[14] = 0x46; /* IHL 6 (24 bytes) with a total length of 22 */
    p.b[16] = 0;
    p.b[17] = 22;
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_BAD_HEADER);
}

static void tcp_bad_offset_keeps_addresses(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x0800);
    pk_ip4(&p, EXT, KP, 6, 20, 0, 0);
    pk_tcp(&p, 1, 2, 0x02, 0);
    p.b[14 + 20 + 12] = 0x30; /* data offset 3 */
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_BAD_HEADER);
    assert_true(d.has_ip);
    assert_int_equal(d.dst4, KP);
}

static void truncations(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x0800);
    pk_ip4(&p, EXT, KP, 6, 20, 0, 0);
    pk_tcp(&p, 1, 2, 0x02, 0);
    assert_int_equal(decode_packet(DECODE_LINK_ETH, DECODE_TUNNELS, p.b, 10, &d), DECODE_TRUNCATED);
    assert_false(d.has_ip);
    assert_int_equal(decode_packet(DECODE_LINK_ETH, DECODE_TUNNELS, p.b, 14 + 15, &d),
                     DECODE_TRUNCATED);
    assert_false(d.has_ip);
    /* transport header cut: addresses are still known */
    assert_int_equal(decode_packet(DECODE_LINK_ETH, DECODE_TUNNELS, p.b, 14 + 20 + 10, &d),
                     DECODE_TRUNCATED);
    assert_true(d.has_ip);
    assert_int_equal(d.src4, EXT);
}

/* Every prefix of valid packets: no read past the end (run under ASan), a status for each. */
static void every_prefix_is_safe(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x8100);
    pk_vlan(&p, 5, 0x86dd);
    pk_ip6(&p, V6A, V6B, 0, 8 + 8 + 8 + 20);
    pk_u8(&p, 60); /* hop-by-hop, then destination options */
    pk_u8(&p, 0);
    pk_zero(&p, 6);
    pk_u8(&p, 44); /* destination options, then fragment */
    pk_u8(&p, 0);
    pk_zero(&p, 6);
    pk_u8(&p, 6); /* fragment header, offset 0, then TCP */
    pk_u8(&p, 0);
    pk_u16(&p, 1);
    pk_u32(&p, 99);
    pk_tcp(&p, 1, 2, 0x02, 0);
    for (size_t n = 0; n <= p.n; n++) {
        unsigned char *copy = test_malloc(n ? n : 1);
        memcpy(copy, p.b, n);
        enum decode_status s = decode_packet(DECODE_LINK_ETH, DECODE_TUNNELS, copy, n, &d);
        assert_true(s == (n == p.n ? DECODE_OK : DECODE_TRUNCATED));
        test_free(copy);
    }
}

/* The two decodes of a frame agree: status, every field up to the addresses (the option
 * bits aside), and the addresses when there are any. */
static void assert_same_decode(const uint8_t *b, size_t n, unsigned flags)
{
    struct decoded fast, slow;

    enum decode_status a = decode_packet(DECODE_LINK_ETH, flags, b, n, &fast);
    enum decode_status c = decode_packet(DECODE_LINK_ETH, flags | DECODE_NO_FAST, b, n, &slow);
    assert_int_equal(a, c);
    fast.flags = slow.flags = 0;
    assert_memory_equal(&fast, &slow, offsetof(struct decoded, src));
    if (fast.has_ip) {
        assert_memory_equal(fast.src, slow.src, 16);
        assert_memory_equal(fast.dst, slow.dst, 16);
    }
}

/* One frame of the grid: link (0 bare, 1 802.1Q, 2 802.1ad, 3 two 802.1Q tags), IPv4 first
 * byte, total length (0: exact, else this), fragment field, protocol, TCP data offset in
 * words, UDP destination port, payload bytes. */
static void grid_frame(struct pkt *p, unsigned link, unsigned vhl, unsigned tot, unsigned frag,
                       unsigned proto, unsigned doff, unsigned dport, unsigned payload)
{
    static const unsigned first[] = {0x0800, 0x8100, 0x88a8, 0x8100};
    size_t l4 = proto == 6 ? 20 : proto == 17 ? 8 : 4, opt = vhl == 0x46 ? 4 : 0;

    memset(p, 0, sizeof *p);
    pk_eth(p, first[link]);
    if (link)
        pk_vlan(p, 100 + link, link == 3 ? 0x8100 : 0x0800);
    if (link == 3)
        pk_vlan(p, 7, 0x0800);
    pk_ip4(p, EXT, KP, proto, l4 + payload, frag, opt);
    p->b[p->n - 20 - opt] = (uint8_t)vhl;
    if (tot) {
        p->b[p->n - 18 - opt] = (uint8_t)(tot >> 8);
        p->b[p->n - 17 - opt] = (uint8_t)tot;
    }
    if (proto == 6) {
        pk_tcp(p, 40000, 443, 0x18, 0);
        p->b[p->n - 8] = (uint8_t)(doff << 4);
    } else if (proto == 17) {
        pk_udp(p, 40000, dport, 0);
    } else {
        pk_u32(p, 0x08000000);
    }
    for (unsigned i = 0; i < payload; i++)
        pk_u8(p, 'a' + i % 26);
}

/* The one-pass decoder of the common frame against the general one, over a grid of frames
 * near and across its limits, every cut of each, with and without tunnels opened. */
static void common_frames_decode_as_the_general_decoder(void **state)
{
    static const unsigned vhls[] = {0x45, 0x46, 0x44, 0x55};
    static const unsigned tots[] = {0, 1, 20, 27, 28, 39, 40, 44, 1500};
    static const unsigned frags[] = {0, 0x4000, 0x2000, 0x0001, 0x8000};
    static const unsigned protos[] = {6, 17, 1, 47, 4};
    static const unsigned doffs[] = {5, 4, 6, 0, 15};
    static const unsigned dports[] = {53, 4789, 8472, 6081, 2152};
    static const unsigned payloads[] = {0, 3, 20};
    struct pkt p;
    unsigned frames = 0;

    for (unsigned link = 0; link < 4; link++)
        for (size_t v = 0; v < sizeof vhls / sizeof vhls[0]; v++)
            for (size_t t = 0; t < sizeof tots / sizeof tots[0]; t++)
                for (size_t f = 0; f < sizeof frags / sizeof frags[0]; f++)
                    for (size_t pr = 0; pr < sizeof protos / sizeof protos[0]; pr++)
                        for (size_t x = 0; x < 5; x++)
                            for (size_t pl = 0; pl < sizeof payloads / sizeof payloads[0]; pl++) {
                                if (x && protos[pr] != 6 && protos[pr] != 17)
                                    continue;
                                grid_frame(&p, link, vhls[v], tots[t], frags[f], protos[pr],
                                           doffs[x], dports[x], payloads[pl]);
                                for (size_t n = 0; n <= p.n; n++) {
                                    assert_same_decode(p.b, n, 0);
                                    assert_same_decode(p.b, n, DECODE_TUNNELS);
                                }
                                frames++;
                            }
    assert_true(frames > 10000);
}

static void ipv6_extension_chain(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x86dd);
    pk_ip6(&p, V6A, V6B, 0, 8 + 16 + 8 + 4);
    pk_u8(&p, 43); /* hop-by-hop → routing */
    pk_u8(&p, 0);
    pk_zero(&p, 6);
    pk_u8(&p, 17); /* routing header of 16 bytes → UDP */
    pk_u8(&p, 1);
    pk_zero(&p, 14);
    pk_udp(&p, 5000, 53, 4);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.ip_version, 6);
    assert_int_equal(d.l4_proto, 17);
    assert_int_equal(d.dport, 53);
    assert_int_equal(d.payload_len, 4);
    assert_memory_equal(d.src, V6A, 16);
    assert_memory_equal(d.dst, V6B, 16);
}

static void ipv6_chain_limits(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x86dd);
    pk_ip6(&p, V6A, V6B, 60, 8 * (DECODE_MAX_IP6_EXT + 1) + 8);
    for (int i = 0; i < DECODE_MAX_IP6_EXT + 1; i++) {
        pk_u8(&p, i == DECODE_MAX_IP6_EXT ? 17 : 60);
        pk_u8(&p, 0);
        pk_zero(&p, 6);
    }
    pk_udp(&p, 1, 2, 0);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_UNSUPPORTED);
    assert_true(d.has_ip);

    /* an extension header longer than the declared payload */
    p.n = 0;
    pk_eth(&p, 0x86dd);
    pk_ip6(&p, V6A, V6B, 0, 8);
    pk_u8(&p, 17);
    pk_u8(&p, 5); /* 48 bytes */
    pk_zero(&p, 6);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_BAD_HEADER);
}

static void ipv6_fragments(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x86dd);
    pk_ip6(&p, V6A, V6B, 44, 8 + 100);
    pk_u8(&p, 17);
    pk_u8(&p, 0);
    pk_u16(&p, 100 << 3); /* offset 800: a later fragment */
    pk_u32(&p, 7);
    pk_zero(&p, 100);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_true(d.later_frag);
    assert_false(d.has_ports);
    assert_int_equal(d.l4_proto, 17);
}

static void ipv6_no_next_and_esp(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x86dd);
    pk_ip6(&p, V6A, V6B, 59, 0);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_false(d.has_ports);

    p.n = 0;
    pk_eth(&p, 0x86dd);
    pk_ip6(&p, V6A, V6B, 50, 16);
    pk_zero(&p, 16);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.l4_proto, 50);
}

static void not_ip_frames(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x0806); /* ARP */
    pk_zero(&p, 28);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_NOT_IP);
    assert_true(d.has_src_mac);
    p.n = 0;
    pk_eth(&p, 0x0026); /* 802.3 length field: LLC */
    pk_zero(&p, 38);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_NOT_IP);
}

static void pppoe_session(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x8864);
    pk_u8(&p, 0x11);
    pk_u8(&p, 0);
    pk_u16(&p, 1);
    pk_u16(&p, 2 + 28);
    pk_u16(&p, 0x0021);
    pk_ip4(&p, EXT, KP, 17, 8, 0, 0);
    pk_udp(&p, 1, 2, 0);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.dst4, KP);
}

static void cooked_links(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    /* SLL v1 */
    pk_u16(&p, 0);
    pk_u16(&p, 1);
    pk_u16(&p, 6);
    pk_bytes(&p, PK_MAC_B, 6);
    pk_zero(&p, 2);
    pk_u16(&p, 0x0800);
    pk_ip4(&p, EXT, KP, 17, 8, 0, 0);
    pk_udp(&p, 1, 2, 0);
    assert_int_equal(dec(&p, DECODE_LINK_SLL, &d), DECODE_OK);
    assert_true(d.has_src_mac);
    assert_memory_equal(d.src_mac, PK_MAC_B, 6);
    assert_int_equal(d.dst4, KP);

    /* SLL v2 */
    p.n = 0;
    pk_u16(&p, 0x86dd);
    pk_zero(&p, 2);
    pk_u32(&p, 3);
    pk_u16(&p, 1);
    pk_u8(&p, 0);
    pk_u8(&p, 6);
    pk_bytes(&p, PK_MAC_A, 6);
    pk_zero(&p, 2);
    pk_ip6(&p, V6A, V6B, 17, 8);
    pk_udp(&p, 1, 2, 0);
    assert_int_equal(dec(&p, DECODE_LINK_SLL2, &d), DECODE_OK);
    assert_memory_equal(d.src_mac, PK_MAC_A, 6);
    assert_int_equal(d.ip_version, 6);
}

static void raw_and_loopback_links(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_ip4(&p, EXT, KP, 17, 8, 0, 0);
    pk_udp(&p, 1, 2, 0);
    assert_int_equal(dec(&p, DECODE_LINK_RAW, &d), DECODE_OK);
    assert_int_equal(dec(&p, DECODE_LINK_IPV4, &d), DECODE_OK);
    assert_int_equal(dec(&p, DECODE_LINK_IPV6, &d), DECODE_BAD_HEADER);

    p.n = 0;
    pk_u8(&p, 2); /* AF_INET, little-endian writer */
    pk_zero(&p, 3);
    pk_ip4(&p, EXT, KP, 17, 8, 0, 0);
    pk_udp(&p, 1, 2, 0);
    assert_int_equal(dec(&p, DECODE_LINK_NULL, &d), DECODE_OK);

    p.n = 0;
    pk_u32(&p, 30); /* AF_INET6 (FreeBSD), big-endian writer */
    pk_ip6(&p, V6A, V6B, 17, 8);
    pk_udp(&p, 1, 2, 0);
    assert_int_equal(dec(&p, DECODE_LINK_NULL, &d), DECODE_OK);
    assert_int_equal(dec(&p, DECODE_LINK_LOOP, &d), DECODE_OK);

    p.n = 0;
    pk_u32(&p, 7); /* unknown family */
    pk_zero(&p, 20);
    assert_int_equal(dec(&p, DECODE_LINK_LOOP, &d), DECODE_NOT_IP);
}

static void icmp_and_zero_total_length(void **state)
{
    struct pkt p = {0};
    struct decoded d;

    pk_eth(&p, 0x0800);
    pk_ip4(&p, KP, EXT, 1, 8 + 4, 0, 0);
    pk_u8(&p, 0); /* echo reply */
    pk_u8(&p, 0);
    pk_zero(&p, 6 + 4);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.l4_proto, 1);
    assert_int_equal(d.icmp_type, 0);
    assert_int_equal(d.payload_len, 4);

    /* total length 0 (segmentation offload on the capturing host): use what was captured */
    p.b[16] = 0;
    p.b[17] = 0;
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.l3_len, 20 + 12);
}

static void status_names(void **state)
{
    assert_string_equal(decode_status_name(DECODE_OK), "ok");
    assert_string_equal(decode_status_name(DECODE_TRUNCATED), "truncated");
    assert_string_equal(decode_status_name(DECODE_BAD_HEADER), "bad_header");
    assert_string_equal(decode_status_name(DECODE_UNSUPPORTED), "unsupported");
    assert_string_equal(decode_status_name(DECODE_NOT_IP), "not_ip");
}

/* ---- mirror transports and tunnels ---- */

static const uint32_t MIRROR_SRC = IP4(192, 0, 2, 10);
static const uint32_t MIRROR_DST = IP4(192, 0, 2, 20);
static const uint8_t OUTER_MAC[6] = {0x02, 0, 0, 0, 0x0e, 0x01};

/* The frame a mirror copies: VLAN 101, IPv4 from the country, TCP with 11 payload bytes. */
static void inner_frame(struct pkt *f)
{
    f->n = 0;
    pk_eth(f, 0x8100);
    pk_vlan(f, 101, 0x0800);
    pk_ip4(f, KP, EXT, 6, 20 + 11, 0, 0);
    pk_tcp(f, 443, 40000, 0x18, 11);
}

/* Outer Ethernet (no VLAN) and IPv4 from the mirror source, protocol proto, carrying
 * hdr then body. */
static void outer_ip4(struct pkt *p, unsigned proto, const struct pkt *hdr, const struct pkt *body)
{
    p->n = 0;
    pk_bytes(p, OUTER_MAC, 6);
    pk_bytes(p, OUTER_MAC, 6);
    pk_u16(p, 0x0800);
    pk_ip4(p, MIRROR_SRC, MIRROR_DST, proto, hdr->n + body->n, 0, 0);
    pk_bytes(p, hdr->b, hdr->n);
    pk_bytes(p, body->b, body->n);
}

/* GRE header: flags (C, K, S), protocol, then checksum/offset, key, sequence as flagged. */
static void pk_gre(struct pkt *h, unsigned flags, unsigned proto)
{
    pk_u16(h, flags);
    pk_u16(h, proto);
    if (flags & 0x8000)
        pk_u32(h, 0);
    if (flags & 0x2000)
        pk_u32(h, 0xabcd);
    if (flags & 0x1000)
        pk_u32(h, 7);
}

/* UDP header to dport with room for len bytes after it. */
static void pk_udp_hdr(struct pkt *h, unsigned dport, size_t len)
{
    pk_u16(h, 51000);
    pk_u16(h, dport);
    pk_u16(h, (unsigned)(8 + len));
    pk_u16(h, 0);
}

/* What the inner frame of every mirror test must decode to. */
static void assert_inner(const struct decoded *d, const struct pkt *f, uint32_t wire)
{
    assert_true(d->has_ip);
    assert_int_equal(d->src4, KP);
    assert_int_equal(d->dst4, EXT);
    assert_int_equal(d->sport, 443);
    assert_int_equal(d->payload_len, 11);
    assert_int_equal(d->vlan, 101);
    assert_memory_equal(d->dst_mac, PK_MAC_A, 6);
    assert_memory_equal(d->src_mac, PK_MAC_B, 6);
    assert_int_equal(decode_bytes(d, wire), f->n);
}

static void erspan_types(void **state)
{
    struct pkt f, h = {0}, p;
    struct decoded d;

    inner_frame(&f);
    pk_gre(&h, 0, 0x88be); /* type I: no sequence number, no ERSPAN header */
    outer_ip4(&p, 47, &h, &f);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_inner(&d, &f, (uint32_t)p.n);
    assert_int_equal(d.nencap, 1);
    assert_int_equal(d.encap[0], DECODE_ENC_ERSPAN_I);
    assert_false(d.has_erspan);

    h.n = 0; /* type II: sequence number, version 1, session 300 */
    pk_gre(&h, 0x1000, 0x88be);
    pk_u16(&h, 0x1000 | 101);
    pk_u16(&h, 0x0800 | 300);
    pk_u32(&h, 42);
    outer_ip4(&p, 47, &h, &f);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_inner(&d, &f, (uint32_t)p.n);
    assert_int_equal(d.encap[0], DECODE_ENC_ERSPAN_II);
    assert_true(d.has_erspan);
    assert_int_equal(d.erspan_id, 300);
    h.b[8] = 0x20; /* version 2 in a type II header */
    outer_ip4(&p, 47, &h, &f);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_BAD_HEADER);
    assert_int_equal(d.src4, MIRROR_SRC); /* what was read before it */
    assert_int_equal(d.nencap, 0);
}

/* ERSPAN type III header: version 2, session, timestamp, frame type ft, O bit. */
static void pk_erspan3(struct pkt *h, unsigned session, unsigned ft, int platform)
{
    pk_gre(h, 0x1000, 0x22eb);
    pk_u16(h, 0x2000 | 101);
    pk_u16(h, session);
    pk_u32(h, 0x12345678);
    pk_u16(h, 0);
    pk_u8(h, ft << 2);
    pk_u8(h, platform ? 1 : 0);
    if (platform)
        pk_u32(h, 0x04000000), pk_u32(h, 0);
}

static void erspan_type_iii(void **state)
{
    struct pkt f, h = {0}, p;
    struct decoded d;

    inner_frame(&f);
    for (int platform = 0; platform < 2; platform++) {
        h.n = 0;
        pk_erspan3(&h, 77, 0, platform);
        outer_ip4(&p, 47, &h, &f);
        assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
        assert_inner(&d, &f, (uint32_t)p.n);
        assert_int_equal(d.encap[0], DECODE_ENC_ERSPAN_III);
        assert_int_equal(d.erspan_id, 77);
    }
    h.n = 0; /* frame type 2: an IP packet, no Ethernet header */
    pk_erspan3(&h, 78, 2, 0);
    struct pkt ip = {0};
    pk_bytes(&ip, f.b + 18, f.n - 18);
    outer_ip4(&p, 47, &h, &ip);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.src4, KP);
    assert_false(d.has_dst_mac);
    assert_int_equal(d.vlan, DECODE_NO_VLAN);
    assert_int_equal(decode_bytes(&d, (uint32_t)p.n), ip.n);
    h.n = 0; /* frame type 7: not a frame the decoder reads */
    pk_erspan3(&h, 78, 7, 0);
    outer_ip4(&p, 47, &h, &f);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_UNSUPPORTED);
    assert_int_equal(d.nencap, 0);
}

static void gre_bridging_and_others(void **state)
{
    static const unsigned flags[] = {0, 0x2000, 0x1000, 0x3000, 0xb000};
    struct pkt f, h, p;
    struct decoded d;

    inner_frame(&f);
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        h.n = 0;
        pk_gre(&h, flags[i], 0x6558);
        outer_ip4(&p, 47, &h, &f);
        assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
        assert_inner(&d, &f, (uint32_t)p.n);
        assert_int_equal(d.encap[0], DECODE_ENC_GRE_TEB);
    }
    h.n = 0; /* routing present (RFC 1701): refused, not read past */
    pk_gre(&h, 0x4000, 0x6558);
    outer_ip4(&p, 47, &h, &f);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_BAD_HEADER);
    assert_int_equal(d.src4, MIRROR_SRC);
    h.n = 0; /* PPTP's GRE version 1, and a payload not opened: the packet as it is */
    pk_gre(&h, 0x2001, 0x880b);
    outer_ip4(&p, 47, &h, &f);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.nencap, 0);
    assert_int_equal(d.l4_proto, 47);
    assert_int_equal(decode_bytes(&d, (uint32_t)p.n), p.n);
    h.n = 0;
    pk_gre(&h, 0, 0x8909);
    outer_ip4(&p, 47, &h, &f);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.src4, MIRROR_SRC);
    outer_ip4(&p, 47, &(struct pkt){.n = 0}, &(struct pkt){.b = {0x10, 0}, .n = 2});
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_TRUNCATED); /* GRE header cut */
}

static void vxlan_and_geneve(void **state)
{
    static const unsigned ports[] = {4789, 8472};
    struct pkt f, h, p;
    struct decoded d;

    inner_frame(&f);
    for (int i = 0; i < 2; i++) {
        h.n = 0;
        pk_udp_hdr(&h, ports[i], 8 + f.n);
        pk_u32(&h, 0x08000000);
        pk_u32(&h, 5001u << 8);
        outer_ip4(&p, 17, &h, &f);
        assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
        assert_inner(&d, &f, (uint32_t)p.n);
        assert_int_equal(d.encap[0], DECODE_ENC_VXLAN);
        assert_true(d.has_vni);
        assert_int_equal(d.vni, 5001);
    }
    h.b[8] = 0; /* no I flag */
    outer_ip4(&p, 17, &h, &f);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_BAD_HEADER);
    assert_int_equal(d.src4, MIRROR_SRC);
    assert_false(d.has_vni);

    h.n = 0; /* GENEVE with 8 bytes of options */
    pk_udp_hdr(&h, 6081, 16 + f.n);
    pk_u16(&h, 0x0200);
    pk_u16(&h, 0x6558);
    pk_u32(&h, 0xabcdefu << 8);
    pk_u32(&h, 0x01020304);
    pk_u32(&h, 0x05060708);
    outer_ip4(&p, 17, &h, &f);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_inner(&d, &f, (uint32_t)p.n);
    assert_int_equal(d.encap[0], DECODE_ENC_GENEVE);
    assert_int_equal(d.vni, 0xabcdef);
    h.b[8] = 0x42; /* version 1 */
    outer_ip4(&p, 17, &h, &f);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_BAD_HEADER);
    h.b[8] = 0x3f; /* 252 bytes of options: more than there is */
    outer_ip4(&p, 17, &h, &f);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_TRUNCATED);
    h.b[8] = 0x02;
    h.b[11] = 0x00; /* protocol 0x6500 */
    outer_ip4(&p, 17, &h, &f);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_UNSUPPORTED);
}

/* The IP packet of an IP tunnel: IPv4 from the country, UDP with 5 payload bytes. */
static void inner_ip4(struct pkt *ip)
{
    ip->n = 0;
    pk_ip4(ip, KP, EXT, 17, 8 + 5, 0, 0);
    pk_udp(ip, 53, 33000, 5);
}

static void ip_tunnels(void **state)
{
    struct pkt ip, ip6 = {0}, h = {0}, p;
    struct decoded d;

    inner_ip4(&ip);
    pk_ip6(&ip6, V6A, V6B, 17, 8);
    pk_udp(&ip6, 53, 33000, 0);
    outer_ip4(&p, 4, &h, &ip); /* IPv4 in IPv4 */
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.src4, KP);
    assert_int_equal(d.dport, 33000);
    assert_int_equal(d.encap[0], DECODE_ENC_IPIP);
    assert_int_equal(decode_bytes(&d, (uint32_t)p.n), 14 + ip.n); /* less the outer header */
    assert_memory_equal(d.src_mac, OUTER_MAC, 6);                 /* the link is the frame's */
    assert_int_equal(decode_packet(DECODE_LINK_ETH, 0, p.b, p.n, &d), DECODE_OK);
    assert_int_equal(d.src4, MIRROR_SRC); /* tunnels off: the outer packet */
    assert_int_equal(d.nencap, 0);
    assert_int_equal(decode_bytes(&d, (uint32_t)p.n), p.n);

    outer_ip4(&p, 41, &h, &ip6); /* 6in4 */
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.ip_version, 6);
    assert_memory_equal(d.src, V6A, 16);
    assert_int_equal(d.encap[0], DECODE_ENC_6IN4);

    pk_gre(&h, 0x2000, 0x86dd); /* IPv6 in GRE with a key */
    outer_ip4(&p, 47, &h, &ip6);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_memory_equal(d.dst, V6B, 16);
    assert_int_equal(d.encap[0], DECODE_ENC_GRE_IP);
    assert_int_equal(decode_bytes(&d, (uint32_t)p.n), 14 + ip6.n);
    assert_int_equal(decode_packet(DECODE_LINK_ETH, 0, p.b, p.n, &d), DECODE_OK);
    assert_int_equal(d.l4_proto, 47);

    outer_ip4(&p, 4, &(struct pkt){.n = 0}, &ip); /* the inner header cut: the outer packet */
    assert_int_equal(decode_packet(DECODE_LINK_ETH, DECODE_TUNNELS, p.b, 14 + 20 + 12, &d),
                     DECODE_TRUNCATED);
    assert_int_equal(d.src4, MIRROR_SRC);
    assert_int_equal(d.nencap, 0);
    assert_int_equal(decode_bytes(&d, (uint32_t)p.n), p.n);
}

static void gtp_user_plane(void **state)
{
    struct pkt ip, h = {0}, p;
    struct decoded d;

    inner_ip4(&ip);
    pk_udp_hdr(&h, 2152, 8 + ip.n);
    pk_u8(&h, 0x30); /* version 1, PT 1 */
    pk_u8(&h, 0xff); /* G-PDU */
    pk_u16(&h, (unsigned)ip.n);
    pk_u32(&h, 0x1000);
    outer_ip4(&p, 17, &h, &ip);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.src4, KP);
    assert_int_equal(d.encap[0], DECODE_ENC_GTPU);
    assert_int_equal(decode_bytes(&d, (uint32_t)p.n), 14 + ip.n);

    h.n = 0; /* sequence number and one extension header (PDU session container) */
    pk_udp_hdr(&h, 2152, 16 + 4 + ip.n);
    pk_u8(&h, 0x36);
    pk_u8(&h, 0xff);
    pk_u16(&h, (unsigned)(8 + 4 + ip.n));
    pk_u32(&h, 0x1000);
    pk_u16(&h, 9);
    pk_u8(&h, 0);
    pk_u8(&h, 0x85);
    pk_u32(&h, 0x01000900); /* 1 word, next type 0 */
    outer_ip4(&p, 17, &h, &ip);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.src4, KP);
    assert_int_equal(decode_bytes(&d, (uint32_t)p.n), 14 + ip.n);
    h.b[20] = 0; /* an extension header of length 0 */
    outer_ip4(&p, 17, &h, &ip);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_BAD_HEADER);
    assert_int_equal(d.src4, MIRROR_SRC);
    h.b[9] = 1; /* echo request: signalling, the packet as it is */
    outer_ip4(&p, 17, &h, &ip);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.src4, MIRROR_SRC);
    h.b[8] = 0x20; /* GTP' (PT 0) */
    outer_ip4(&p, 17, &h, &ip);
    assert_int_equal(dec(&p, DECODE_LINK_ETH, &d), DECODE_BAD_HEADER);
    assert_int_equal(decode_packet(DECODE_LINK_ETH, 0, p.b, p.n, &d), DECODE_OK);
}

/* VXLAN header around `in` (VNI vni) into out, as a whole outer frame. */
static void wrap_vxlan(struct pkt *out, const struct pkt *in, uint32_t vni)
{
    struct pkt h = {0};

    pk_udp_hdr(&h, 4789, 8 + in->n);
    pk_u32(&h, 0x08000000);
    pk_u32(&h, vni << 8);
    outer_ip4(out, 17, &h, in);
}

static void nesting_is_bounded(void **state)
{
    struct pkt a, b;
    struct decoded d;

    inner_frame(&a);
    for (unsigned i = 0; i < DECODE_MAX_ENCAP; i++) {
        wrap_vxlan(&b, &a, 10 + i);
        a = b;
    }
    assert_int_equal(dec(&a, DECODE_LINK_ETH, &d), DECODE_OK);
    assert_int_equal(d.nencap, DECODE_MAX_ENCAP);
    assert_int_equal(d.vni, 10 + DECODE_MAX_ENCAP - 1); /* the outermost */
    assert_int_equal(d.src4, KP);
    wrap_vxlan(&b, &a, 99);
    assert_int_equal(dec(&b, DECODE_LINK_ETH, &d), DECODE_UNSUPPORTED);
    assert_int_equal(d.nencap, DECODE_MAX_ENCAP);
    assert_int_equal(d.src4, MIRROR_SRC);
}

/* A frame cut anywhere in a nested packet (ERSPAN II, VXLAN, GRE-IP, inner UDP): nothing
 * read past the end (ASan), truncated until the last header is whole (the 5 payload bytes
 * are not a header). */
static void every_prefix_of_nested_is_safe(void **state)
{
    struct pkt ip, h = {0}, l2, vx, p;
    struct decoded d;

    inner_ip4(&ip);
    pk_gre(&h, 0x3000, 0x0800);
    outer_ip4(&l2, 47, &h, &ip);
    wrap_vxlan(&vx, &l2, 7);
    h.n = 0;
    pk_gre(&h, 0x1000, 0x88be);
    pk_u16(&h, 0x1000);
    pk_u16(&h, 5);
    pk_u32(&h, 0);
    outer_ip4(&p, 47, &h, &vx);
    for (size_t n = 0; n <= p.n; n++) {
        unsigned char *copy = test_malloc(n ? n : 1);
        memcpy(copy, p.b, n);
        enum decode_status s = decode_packet(DECODE_LINK_ETH, DECODE_TUNNELS, copy, n, &d);
        assert_true(s == (n >= p.n - 5 ? DECODE_OK : DECODE_TRUNCATED));
        assert_true(decode_bytes(&d, (uint32_t)p.n) <= p.n);
        test_free(copy);
    }
    assert_int_equal(d.nencap, 3);
    assert_int_equal(d.encap[0], DECODE_ENC_ERSPAN_II);
    assert_int_equal(d.encap[1], DECODE_ENC_VXLAN);
    assert_int_equal(d.encap[2], DECODE_ENC_GRE_IP);
    assert_int_equal(d.erspan_id, 5);
    assert_int_equal(d.vni, 7);
    assert_int_equal(decode_bytes(&d, (uint32_t)p.n), 14 + ip.n);
}

/* Bytes of a mirrored frame cut by the snap length: its length as the transport declares
 * it; a declared length past the wire length is capped. */
static void mirrored_bytes_beyond_capture(void **state)
{
    struct pkt f, h = {0}, p;
    struct decoded d;

    inner_frame(&f);
    pk_gre(&h, 0, 0x6558);
    outer_ip4(&p, 47, &h, &f);
    size_t hdr = p.n - f.n;
    assert_int_equal(decode_packet(DECODE_LINK_ETH, 0, p.b, hdr + 40, &d), DECODE_TRUNCATED);
    assert_int_equal(decode_bytes(&d, (uint32_t)p.n), f.n);
    assert_int_equal(decode_bytes(&d, (uint32_t)(hdr + 20)), 20);
    assert_int_equal(decode_bytes(&d, 3), 0);
}

static void encap_names(void **state)
{
    assert_string_equal(decode_encap_name(DECODE_ENC_ERSPAN_I), "erspan_i");
    assert_string_equal(decode_encap_name(DECODE_ENC_GTPU), "gtp_u");
    assert_string_equal(decode_encap_name(DECODE_NENCAP), "invalid");
    for (int i = 0; i < DECODE_NENCAP; i++)
        assert_non_null(decode_encap_name((enum decode_encap)i));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eth_ipv4_tcp),
        cmocka_unit_test(vlan_and_qinq_keep_outer_id),
        cmocka_unit_test(too_many_vlan_tags_unsupported),
        cmocka_unit_test(mpls_stack_then_ipv4),
        cmocka_unit_test(mpls_pseudowire_ethernet),
        cmocka_unit_test(mpls_too_deep_unsupported),
        cmocka_unit_test(ipv4_options_and_padding),
        cmocka_unit_test(ipv4_fragments),
        cmocka_unit_test(ipv4_bad_headers),
        cmocka_unit_test(tcp_bad_offset_keeps_addresses),
        cmocka_unit_test(truncations),
        cmocka_unit_test(every_prefix_is_safe),
        cmocka_unit_test(common_frames_decode_as_the_general_decoder),
        cmocka_unit_test(ipv6_extension_chain),
        cmocka_unit_test(ipv6_chain_limits),
        cmocka_unit_test(ipv6_fragments),
        cmocka_unit_test(ipv6_no_next_and_esp),
        cmocka_unit_test(not_ip_frames),
        cmocka_unit_test(pppoe_session),
        cmocka_unit_test(cooked_links),
        cmocka_unit_test(raw_and_loopback_links),
        cmocka_unit_test(icmp_and_zero_total_length),
        cmocka_unit_test(status_names),
        cmocka_unit_test(erspan_types),
        cmocka_unit_test(erspan_type_iii),
        cmocka_unit_test(gre_bridging_and_others),
        cmocka_unit_test(vxlan_and_geneve),
        cmocka_unit_test(ip_tunnels),
        cmocka_unit_test(gtp_user_plane),
        cmocka_unit_test(nesting_is_bounded),
        cmocka_unit_test(every_prefix_of_nested_is_safe),
        cmocka_unit_test(mirrored_bytes_beyond_capture),
        cmocka_unit_test(encap_names),
    };
    return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
