/* Unit tests for the country address set: parsing, lookup edges, files, RIR lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pkt.h"
#include "prefix.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char errbuf[256];

static struct prefix_set *from_text(const char *const *lines)
{
    struct prefix_set *p = prefix_new();
    struct cidr c;
    assert_non_null(p);
    for (; *lines; lines++) {
        assert_int_equal(prefix_parse_cidr(*lines, &c, errbuf, sizeof errbuf), 0);
        assert_int_equal(prefix_add_cidr(p, &c, errbuf, sizeof errbuf), 0);
    }
    prefix_finish(p);
    return p;
}

static bool has6(const struct prefix_set *p, const char *text)
{
    uint8_t a[16];
    assert_int_equal(inet_pton(AF_INET6, text, a), 1);
    return prefix_has_v6(p, a);
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
    prefix_finish(p);
    assert_false(prefix_has_v4(p, IP4(175, 45, 175, 255)));
    assert_true(prefix_has_v4(p, IP4(175, 45, 176, 0)));
    assert_true(prefix_has_v4(p, IP4(175, 45, 179, 255)));
    assert_false(prefix_has_v4(p, IP4(175, 45, 180, 0)));
    assert_true(prefix_has_v4(p, IP4(210, 52, 109, 77)));
    assert_false(prefix_has_v4(p, IP4(210, 52, 110, 1)));
    assert_true(prefix_has_v4(p, IP4(77, 94, 35, 1)));
    assert_false(prefix_has_v4(p, IP4(8, 8, 8, 8)));
    assert_int_equal(prefix_v4_addresses(p), 1024 + 256 + 256);
    assert_int_equal(prefix_load_builtin(p, "XX", errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "no built-in address set"));
    prefix_free(p);
}

static void partial_slash24s(void **state)
{
    const char *const lines[] = {"192.0.2.64/26", "192.0.2.200/32", "198.51.100.0/25", NULL};
    struct prefix_set *p = from_text(lines);
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
        prefix_add_v4_range(p, IP4(10, 0, 0, 200), IP4(10, 0, 3, 10), errbuf, sizeof errbuf), 0);
    prefix_finish(p);
    assert_false(prefix_has_v4(p, IP4(10, 0, 0, 199)));
    assert_true(prefix_has_v4(p, IP4(10, 0, 0, 200)));
    assert_true(prefix_has_v4(p, IP4(10, 0, 1, 0)));
    assert_true(prefix_has_v4(p, IP4(10, 0, 2, 255)));
    assert_true(prefix_has_v4(p, IP4(10, 0, 3, 10)));
    assert_false(prefix_has_v4(p, IP4(10, 0, 3, 11)));
    assert_int_equal(prefix_v4_addresses(p), 56 + 512 + 11);
    assert_int_equal(prefix_add_v4_range(p, 5, 4, errbuf, sizeof errbuf), -1);
    prefix_free(p);
}

static void everything(void **state)
{
    const char *const lines[] = {"0.0.0.0/0", "::/0", NULL};
    struct prefix_set *p = from_text(lines);
    assert_true(prefix_has_v4(p, 0));
    assert_true(prefix_has_v4(p, 0xffffffffu));
    assert_true(prefix_has_v4(p, IP4(8, 8, 8, 8)));
    assert_true(has6(p, "::"));
    assert_true(has6(p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_int_equal(prefix_v4_addresses(p), 1ull << 32);
    prefix_free(p);
}

static void ipv6_ranges_merge(void **state)
{
    const char *const lines[] = {"2001:db8:1::/48", "2001:db8:1:8000::/49", "2001:db8:2::/48",
                                 "2001:db8:10::1", NULL};
    struct prefix_set *p = from_text(lines);
    /* the /49 lies inside the first /48, the two /48s touch, the /128 stands alone */
    assert_int_equal(prefix_v6_ranges(p), 2);
    prefix_free(p);
    const char *const more[] = {"2001:db8:1::/48", "2001:db8:2::/48", "2001:db8:10::1", NULL};
    p = from_text(more);
    assert_true(has6(p, "2001:db8:1::"));
    assert_true(has6(p, "2001:db8:2:ffff:ffff:ffff:ffff:ffff"));
    assert_false(has6(p, "2001:db8:3::"));
    assert_false(has6(p, "2001:db8:0:ffff::"));
    assert_true(has6(p, "2001:db8:10::1"));
    assert_false(has6(p, "2001:db8:10::2"));
    assert_false(has6(p, "::1"));
    prefix_free(p);
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/blackout-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void prefix_files(void **state)
{
    char *path = write_tmp("# KP\n175.45.176.0/22   # main block\n\n  210.52.109.0/24\n"
                           "2001:db8::/32\r\n");
    struct prefix_set *p = prefix_new();
    assert_int_equal(prefix_load_file(p, path, errbuf, sizeof errbuf), 3);
    prefix_finish(p);
    assert_true(prefix_has_v4(p, IP4(175, 45, 177, 1)));
    assert_true(has6(p, "2001:db8::5"));
    prefix_free(p);
    unlink(path);
    free(path);

    path = write_tmp("175.45.176.0/22\n175.45.176.0/33\n");
    p = prefix_new();
    assert_int_equal(prefix_load_file(p, path, errbuf, sizeof errbuf), -1);
    char want[300];
    snprintf(want, sizeof want, "%s:2: bad prefix '175.45.176.0/33'", path);
    assert_string_equal(errbuf, want);
    prefix_free(p);
    unlink(path);
    free(path);

    p = prefix_new();
    assert_int_equal(prefix_load_file(p, "/nonexistent/kp.txt", errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, "No such file"));
    prefix_free(p);
}

static void rir_files(void **state)
{
    char *path = write_tmp("2|apnic|20250601|5|19830613|20250531|+1000\n"
                           "apnic|*|ipv4|*|3|summary\n"
                           "apnic|KP|ipv4|175.45.176.0|1024|20070531|allocated\n"
                           "apnic|KP|ipv4|192.0.2.0|300|20070531|assigned\n"
                           "apnic|KR|ipv4|1.11.0.0|65536|20100101|allocated\n"
                           "apnic|KP|asn|131279|1|20070531|allocated\n"
                           "apnic|kp|ipv6|2001:db8:4b50::|48|20200101|allocated|x\n"
                           "apnic|ZZ|ipv4|10.0.0.0|256||available\n");
    struct prefix_set *p = prefix_new();
    assert_int_equal(prefix_load_rir(p, path, "KP", errbuf, sizeof errbuf), 3);
    prefix_finish(p);
    assert_true(prefix_has_v4(p, IP4(175, 45, 179, 255)));
    assert_true(prefix_has_v4(p, IP4(192, 0, 3, 43))); /* 192.0.2.0 + 299 */
    assert_false(prefix_has_v4(p, IP4(192, 0, 3, 44)));
    assert_false(prefix_has_v4(p, IP4(1, 11, 0, 1)));
    assert_true(has6(p, "2001:db8:4b50:ffff::1"));
    prefix_free(p);
    unlink(path);
    free(path);

    path = write_tmp("apnic|KP|ipv4|175.45.176.0|lots|20070531|allocated\n");
    p = prefix_new();
    assert_int_equal(prefix_load_rir(p, path, "KP", errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, ":1: bad ipv4 entry"));
    prefix_free(p);
    unlink(path);
    free(path);

    path = write_tmp("apnic|KP|ipv4\n");
    p = prefix_new();
    assert_int_equal(prefix_load_rir(p, path, "KP", errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, ":1: expected registry|cc|type"));
    prefix_free(p);
    unlink(path);
    free(path);
}

static void long_lines_rejected(void **state)
{
    char *big = malloc(PREFIX_LINE_MAX * 2 + 2);
    memset(big, '1', PREFIX_LINE_MAX * 2);
    big[PREFIX_LINE_MAX * 2] = '\n';
    big[PREFIX_LINE_MAX * 2 + 1] = '\0';
    char *path = write_tmp(big);
    struct prefix_set *p = prefix_new();
    assert_int_equal(prefix_load_file(p, path, errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, ":1: line too long"));
    prefix_free(p);
    unlink(path);
    free(path);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_cidrs),         cmocka_unit_test(builtin_kp_edges),
        cmocka_unit_test(partial_slash24s),    cmocka_unit_test(ranges_with_ragged_ends),
        cmocka_unit_test(everything),          cmocka_unit_test(ipv6_ranges_merge),
        cmocka_unit_test(prefix_files),        cmocka_unit_test(rir_files),
        cmocka_unit_test(long_lines_rejected),
    };
    return cmocka_run_group_tests_name("prefix", tests, NULL, NULL);
}
