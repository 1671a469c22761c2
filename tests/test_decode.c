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
    return decode_packet(link, p->b, p->n, d);
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
    assert_int_equal(decode_packet(DECODE_LINK_ETH, p.b, 10, &d), DECODE_TRUNCATED);
    assert_false(d.has_ip);
    assert_int_equal(decode_packet(DECODE_LINK_ETH, p.b, 14 + 15, &d), DECODE_TRUNCATED);
    assert_false(d.has_ip);
    /* transport header cut: addresses are still known */
    assert_int_equal(decode_packet(DECODE_LINK_ETH, p.b, 14 + 20 + 10, &d), DECODE_TRUNCATED);
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
        enum decode_status s = decode_packet(DECODE_LINK_ETH, copy, n, &d);
        assert_true(s == (n == p.n ? DECODE_OK : DECODE_TRUNCATED));
        test_free(copy);
    }
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
    };
    return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
