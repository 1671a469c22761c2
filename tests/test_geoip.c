/* Unit tests for the MaxMind DB reader: databases written by tests/mmdb-write (Perl,
 * libmaxmind-db-writer-perl) in the IPv6 layout with and without aliases and in the IPv4
 * layout, read into the country map and looked up; most specific wins across sources;
 * files that are not country databases are refused with one line naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "geoip.h"
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
static char path[64];

static const char networks[] = "10.0.0.0/8 CN\n"
                               "10.1.0.0/16 DE\n"
                               "10.1.2.128/25 FR\n"
                               "192.0.2.0/24 -\n"
                               "198.51.100.0/24 @IR\n"
                               "203.0.113.0/24 ZZ\n"
                               "2001:db8::/32 CN\n"
                               "2001:db8:1::/48 KP\n";

/* Writes the lines into a database at path with the writer's options; skips the test when
 * the writer cannot run. */
static void write_db(const char *lines, const char *opts)
{
    char cmd[256];

    snprintf(path, sizeof path, "/tmp/blackout-geoip-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "tests/mmdb-write %s %s", opts, path);
    FILE *w = popen(cmd, "w");
    assert_non_null(w);
    fputs(lines, w);
    if (pclose(w) != 0) {
        unlink(path);
        print_message("# skip: tests/mmdb-write failed (libmaxmind-db-writer-perl missing?)\n");
        skip();
    }
}

static void check_v4(const struct prefix_set *p)
{
    assert_string_equal(v4cc(p, IP4(9, 255, 255, 255)), "");
    assert_string_equal(v4cc(p, IP4(10, 0, 0, 1)), "CN");
    assert_string_equal(v4cc(p, IP4(10, 1, 2, 127)), "DE");
    assert_string_equal(v4cc(p, IP4(10, 1, 2, 128)), "FR");
    assert_string_equal(v4cc(p, IP4(10, 255, 255, 255)), "CN");
    assert_string_equal(v4cc(p, IP4(192, 0, 2, 1)), "");      /* no country at all */
    assert_string_equal(v4cc(p, IP4(198, 51, 100, 1)), "IR"); /* registered country */
    assert_string_equal(v4cc(p, IP4(203, 0, 113, 1)), "");    /* ZZ */
}

static void ipv6_layout_with_aliases(void **state)
{
    write_db(networks, "");
    struct prefix_set *p = prefix_new();
    assert_true(geoip_load(p, path, errbuf, sizeof errbuf) > 0);
    assert_int_equal(prefix_stats(p).zz, 1);
    assert_int_equal(prefix_finish(p, NULL, errbuf, sizeof errbuf), 0);
    check_v4(p);
    assert_string_equal(v6cc(p, "2001:db8::1"), "CN");
    assert_string_equal(v6cc(p, "2001:db8:1:ffff::1"), "KP");
    assert_string_equal(v6cc(p, "2001:db9::"), "");
    /* The aliases of the IPv4 subtree (6to4, mapped) are not loaded as IPv6. */
    assert_string_equal(v6cc(p, "2002:a01:201::"), "");
    assert_string_equal(v6cc(p, "::ffff:10.1.2.1"), "");
    assert_int_equal(prefix_ncountries(p), 5); /* CN DE FR IR KP */
    prefix_free(p);
    unlink(path);
}

static void ipv6_layout_without_aliases(void **state)
{
    write_db(networks, "--no-alias");
    struct prefix_set *p = prefix_new();
    assert_true(geoip_load(p, path, errbuf, sizeof errbuf) > 0);
    assert_int_equal(prefix_finish(p, "all", errbuf, sizeof errbuf), 0);
    check_v4(p);
    assert_string_equal(v6cc(p, "2001:db8:1::"), "KP");
    prefix_free(p);
    unlink(path);
}

static void ipv4_layout(void **state)
{
    write_db("10.0.0.0/8 CN\n10.1.0.0/16 DE\n10.1.2.128/25 FR\n192.0.2.0/24 -\n"
             "198.51.100.0/24 @IR\n203.0.113.0/24 ZZ\n",
             "--ip-version 4");
    struct prefix_set *p = prefix_new();
    assert_true(geoip_load(p, path, errbuf, sizeof errbuf) > 0);
    assert_int_equal(prefix_finish(p, NULL, errbuf, sizeof errbuf), 0);
    check_v4(p);
    assert_int_equal(prefix_v6_ranges(p), 0);
    prefix_free(p);
    unlink(path);
}

/* A registry's /24 inside the database's /16 wins, and the database's /25 inside it. The
 * database holds the leaves of its tree, not the networks written into it: around the
 * /25 the /16 is stored in pieces, and 10.1.2.0/25 (DE) is more specific than the
 * registry's 10.1.2.0/24. */
static void most_specific_across_sources(void **state)
{
    char rir[] = "/tmp/blackout-geoip-rir-XXXXXX";
    int fd = mkstemp(rir);
    assert_true(fd >= 0);
    const char *text = "ripencc|KP|ipv4|10.1.9.0|256|20100101|allocated\n"
                       "ripencc|KP|ipv4|10.1.2.0|256|20100101|allocated\n"
                       "ripencc|IT|ipv4|10.1.0.0|65536|20100101|allocated\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    write_db(networks, "");
    struct prefix_set *p = prefix_new();
    assert_int_equal(source_load_rir(p, rir, errbuf, sizeof errbuf), 3);
    assert_true(geoip_load(p, path, errbuf, sizeof errbuf) > 0);
    assert_int_equal(prefix_finish(p, "KP,FR,DE,IT", errbuf, sizeof errbuf), 0);
    assert_string_equal(v4cc(p, IP4(10, 1, 9, 1)), "KP");
    assert_string_equal(v4cc(p, IP4(10, 1, 2, 1)), "DE"); /* the database's /25 */
    assert_string_equal(v4cc(p, IP4(10, 1, 2, 129)), "FR");
    assert_string_equal(v4cc(p, IP4(10, 1, 10, 1)), "DE"); /* the /21 of the database */
    assert_string_equal(v4cc(p, IP4(10, 2, 0, 1)), "");    /* CN, not watched */
    prefix_free(p);
    unlink(path);
    unlink(rir);
}

/* The four real registry files (../shared/data/rir), written into a database by
 * tests/mmdb-write --rir: the map read from the database and the map read from the files
 * give every address the same country. */
static void database_of_the_registry_files(void **state)
{
    static const char *const files[] = {"afrinic", "apnic", "lacnic", "ripencc"};
    char rir[4][80], cmd[512];
    struct prefix_set *a = prefix_new(), *b = prefix_new();

    for (int i = 0; i < 4; i++) {
        snprintf(rir[i], sizeof rir[i], "../shared/data/rir/delegated-%s-20140630.txt", files[i]);
        if (access(rir[i], R_OK) != 0) {
            prefix_free(a);
            prefix_free(b);
            print_message("# skip: %s is absent\n", rir[i]);
            skip();
        }
        assert_true(source_load_rir(a, rir[i], errbuf, sizeof errbuf) > 0);
    }
    snprintf(path, sizeof path, "/tmp/blackout-geoip-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "cat %s %s %s %s | tests/mmdb-write --rir %s", rir[0], rir[1], rir[2],
             rir[3], path);
    assert_int_equal(system(cmd), 0);
    assert_true(geoip_load(b, path, errbuf, sizeof errbuf) > 50000);
    assert_int_equal(prefix_finish(a, "all", errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_finish(b, "all", errbuf, sizeof errbuf), 0);
    assert_int_equal(prefix_ncountries(b), prefix_ncountries(a));
    assert_int_equal(prefix_v4_addresses(b), prefix_v4_addresses(a));
    assert_int_equal(prefix_v6_ranges(b), prefix_v6_ranges(a));
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 1000000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t v4 = (uint32_t)(x >> 32);
        /* An address near the start of a run of the files' map, a bit after it. */
        uint64_t hi = a->v6_hi[x % a->nv6] + (x >> 40), lo = x;
        uint8_t v6[16];
        for (int k = 0; k < 8; k++) {
            v6[k] = (uint8_t)(hi >> (56 - 8 * k));
            v6[8 + k] = (uint8_t)(lo >> (56 - 8 * k));
        }
        if (strcmp(v4cc(a, v4), v4cc(b, v4)) != 0 ||
            prefix_country_v6(a, v6) != prefix_country_v6(b, v6))
            fail_msg("address %08x or its IPv6 twin: the database and the files differ", v4);
    }
    prefix_free(a);
    prefix_free(b);
    unlink(path);
}

static void refused(const char *lines, const char *opts, const char *want)
{
    struct prefix_set *p = prefix_new();
    if (lines)
        write_db(lines, opts);
    assert_int_equal(geoip_load(p, path, errbuf, sizeof errbuf), -1);
    if (strncmp(errbuf, path, strlen(path)) != 0 || !strstr(errbuf, want))
        fail_msg("got '%s', want '%s: ...%s'", errbuf, path, want);
    prefix_free(p);
    unlink(path);
}

static void bad_databases(void **state)
{
    refused("10.0.0.0/8 DEU\n", "", "a country code that is not two letters");
    refused("10.0.0.0/8 -\n", "", "no network with a country code");
    refused("10.0.0.0/8 D1\n", "", "bad country code 'D1'");
    snprintf(path, sizeof path, "/tmp/blackout-geoip-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "10.0.0.0/8 CN\n", 14), 14);
    close(fd);
    refused(NULL, "", "not a MaxMind DB");
    snprintf(path, sizeof path, "/nonexistent/geo.mmdb");
    refused(NULL, "", "No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv6_layout_with_aliases),
        cmocka_unit_test(ipv6_layout_without_aliases),
        cmocka_unit_test(ipv4_layout),
        cmocka_unit_test(most_specific_across_sources),
        cmocka_unit_test(database_of_the_registry_files),
        cmocka_unit_test(bad_databases),
    };
    return cmocka_run_group_tests_name("geoip", tests, NULL, NULL);
}
