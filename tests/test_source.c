/* Unit tests for the text sources of the country map: prefix files with and without the
 * country column, RIR delegated-stats files in the classic and extended formats, bad lines
 * named by file and line, and the real registry files of ../shared/data/rir when present. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pkt.h"
#include "prefix.h"
#include "source.h"
#include "country.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char errbuf[512];

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
    assert_int_equal(source_load_prefixes(p, path, "KP", errbuf, sizeof errbuf), 3);
    assert_int_equal(prefix_finish(p, "KP", errbuf, sizeof errbuf), 0);
    assert_true(prefix_has_v4(p, IP4(175, 45, 177, 1)));
    assert_true(has6(p, "2001:db8::5"));
    prefix_free(p);
    /* Without a country for the lines without one: an error naming the line. */
    p = prefix_new();
    assert_int_equal(source_load_prefixes(p, path, NULL, errbuf, sizeof errbuf), -1);
    char want[600];
    snprintf(want, sizeof want,
             "%s:2: no country code after '175.45.176.0/22' (needed unless --country is one "
             "country)",
             path);
    assert_string_equal(errbuf, want);
    prefix_free(p);
    unlink(path);
    free(path);

    path = write_tmp("175.45.176.0/22\n175.45.176.0/33\n");
    p = prefix_new();
    assert_int_equal(source_load_prefixes(p, path, "KP", errbuf, sizeof errbuf), -1);
    snprintf(want, sizeof want, "%s:2: bad prefix '175.45.176.0/33'", path);
    assert_string_equal(errbuf, want);
    prefix_free(p);
    unlink(path);
    free(path);

    p = prefix_new();
    assert_int_equal(source_load_prefixes(p, "/nonexistent/kp.txt", "KP", errbuf, sizeof errbuf),
                     -1);
    assert_non_null(strstr(errbuf, "No such file"));
    prefix_free(p);
}

/* The country column: codes of either case, ZZ skipped, bad codes and extra words refused. */
static void prefix_file_countries(void **state)
{
    char *path = write_tmp("10.0.0.0/8 cn\n10.1.0.0/16\tKP\n2001:db8::/32  DE  # doc\n"
                           "192.0.2.0/24 ZZ\n");
    struct prefix_set *p = prefix_new();
    assert_int_equal(source_load_prefixes(p, path, NULL, errbuf, sizeof errbuf), 3);
    assert_int_equal(prefix_stats(p).zz, 1);
    assert_int_equal(prefix_finish(p, "all", errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_ncountries(p), 3); /* CN DE KP, alphabetical */
    assert_string_equal(prefix_country_code(p, 1), "CN");
    assert_string_equal(prefix_country_code(p, 3), "KP");
    assert_string_equal(v4cc(p, IP4(10, 2, 0, 1)), "CN");
    assert_string_equal(v4cc(p, IP4(10, 1, 255, 255)), "KP");
    assert_string_equal(v4cc(p, IP4(192, 0, 2, 1)), "");
    assert_string_equal(v6cc(p, "2001:db8:ffff::1"), "DE");
    prefix_free(p);
    unlink(path);
    free(path);

    static const char *const bad[][2] = {
        {"10.0.0.0/8 C1\n", ":1: bad country code 'C1'"},
        {"10.0.0.0/8 CHN\n", ":1: bad country code 'CHN'"},
        {"10.0.0.0/8 CN x\n", ":1: expected 'CIDR [CC]'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        path = write_tmp(bad[i][0]);
        p = prefix_new();
        assert_int_equal(source_load_prefixes(p, path, "KP", errbuf, sizeof errbuf), -1);
        assert_non_null(strstr(errbuf, bad[i][1]));
        prefix_free(p);
        unlink(path);
        free(path);
    }
}

static const char rir_classic[] = "2|apnic|20250601|5|19830613|20250531|+1000\n"
                                  "apnic|*|ipv4|*|3|summary\n"
                                  "apnic|KP|ipv4|175.45.176.0|1024|20070531|allocated\n"
                                  "apnic|KP|ipv4|192.0.2.0|300|20070531|assigned\n"
                                  "apnic|KR|ipv4|1.11.0.0|65536|20100101|allocated\n"
                                  "apnic|KP|asn|131279|1|20070531|allocated\n"
                                  "apnic|kp|ipv6|2001:db8:4b50::|48|20200101|allocated\n"
                                  "apnic||ipv4|10.0.0.0|256||reserved\n";

static const char rir_extended[] =
    "# an extended file: opaque ids, available and reserved lines\n"
    "2.3|ripencc|1749254400|6|19830705|20250606|+0200\n"
    "ripencc|*|ipv4|*|4|summary\n"
    "ripencc|*|ipv6|*|2|summary\n"
    "ripencc|DE|ipv4|198.51.100.0|256|20100712|allocated|a1b2c3\n"
    "ripencc|FR|ipv4|198.51.100.128|64|20100712|assigned|d4e5f6\n"
    "ripencc|ZZ|ipv4|203.0.113.0|256||available|\n"
    "ripencc|ZZ|ipv4|203.0.112.0|256||reserved|ietf|iana\n"
    "ripencc|DE|ipv6|2001:db8:de00::|40|20120101|allocated|a1b2c3\n"
    "ripencc|FR|ipv6|2001:db8:de00:100::|56|20120101|assigned|d4e5f6\n";

static void rir_files(void **state)
{
    char *path = write_tmp(rir_classic);
    char *ext = write_tmp(rir_extended);
    struct prefix_set *p = prefix_new();
    assert_int_equal(source_load_rir(p, path, errbuf, sizeof errbuf), 4);
    assert_int_equal(source_load_rir(p, ext, errbuf, sizeof errbuf), 4);
    assert_int_equal(prefix_finish(p, NULL, errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_ncountries(p), 4); /* DE FR KP KR */
    assert_string_equal(v4cc(p, IP4(175, 45, 179, 255)), "KP");
    assert_string_equal(v4cc(p, IP4(192, 0, 3, 43)), "KP"); /* 192.0.2.0 + 299 */
    assert_string_equal(v4cc(p, IP4(192, 0, 3, 44)), "");
    assert_string_equal(v4cc(p, IP4(1, 11, 0, 1)), "KR");
    assert_string_equal(v4cc(p, IP4(10, 0, 0, 1)), "");
    assert_string_equal(v6cc(p, "2001:db8:4b50:ffff::1"), "KP");
    /* A FR /26 inside a DE /24 (the extended file), the same for IPv6. */
    assert_string_equal(v4cc(p, IP4(198, 51, 100, 127)), "DE");
    assert_string_equal(v4cc(p, IP4(198, 51, 100, 128)), "FR");
    assert_string_equal(v4cc(p, IP4(198, 51, 100, 191)), "FR");
    assert_string_equal(v4cc(p, IP4(198, 51, 100, 192)), "DE");
    assert_string_equal(v4cc(p, IP4(203, 0, 113, 1)), "");
    assert_string_equal(v6cc(p, "2001:db8:de00:ff::"), "DE");
    assert_string_equal(v6cc(p, "2001:db8:de00:100::1"), "FR");
    assert_string_equal(v6cc(p, "2001:db8:de00:1ff:ffff::"), "FR");
    assert_string_equal(v6cc(p, "2001:db8:de00:200::"), "DE");
    assert_string_equal(v6cc(p, "2001:db8:df00::"), "");
    prefix_free(p);
    unlink(path);
    unlink(ext);
    free(path);
    free(ext);
}

/* Each bad line: the error names the file and line, and says what is wrong. */
static void rir_bad_lines(void **state)
{
    static const char *const bad[][2] = {
        {"apnic|KP|ipv4|175.45.176.0|lots|20070531|allocated\n", ":1: bad ipv4 address count"},
        {"apnic|KP|ipv4|175.45.176.0|0|20070531|allocated\n", ":1: bad ipv4 address count"},
        {"apnic|KP|ipv4|255.255.255.0|257|20070531|allocated\n", ":1: bad ipv4 address count"},
        {"apnic|KP|ipv4|175.45.176|1024|20070531|allocated\n", ":1: bad ipv4 address"},
        {"apnic|KP|ipv4|::1|1024|20070531|allocated\n", ":1: bad ipv4 address"},
        {"apnic|KP|ipv6|2001:db8::|129|20070531|allocated\n", ":1: bad ipv6 prefix length"},
        {"apnic|KP|ipv6|2001:db8::|0|20070531|allocated\n", ":1: bad ipv6 prefix length"},
        {"apnic|KP|ipv6|2001:db8::1|32|20070531|allocated\n", ":1: bad ipv6 prefix"},
        {"apnic|KP|ipv6|10.0.0.0|32|20070531|allocated\n", ":1: bad ipv6 prefix"},
        {"apnic|K|ipv4|175.45.176.0|1024|20070531|allocated\n", ":1: bad country code 'K'"},
        {"apnic||ipv4|175.45.176.0|1024|20070531|assigned\n", ":1: bad country code ''"},
        {"apnic|K1|ipv4|175.45.176.0|1024|20070531|allocated\n", ":1: bad country code 'K1'"},
        {"# x\napnic|KP|ipv4\n", ":2: expected registry|cc|type"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *path = write_tmp(bad[i][0]);
        struct prefix_set *p = prefix_new();
        assert_int_equal(source_load_rir(p, path, errbuf, sizeof errbuf), -1);
        if (!strstr(errbuf, bad[i][1]) || strncmp(errbuf, path, strlen(path)) != 0)
            fail_msg("%s: got '%s', want '%s'", bad[i][0], errbuf, bad[i][1]);
        prefix_free(p);
        unlink(path);
        free(path);
    }
}

/* The real files of four registries (30 June 2014), when ../shared/data is there. */
static void real_registry_files(void **state)
{
    static const char *const files[] = {"afrinic", "apnic", "lacnic", "ripencc"};
    char path[256];
    struct prefix_set *p = prefix_new();

    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "../shared/data/rir/delegated-%s-20140630.txt", files[i]);
        if (access(path, R_OK) != 0) {
            prefix_free(p);
            print_message("# skip: %s is absent\n", path);
            skip();
        }
        assert_true(source_load_rir(p, path, errbuf, sizeof errbuf) > 1000);
    }
    assert_int_equal(prefix_finish(p, "all", errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_ncountries(p), 219);
    /* The sum of the allocated and assigned IPv4 counts of the four files (no overlap). */
    assert_int_equal(prefix_v4_addresses(p), 1867113064ull);
    assert_string_equal(v4cc(p, IP4(175, 45, 176, 0)), "KP");
    assert_string_equal(v4cc(p, IP4(175, 45, 179, 255)), "KP");
    assert_string_equal(v4cc(p, IP4(175, 45, 180, 0)), ""); /* not allocated in 2014 */
    assert_string_equal(v4cc(p, IP4(175, 45, 175, 255)), "JP");
    assert_string_equal(v4cc(p, IP4(175, 45, 184, 0)), "ID");
    assert_string_equal(v4cc(p, IP4(2, 0, 0, 1)), "FR");
    assert_string_equal(v4cc(p, IP4(24, 232, 0, 0)), "AR");
    assert_string_equal(v4cc(p, IP4(8, 8, 8, 8)), ""); /* ARIN's: not in these files */
    prefix_free(p);
}

static void long_lines_rejected(void **state)
{
    char *big = malloc(PREFIX_LINE_MAX * 2 + 2);
    memset(big, '1', PREFIX_LINE_MAX * 2);
    big[PREFIX_LINE_MAX * 2] = '\n';
    big[PREFIX_LINE_MAX * 2 + 1] = '\0';
    char *path = write_tmp(big);
    struct prefix_set *p = prefix_new();
    assert_int_equal(source_load_prefixes(p, path, "KP", errbuf, sizeof errbuf), -1);
    assert_non_null(strstr(errbuf, ":1: line too long"));
    prefix_free(p);
    unlink(path);
    free(path);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prefix_files),        cmocka_unit_test(prefix_file_countries),
        cmocka_unit_test(rir_files),           cmocka_unit_test(rir_bad_lines),
        cmocka_unit_test(real_registry_files), cmocka_unit_test(long_lines_rejected),
    };
    return cmocka_run_group_tests_name("source", tests, NULL, NULL);
}
