/* Unit tests for route rules, first-match order, direction and control routing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pkt.h"
#include "route.h"

#include <stdio.h>

static char errbuf[256];
static struct prefix_set *kp;

static int setup(void **state)
{
    kp = prefix_new();
    prefix_load_builtin(kp, "KP", errbuf, sizeof errbuf);
    prefix_finish(kp, "KP", errbuf, sizeof errbuf);
    return 0;
}

static int teardown(void **state)
{
    prefix_free(kp);
    return 0;
}

static void table(struct route_table *t, const char *const *specs)
{
    route_init(t);
    for (; *specs; specs++)
        assert_int_equal(route_add(t, *specs, errbuf, sizeof errbuf), 0);
    assert_int_equal(route_finish(t, errbuf, sizeof errbuf), 0);
}

static struct decoded pkt4(uint32_t src, uint32_t dst, uint16_t vlan, const uint8_t *src_mac)
{
    struct decoded d;
    memset(&d, 0, sizeof d);
    d.has_ip = 1;
    d.ip_version = 4;
    d.src4 = src;
    d.dst4 = dst;
    d.src[10] = d.src[11] = d.dst[10] = d.dst[11] = 0xff;
    for (int i = 0; i < 4; i++) {
        d.src[12 + i] = (uint8_t)(src >> (24 - 8 * i));
        d.dst[12 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    d.vlan = vlan;
    if (src_mac) {
        memcpy(d.src_mac, src_mac, 6);
        d.has_src_mac = 1;
        memset(d.dst_mac, 0xee, 6);
        d.has_dst_mac = 1;
    }
    return d;
}

static const uint32_t KP_A = IP4(175, 45, 176, 9), KP_B = IP4(77, 94, 35, 2);
static const uint32_t EXT = IP4(203, 0, 113, 5);

static void no_rules_means_all(void **state)
{
    struct route_table t;
    struct route_verdict v;
    const char *const none[] = {NULL};
    table(&t, none);
    assert_int_equal(t.nroutes, 1);
    assert_string_equal(t.names[0], "all");
    struct decoded d = pkt4(EXT, KP_A, DECODE_NO_VLAN, NULL);
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.nhits, 1);
    assert_int_equal(v.hit[0].country, 1);
    assert_int_equal(v.hit[0].dir, DIR_IN);
    assert_int_equal(v.hit[0].route, 0);
    assert_ptr_equal(v.hit[0].chost, d.dst);
}

static void direction(void **state)
{
    struct route_table t;
    struct route_verdict v;
    const char *const none[] = {NULL};
    table(&t, none);
    struct decoded d = pkt4(KP_A, EXT, DECODE_NO_VLAN, NULL);
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.nhits, 1);
    assert_int_equal(v.hit[0].dir, DIR_OUT);
    assert_ptr_equal(v.hit[0].chost, d.src);
    d = pkt4(KP_A, KP_B, DECODE_NO_VLAN, NULL); /* both ends inside the same country: out */
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.nhits, 1);
    assert_int_equal(v.hit[0].dir, DIR_OUT);
    d = pkt4(EXT, IP4(8, 8, 8, 8), DECODE_NO_VLAN, NULL);
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.nhits, 0);
}

static void vlan_mac_prefix_first_match(void **state)
{
    static const uint8_t ru_mac[6] = {0x02, 0, 0, 0, 1, 1};
    struct route_table t;
    struct route_verdict v;
    const char *const specs[] = {"cn=vlan:100", "ru=mac:02:00:00:00:01:01,vlan:101",
                                 "kcna=prefix:175.45.176.0/24", NULL};
    table(&t, specs);
    assert_int_equal(t.nroutes, 4);
    assert_string_equal(t.names[3], "other");

    struct decoded d = pkt4(EXT, KP_A, 100, ru_mac); /* vlan rule comes first */
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.hit[0].route, 0);
    d = pkt4(EXT, KP_A, DECODE_NO_VLAN, ru_mac);
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.hit[0].route, 1);
    d = pkt4(EXT, KP_A, 101, NULL);
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.hit[0].route, 1);
    d = pkt4(KP_A, EXT, 7, NULL); /* country side 175.45.176.9 */
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.hit[0].route, 2);
    d = pkt4(KP_B, EXT, 7, NULL);
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.hit[0].route, 3);
}

static void control_packets_by_link_marks(void **state)
{
    struct route_table t;
    struct route_verdict v;
    const char *const specs[] = {"kcna=prefix:0.0.0.0/0", "cn=vlan:100", NULL};
    table(&t, specs);
    struct decoded d = pkt4(EXT, IP4(8, 8, 8, 8), 100, NULL);
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.nhits, 0);
    assert_int_equal(v.route, 1); /* a prefix rule cannot tell without a country side */

    struct decoded arp;
    memset(&arp, 0, sizeof arp);
    arp.vlan = 100;
    route_match(&t, kp, &arp, -1, &v);
    assert_int_equal(v.route, 1);
    arp.vlan = 5;
    route_match(&t, kp, &arp, -1, &v);
    assert_int_equal(v.route, 2);
}

static void repeated_names_and_ifaces(void **state)
{
    struct route_table t;
    struct route_verdict v;
    const char *const specs[] = {"cn=iface:eth1", "ru=iface:eth2", "cn=vlan:9", NULL};
    table(&t, specs);
    assert_int_equal(t.nroutes, 3);
    const char *const names[] = {"eth2", "eth1"};
    assert_int_equal(route_bind_ifaces(&t, names, 2, errbuf, sizeof errbuf), 0);
    struct decoded d = pkt4(EXT, KP_A, DECODE_NO_VLAN, NULL);
    route_match(&t, kp, &d, 1, &v);
    assert_int_equal(v.route, 0);
    route_match(&t, kp, &d, 0, &v);
    assert_int_equal(v.route, 1);
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.hit[0].route, 2);
    d.vlan = 9;
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.hit[0].route, 0);
    assert_int_equal(route_of_iface(&t, 1), 0); /* drops on eth1: cn */
    assert_int_equal(route_of_iface(&t, 0), 1);
    assert_int_equal(route_of_iface(&t, 2), t.fallback);
    assert_int_equal(route_of_iface(&t, -1), t.fallback);
    const char *const only[] = {"eth1"};
    assert_int_equal(route_bind_ifaces(&t, only, 1, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "interface 'eth2' is not captured"));
}

static void bad_rules(void **state)
{
    struct route_table t;
    static const struct {
        const char *spec, *msg;
    } bad[] = {
        {"cn", "want NAME=MATCH"},
        {"=vlan:1", "want NAME=MATCH"},
        {"c n=vlan:1", "want NAME=MATCH"},
        {"cn=vlna:10", "unknown match 'vlna'"},
        {"cn=vlan:4096", "bad VLAN id '4096'"},
        {"cn=vlan:", "bad VLAN id ''"},
        {"cn=mac:02:00:00:00:01", "bad MAC address"},
        {"cn=mac:zz:00:00:00:01:00", "bad MAC address"},
        {"cn=prefix:1.2.3.4/40", "bad prefix"},
        {"cn=iface:", "bad interface name"},
        {"cn=vlan:1,", "unknown match ''"},
        {"other=vlan:1", "reserved"},
        {"cn=erspan:1024", "bad ERSPAN session id '1024'"},
        {"cn=erspan:x", "bad ERSPAN session id"},
        {"cn=vni:16777216", "bad VNI '16777216'"},
        {"cn=vni:", "bad VNI ''"},
        {"cn=vxlan:5", "use vlan:, mac:, iface:, prefix:, erspan: or vni:"},
        {"all=vlan:1", "reserved"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        route_init(&t);
        assert_int_equal(route_add(&t, bad[i].spec, errbuf, sizeof errbuf), -1);
        if (!strstr(errbuf, bad[i].msg))
            fail_msg("%s: got '%s', want '%s'", bad[i].spec, errbuf, bad[i].msg);
    }
}

/* Mirror sessions: erspan:ID and vni:ID, alone or joined with other forms; a frame's VLAN
 * rule still decides first; control packets are routed by their session too. */
static void mirror_sessions(void **state)
{
    struct route_table t;
    struct route_verdict v;
    const char *const specs[] = {"cn=erspan:100,vlan:100", "ru=vni:5001", "tap=erspan:0", NULL};
    table(&t, specs);

    struct decoded d = pkt4(EXT, KP_A, DECODE_NO_VLAN, NULL);
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.route, t.fallback); /* no session at all */
    d.has_erspan = 1;
    d.erspan_id = 100;
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.route, 0);
    d.erspan_id = 0;
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.route, 2);
    d.vlan = 100; /* the inner frame's VLAN, an earlier rule */
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.route, 0);
    d = pkt4(EXT, KP_A, DECODE_NO_VLAN, NULL);
    d.vni = 5001; /* not valid without has_vni */
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.route, t.fallback);
    d.has_vni = 1;
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.route, 1);
    d = pkt4(EXT, IP4(8, 8, 8, 8), DECODE_NO_VLAN, NULL); /* control traffic */
    d.has_vni = 1;
    d.vni = 5001;
    route_match(&t, kp, &d, -1, &v);
    assert_int_equal(v.nhits, 0);
    assert_int_equal(v.route, 1);
}

/* A packet between two watched countries counts for both: out for the one it leaves, in for
 * the one it enters, each hit routed by its own country-side address. */
static void between_two_countries(void **state)
{
    struct prefix_set *two = prefix_new();
    struct cidr c;
    struct route_table t;
    struct route_verdict v;
    const char *const specs[] = {"kcna=prefix:175.45.176.0/24", NULL};

    assert_int_equal(prefix_load_builtin(two, "KP", errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_parse_cidr("5.22.0.0/16", &c, errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_add_cidr(two, &c, "IR", errbuf, sizeof errbuf), 1);
    assert_int_equal(prefix_finish(two, "KP,IR", errbuf, sizeof errbuf), 0);
    table(&t, specs);
    unsigned kp_i = prefix_country_find(two, "KP"), ir_i = prefix_country_find(two, "IR");
    assert_true(kp_i && ir_i && kp_i != ir_i);
    struct decoded d = pkt4(KP_A, IP4(5, 22, 1, 1), DECODE_NO_VLAN, NULL);
    route_match(&t, two, &d, -1, &v);
    assert_int_equal(v.nhits, 2);
    assert_int_equal(v.hit[0].country, kp_i);
    assert_int_equal(v.hit[0].dir, DIR_OUT);
    assert_ptr_equal(v.hit[0].chost, d.src);
    assert_int_equal(v.hit[0].route, 0); /* 175.45.176.9: kcna */
    assert_int_equal(v.hit[1].country, ir_i);
    assert_int_equal(v.hit[1].dir, DIR_IN);
    assert_ptr_equal(v.hit[1].chost, d.dst);
    assert_int_equal(v.hit[1].route, t.fallback); /* the Iranian side is not in kcna */
    d = pkt4(KP_A, KP_B, DECODE_NO_VLAN, NULL);   /* inside one country: one hit, out */
    route_match(&t, two, &d, -1, &v);
    assert_int_equal(v.nhits, 1);
    assert_int_equal(v.hit[0].dir, DIR_OUT);
    prefix_free(two);
}

static void too_many_routes(void **state)
{
    struct route_table t;
    char spec[64];
    route_init(&t);
    for (int i = 0; i < ROUTE_MAX - 1; i++) {
        snprintf(spec, sizeof spec, "r%d=vlan:%d", i, i);
        assert_int_equal(route_add(&t, spec, errbuf, sizeof errbuf), 0);
    }
    assert_int_equal(route_add(&t, "one-more=vlan:999", errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "too many routes"));
    assert_int_equal(route_finish(&t, errbuf, sizeof errbuf), 0);
    assert_int_equal(t.nroutes, ROUTE_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_rules_means_all),
        cmocka_unit_test(direction),
        cmocka_unit_test(vlan_mac_prefix_first_match),
        cmocka_unit_test(control_packets_by_link_marks),
        cmocka_unit_test(repeated_names_and_ifaces),
        cmocka_unit_test(bad_rules),
        cmocka_unit_test(mirror_sessions),
        cmocka_unit_test(between_two_countries),
        cmocka_unit_test(too_many_routes),
    };
    return cmocka_run_group_tests_name("route", tests, setup, teardown);
}
