/* Unit tests for the country map: parsing, lookup edges, most specific wins, selection,
 * country lists, random prefixes against a brute-force reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pkt.h"
#include "prefix.h"
#include "country.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char errbuf[512];

/* Lines "CIDR CC" added in order, then finished with the selection. */
static struct prefix_set *from_text(const char *const *lines, const char *select)
{
    struct prefix_set *p = prefix_new();
    struct cidr c;
    char buf[80];
    assert_non_null(p);
    for (; *lines; lines++) {
        snprintf(buf, sizeof buf, "%s", *lines);
        char *cc = strchr(buf, ' ');
        if (cc)
            *cc++ = '\0';
        assert_int_equal(prefix_parse_cidr(buf, &c, errbuf, sizeof errbuf), 0);
        assert_int_equal(prefix_add_cidr(p, &c, cc ? cc : "KP", errbuf, sizeof errbuf), 1);
    }
    assert_int_equal(prefix_finish(p, select, errbuf, sizeof errbuf), 0);
    return p;
}

static void parse_cidrs(void **state)
{
    struct cidr c;

    assert_int_equal(prefix_parse_cidr("175.45.176.0/22", &c, errbuf, sizeof errbuf), 0);
    assert_int_equal(c.version, 4);
    assert_int_equal(c.first4, IP4(175, 45, 176, 0));
    assert_int_equal(c.last4, IP4(175, 45, 179, 255));
    assert_int_equal(prefix_parse_cidr("10.1.2.3", &c, errbuf, sizeof errbuf), 0);
    assert_int_equal(c.len, 32);
    assert_int_equal(prefix_parse_cidr("0.0.0.0/0", &c, errbuf, sizeof errbuf), 0);
    assert_int_equal(c.last4, 0xffffffffu);
    assert_int_equal(prefix_parse_cidr("2001:db8::/32", &c, errbuf, sizeof errbuf), 0);
    assert_int_equal(c.version, 6);
    assert_int_equal(c.last6[3], 0xb8);
    assert_int_equal(c.last6[4], 0xff);

    assert_int_equal(prefix_parse_cidr("175.45.176.5/22", &c, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "host bits"));
    assert_int_equal(prefix_parse_cidr("1.2.3.0/33", &c, errbuf, sizeof errbuf), -1);
    assert_int_equal(prefix_parse_cidr("1.2.3/24", &c, errbuf, sizeof errbuf), -1);
    assert_int_equal(prefix_parse_cidr("1.2.3.0/-1", &c, errbuf, sizeof errbuf), -1);
    assert_int_equal(prefix_parse_cidr("1.2.3.0/", &c, errbuf, sizeof errbuf), -1);
    assert_int_equal(prefix_parse_cidr("::/129", &c, errbuf, sizeof errbuf), -1);
    assert_int_equal(prefix_parse_cidr("kp", &c, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "bad prefix 'kp'"));
}

static void builtin_kp_edges(void **state)
{
    struct prefix_set *p = prefix_new();
    assert_int_equal(prefix_load_builtin(p, "kp", errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_load_builtin(p, "XX", errbuf, sizeof errbuf), -1);
    assert_int_equal(prefix_finish(p, "KP", errbuf, sizeof errbuf), 0);
    assert_false(prefix_has_v4(p, IP4(175, 45, 175, 255)));
    assert_true(prefix_has_v4(p, IP4(175, 45, 176, 0)));
    assert_true(prefix_has_v4(p, IP4(175, 45, 179, 255)));
    assert_false(prefix_has_v4(p, IP4(175, 45, 180, 0)));
    assert_true(prefix_has_v4(p, IP4(210, 52, 109, 77)));
    assert_false(prefix_has_v4(p, IP4(210, 52, 110, 1)));
    assert_true(prefix_has_v4(p, IP4(77, 94, 35, 1)));
    assert_false(prefix_has_v4(p, IP4(8, 8, 8, 8)));
    assert_int_equal(prefix_v4_addresses(p), 1024 + 256 + 256);
    assert_int_equal(prefix_ncountries(p), 1);
    assert_string_equal(prefix_country_code(p, 1), "KP");
    assert_string_equal(prefix_country_code(p, 0), "");
    assert_string_equal(prefix_country_code(p, 2), "");
    assert_int_equal(prefix_country_find(p, "kp"), 1);
    assert_int_equal(prefix_country_find(p, "CN"), 0);
    assert_non_null(strstr(errbuf, "no built-in address set"));
    prefix_free(p);
}

static void partial_slash24s(void **state)
{
    const char *const lines[] = {"192.0.2.64/26", "192.0.2.200/32", "198.51.100.0/25", NULL};
    struct prefix_set *p = from_text(lines, NULL);
    assert_false(prefix_has_v4(p, IP4(192, 0, 2, 63)));
    assert_true(prefix_has_v4(p, IP4(192, 0, 2, 64)));
    assert_true(prefix_has_v4(p, IP4(192, 0, 2, 127)));
    assert_false(prefix_has_v4(p, IP4(192, 0, 2, 128)));
    assert_true(prefix_has_v4(p, IP4(192, 0, 2, 200)));
    assert_false(prefix_has_v4(p, IP4(192, 0, 2, 201)));
    assert_true(prefix_has_v4(p, IP4(198, 51, 100, 127)));
    assert_false(prefix_has_v4(p, IP4(198, 51, 100, 128)));
    assert_int_equal(prefix_v4_addresses(p), 64 + 1 + 128);
    prefix_free(p);
}

static void ranges_with_ragged_ends(void **state)
{
    struct prefix_set *p = prefix_new();
    /* 10.0.0.200 .. 10.0.3.10: a part, two full /24s, a part */
    assert_int_equal(
        prefix_add_v4_range(p, IP4(10, 0, 0, 200), IP4(10, 0, 3, 10), "KP", errbuf, sizeof errbuf),
        1);
    assert_int_equal(prefix_add_v4_range(p, 5, 4, "KP", errbuf, sizeof errbuf), -1);
    /* .200/29 .208/28 .224/27, 1.0/24, 2.0/24, 3.0/29 3.8/31 3.10/32 */
    assert_int_equal(prefix_stats(p).entries, 8);
    assert_int_equal(prefix_finish(p, NULL, errbuf, sizeof errbuf), 0);
    assert_false(prefix_has_v4(p, IP4(10, 0, 0, 199)));
    assert_true(prefix_has_v4(p, IP4(10, 0, 0, 200)));
    assert_true(prefix_has_v4(p, IP4(10, 0, 1, 0)));
    assert_true(prefix_has_v4(p, IP4(10, 0, 2, 255)));
    assert_true(prefix_has_v4(p, IP4(10, 0, 3, 10)));
    assert_false(prefix_has_v4(p, IP4(10, 0, 3, 11)));
    assert_int_equal(prefix_v4_addresses(p), 56 + 512 + 11);
    prefix_free(p);
}

static void everything(void **state)
{
    const char *const lines[] = {"0.0.0.0/0", "::/0", NULL};
    struct prefix_set *p = from_text(lines, NULL);
    assert_true(prefix_has_v4(p, 0));
    assert_true(prefix_has_v4(p, 0xffffffffu));
    assert_true(prefix_has_v4(p, IP4(8, 8, 8, 8)));
    assert_true(has6(p, "::"));
    assert_true(has6(p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_int_equal(prefix_v4_addresses(p), 1ull << 32);
    prefix_free(p);
}

/* Addresses in /16s without a watched /24 are answered by the /16 bits: next to a watched
 * /24, a split /24, a /14 over four /16s, and a /16 of a country not selected. */
static void far_from_watched_blocks(void **state)
{
    static const char *const lines[] = {"10.1.2.0/24 KP", "10.1.3.16/28 IR", "20.0.0.0/14 IR",
                                        "30.1.0.0/16 CN", NULL};
    struct prefix_set *p = from_text(lines, "KP,IR");

    assert_int_equal(prefix_country_v4(p, IP4(10, 1, 2, 77)), 1);
    assert_int_equal(prefix_country_v4(p, IP4(10, 1, 4, 1)), 0); /* same /16 */
    assert_int_equal(prefix_country_v4(p, IP4(10, 0, 2, 77)), 0);
    assert_int_equal(prefix_country_v4(p, IP4(10, 1, 3, 17)), 2); /* split /24 */
    assert_int_equal(prefix_country_v4(p, IP4(10, 1, 3, 15)), 0);
    for (unsigned b = 0; b < 4; b++)
        assert_int_equal(prefix_country_v4(p, IP4(20, b, 200, 1)), 2);
    assert_int_equal(prefix_country_v4(p, IP4(20, 4, 0, 0)), 0);
    assert_int_equal(prefix_country_v4(p, IP4(19, 255, 255, 255)), 0);
    assert_int_equal(prefix_country_v4(p, IP4(30, 1, 0, 1)), 0); /* CN, not selected */
    prefix_free(p);
}

static void ipv6_ranges_merge(void **state)
{
    const char *const lines[] = {"2001:db8:1::/48", "2001:db8:1:8000::/49", "2001:db8:2::/48",
                                 "2001:db8:10::1", NULL};
    struct prefix_set *p = from_text(lines, NULL);
    /* the /49 lies inside the first /48, the two /48s touch, the /128 stands alone */
    assert_int_equal(prefix_v6_ranges(p), 2);
    prefix_free(p);
    const char *const more[] = {"2001:db8:1::/48", "2001:db8:2::/48", "2001:db8:10::1", NULL};
    p = from_text(more, NULL);
    assert_true(has6(p, "2001:db8:1::"));
    assert_true(has6(p, "2001:db8:2:ffff:ffff:ffff:ffff:ffff"));
    assert_false(has6(p, "2001:db8:3::"));
    assert_false(has6(p, "2001:db8:0:ffff::"));
    assert_true(has6(p, "2001:db8:10::1"));
    assert_false(has6(p, "2001:db8:10::2"));
    assert_false(has6(p, "::1"));
    prefix_free(p);
}

/* The more specific prefix wins whatever the order sources come in; equal prefixes: the
 * later. */
static void most_specific_wins(void **state)
{
    const char *const lines[] = {"10.1.2.128/25 FR", "10.0.0.0/8 CN",      "10.1.0.0/16 DE",
                                 "10.1.2.0/24 KP",   "2001:db8:1::/48 FR", "2001:db8::/32 CN",
                                 "10.3.0.0/16 DE",   "10.3.0.0/16 IT",     NULL};
    struct prefix_set *p = from_text(lines, NULL);
    assert_string_equal(v4cc(p, IP4(9, 255, 255, 255)), "");
    assert_string_equal(v4cc(p, IP4(10, 0, 0, 0)), "CN");
    assert_string_equal(v4cc(p, IP4(10, 1, 1, 255)), "DE");
    assert_string_equal(v4cc(p, IP4(10, 1, 2, 0)), "KP");
    assert_string_equal(v4cc(p, IP4(10, 1, 2, 127)), "KP");
    assert_string_equal(v4cc(p, IP4(10, 1, 2, 128)), "FR");
    assert_string_equal(v4cc(p, IP4(10, 1, 2, 255)), "FR");
    assert_string_equal(v4cc(p, IP4(10, 1, 3, 0)), "DE");
    assert_string_equal(v4cc(p, IP4(10, 2, 0, 0)), "CN");
    assert_string_equal(v4cc(p, IP4(10, 3, 7, 7)), "IT"); /* equal: the later */
    assert_string_equal(v4cc(p, IP4(10, 255, 255, 255)), "CN");
    assert_string_equal(v4cc(p, IP4(11, 0, 0, 0)), "");
    assert_string_equal(v6cc(p, "2001:db8::"), "CN");
    assert_string_equal(v6cc(p, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"), "FR");
    assert_string_equal(v6cc(p, "2001:db8:2::"), "CN");
    assert_string_equal(v6cc(p, "2001:db9::"), "");
    assert_int_equal(prefix_stats(p).conflicts, 1);
    prefix_free(p);
}

/* Only the selected countries are watched, numbered in the order given; a more specific
 * prefix of an unwatched country still cuts its hole. */
static void selection(void **state)
{
    const char *const lines[] = {"10.0.0.0/8 CN",      "10.1.2.0/24 KP",  "2001:db8::/32 CN",
                                 "2001:db8:1::/48 KP", "192.0.2.0/24 IR", NULL};
    struct prefix_set *p = from_text(lines, "IR,cn");
    assert_int_equal(prefix_ncountries(p), 2);
    assert_string_equal(prefix_country_code(p, 1), "IR");
    assert_string_equal(prefix_country_code(p, 2), "CN");
    assert_int_equal(prefix_country_v4(p, IP4(10, 1, 1, 1)), 2);
    assert_int_equal(prefix_country_v4(p, IP4(10, 1, 2, 1)), 0);
    assert_int_equal(prefix_country_v4(p, IP4(192, 0, 2, 1)), 1);
    assert_int_equal(cc6(p, "2001:db8:1::1"), 0);
    assert_int_equal(cc6(p, "2001:db8:2::1"), 2);
    assert_int_equal(prefix_v4_addresses(p), (1u << 24) - 256 + 256);
    prefix_free(p);

    p = prefix_new();
    struct cidr c;
    assert_int_equal(prefix_parse_cidr("10.0.0.0/8", &c, errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_add_cidr(p, &c, "CN", errbuf, sizeof errbuf), 1);
    assert_int_equal(prefix_add_cidr(p, &c, "zz", errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_stats(p).zz, 1);
    assert_int_equal(prefix_finish(p, "CN,KP", errbuf, sizeof errbuf), -1);
    assert_string_equal(errbuf, "country 'KP' has no address in the loaded sources");
    assert_int_equal(prefix_finish(p, "C1", errbuf, sizeof errbuf), -1);
    assert_int_equal(prefix_add_cidr(p, &c, "cn1", errbuf, sizeof errbuf), -1);
    prefix_free(p);
}

/* An empty map (regression: the fuzzer's empty input) finishes with no country. */
static void empty_map(void **state)
{
    struct prefix_set *p = prefix_new();
    uint8_t a6[16] = {0x20, 0x01};
    assert_int_equal(prefix_finish(p, "all", errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_ncountries(p), 0);
    assert_int_equal(prefix_country_v4(p, IP4(8, 8, 8, 8)), 0);
    assert_int_equal(prefix_country_v6(p, a6), 0);
    assert_int_equal(prefix_finish(p, "all", errbuf, sizeof errbuf), -1);
    prefix_free(p);
}

static void country_lists(void **state)
{
    char codes[4][3];
    assert_int_equal(prefix_country_list("all", codes, 4, errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_country_list("ALL", codes, 4, errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_country_list("kp,IR,kp,mm", codes, 4, errbuf, sizeof errbuf), 3);
    assert_string_equal(codes[0], "KP");
    assert_string_equal(codes[2], "MM");
    static const char *const bad[] = {"",   "KP,",   "K",   "KPR",           "K1",
                                      "ZZ", "KP IR", "A,B", "AA,BB,CC,DD,EE"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(prefix_country_list(bad[i], codes, 4, errbuf, sizeof errbuf), -1);
    assert_int_equal(prefix_code("kp"), prefix_code("KP"));
    assert_int_equal(prefix_code("K"), 0);
    assert_int_equal(prefix_code("K\xc3"), 0);
}

/* Random nested prefixes against a brute-force most-specific search. */
struct ref_prefix {
    uint32_t first, last;
    unsigned len, cc, seq;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static const char *ref_lookup(const struct ref_prefix *r, size_t n, uint32_t a)
{
    static const char *const names[] = {"AA", "BB", "CC", "DD", "EE", "FF"};
    const struct ref_prefix *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (a >= r[i].first && a <= r[i].last &&
            (!best || r[i].len > best->len || (r[i].len == best->len && r[i].seq > best->seq)))
            best = &r[i];
    return best ? names[best->cc] : "";
}

static void random_against_reference(void **state)
{
    static const char *const names[] = {"AA", "BB", "CC", "DD", "EE", "FF"};
    enum { N = 400 };
    static struct ref_prefix r[N];
    struct prefix_set *p = prefix_new();
    char cidr[40];
    struct cidr c;

    for (unsigned i = 0; i < N; i++) {
        /* Clustered in 10.0.0.0/14 so prefixes nest and split /24s often. */
        unsigned len = 14 + rnd() % 19;
        uint32_t mask = ~(uint32_t)0 << (32 - len);
        uint32_t first = (IP4(10, 0, 0, 0) | (rnd() & 0x3ffff)) & mask;
        r[i] = (struct ref_prefix){first, first | ~mask, len, rnd() % 6, i};
        snprintf(cidr, sizeof cidr, "%u.%u.%u.%u/%u", first >> 24, first >> 16 & 255,
                 first >> 8 & 255, first & 255, len);
        assert_int_equal(prefix_parse_cidr(cidr, &c, errbuf, sizeof errbuf), 0);
        assert_int_equal(prefix_add_cidr(p, &c, names[r[i].cc], errbuf, sizeof errbuf), 1);
        /* The same prefix at the top of the IPv6 space: a.b.c.d/n -> a0b:c0d::/n. */
        snprintf(cidr, sizeof cidr, "%x:%x::/%u", first >> 16, first & 0xffff, len);
        assert_int_equal(prefix_parse_cidr(cidr, &c, errbuf, sizeof errbuf), 0);
        assert_int_equal(prefix_add_cidr(p, &c, names[r[i].cc], errbuf, sizeof errbuf), 1);
    }
    assert_int_equal(prefix_finish(p, NULL, errbuf, sizeof errbuf), 0);
    for (unsigned i = 0; i < 200000; i++) {
        uint32_t a = i < N * 4 ? (i & 1 ? r[i / 4].last : r[i / 4].first) + (i & 2 ? 1 : 0) - 1
                               : IP4(10, 0, 0, 0) + (rnd() & 0x3ffff);
        uint8_t a6[16] = {a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255};
        a6[4 + rnd() % 12] = (uint8_t)rnd(); /* any bits below */
        const char *want = ref_lookup(r, N, a);
        if (strcmp(v4cc(p, a), want) != 0 ||
            strcmp(prefix_country_code(p, prefix_country_v6(p, a6)), want) != 0)
            fail_msg("address %08x: map says '%s' (IPv6 '%s'), reference '%s'", a, v4cc(p, a),
                     prefix_country_code(p, prefix_country_v6(p, a6)), want);
    }
    prefix_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_cidrs),       cmocka_unit_test(builtin_kp_edges),
        cmocka_unit_test(partial_slash24s),  cmocka_unit_test(ranges_with_ragged_ends),
        cmocka_unit_test(everything),        cmocka_unit_test(far_from_watched_blocks),
        cmocka_unit_test(ipv6_ranges_merge), cmocka_unit_test(most_specific_wins),
        cmocka_unit_test(selection),         cmocka_unit_test(empty_map),
        cmocka_unit_test(country_lists),     cmocka_unit_test(random_against_reference),
    };
    return cmocka_run_group_tests_name("prefix", tests, NULL, NULL);
}
