/* Unit tests for option parsing: defaults, config file, precedence, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "text.h"
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char errbuf[512];

static enum config_result parse(struct options *o, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    return config_parse(argc, argv, o, errbuf, sizeof errbuf);
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/blackout-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void defaults(void **state)
{
    struct options o;
    const char *const a[] = {"blackout", "replay", "x.pcap", NULL};
    assert_int_equal(parse(&o, a), CONFIG_OK);
    assert_int_equal(o.cmd, CMD_REPLAY);
    assert_int_equal(o.bin, 10);
    assert_string_equal(o.country, "KP");
    assert_false(o.json);
    assert_int_equal(o.nargs, 1);
    assert_string_equal(o.args[0], "x.pcap");
    assert_true(strlen(o.sensor) > 0);
    config_free(&o);
}

static void long_short_and_equals(void **state)
{
    struct options o;
    const char *const a[] = {"blackout", "replay",  "--bin=60",    "--json",
                             "-q",       "--route", "cn=vlan:100", "--route=ru=vlan:101",
                             "a",        "--",      "-b",          NULL};
    assert_int_equal(parse(&o, a), CONFIG_OK);
    assert_int_equal(o.bin, 60);
    assert_true(o.json);
    assert_true(o.quiet);
    assert_int_equal(o.routes.n, 2);
    assert_string_equal(o.routes.v[1], "ru=vlan:101");
    assert_int_equal(o.nargs, 2);
    assert_string_equal(o.args[1], "-b");
    config_free(&o);
}

static void file_then_command_line(void **state)
{
    struct options o;
    char *path = write_tmp("# sensor config\nbin = 30\nroute = a=vlan:1\nroute = b=vlan:2\n"
                           "json\nsensor = edge-1   # comment\n");
    const char *const a[] = {"blackout", "replay", "-c", path, "--bin", "5", "f", NULL};
    assert_int_equal(parse(&o, a), CONFIG_OK);
    assert_int_equal(o.bin, 5); /* the command line wins */
    assert_true(o.json);
    assert_string_equal(o.sensor, "edge-1");
    assert_int_equal(o.routes.n, 2);
    config_free(&o);

    const char *const b[] = {"blackout", "replay", "--route", "c=vlan:3", "-c", path, "f", NULL};
    assert_int_equal(parse(&o, b), CONFIG_OK);
    assert_int_equal(o.routes.n, 1); /* a list on the command line replaces the file's */
    assert_string_equal(o.routes.v[0], "c=vlan:3");
    config_free(&o);
    unlink(path);
    free(path);
}

static void file_errors_name_the_line(void **state)
{
    struct options o;
    char want[512];
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"bin = 10\nbni = 5\n", ":2: unknown option 'bni'"},
        {"bin = ten\n", ":1: bad value 'ten' for bin (1 to 86400)"},
        {"bin = 0\n", ":1: bad value '0' for bin"},
        {"json = maybe\n", ":1: bad value 'maybe' for json"},
        {"\n\nprefixes\n", ":3: 'prefixes' needs a value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *path = write_tmp(bad[i].text);
        const char *const a[] = {"blackout", "replay", "-c", path, "f", NULL};
        assert_int_equal(parse(&o, a), CONFIG_USAGE);
        snprintf(want, sizeof want, "%s%s", path, bad[i].msg);
        if (strncmp(errbuf, want, strlen(want)) != 0)
            fail_msg("got '%s', want '%s'", errbuf, want);
        config_free(&o);
        unlink(path);
        free(path);
    }
    const char *const a[] = {"blackout", "replay", "-c", "/nonexistent.conf", "f", NULL};
    assert_int_equal(parse(&o, a), CONFIG_USAGE);
    assert_non_null(strstr(errbuf, "/nonexistent.conf: No such file"));
    config_free(&o);
}

static void capture_options(void **state)
{
    struct options o;
    const char *const a[] = {"blackout", "capture",     "-i",       "eth1",   "--interface",
                             "eth2",     "--buffer-mb", "128",      "--user", "nobody",
                             "--syslog", "--pidfile",   "/run/b.p", NULL};
    assert_int_equal(parse(&o, a), CONFIG_OK);
    assert_int_equal(o.cmd, CMD_CAPTURE);
    assert_int_equal(o.ifaces.n, 2);
    assert_string_equal(o.ifaces.v[1], "eth2");
    assert_int_equal(o.buffer_mb, 128);
    assert_int_equal(o.snaplen, 65535);
    assert_string_equal(o.user, "nobody");
    assert_string_equal(o.pidfile, "/run/b.p");
    assert_true(o.syslog);
    assert_int_equal(o.flush_timeout, 30);
    config_free(&o);

    char *path = write_tmp("interface = eth3\nsnaplen = 1500\nuser = blackout\n");
    const char *const b[] = {"blackout", "capture", "-c", path, NULL};
    assert_int_equal(parse(&o, b), CONFIG_OK);
    assert_int_equal(o.ifaces.n, 1);
    assert_string_equal(o.ifaces.v[0], "eth3");
    assert_int_equal(o.snaplen, 1500);
    config_free(&o);
    const char *const r[] = {"blackout", "replay", "-c", path, "f", NULL};
    assert_int_equal(parse(&o, r), CONFIG_OK); /* capture keys do not apply to replay */
    assert_int_equal(o.ifaces.n, 0);
    config_free(&o);
    unlink(path);
    free(path);

    const char *const c[] = {"blackout", "replay", "-i", "eth1", "f", NULL};
    assert_int_equal(parse(&o, c), CONFIG_USAGE);
    assert_non_null(strstr(errbuf, "--interface does not apply to 'replay'"));
    config_free(&o);
    const char *const d[] = {"blackout", "capture", "--buffer-mb", "0", NULL};
    assert_int_equal(parse(&o, d), CONFIG_USAGE);
    assert_non_null(strstr(errbuf, "(1 to 4096)"));
    config_free(&o);
}

static void usage_errors(void **state)
{
    struct options o;
    static const struct {
        const char *args[6], *msg;
    } bad[] = {
        {{"blackout", NULL}, "no subcommand"},
        {{"blackout", "replya", NULL}, "unknown subcommand 'replya'"},
        {{"blackout", "replay", "--bni", "5", NULL}, "unknown option '--bni'"},
        {{"blackout", "replay", "--bin", NULL}, "--bin needs a value"},
        {{"blackout", "replay", "--bin", "-3", NULL}, "bad value '-3' for bin"},
        {{"blackout", "replay", "--bin", "99999999", NULL}, "(1 to 86400)"},
        {{"blackout", "replay", "--json=yes", NULL}, "--json takes no value"},
        {{"blackout", "replay", "-x", NULL}, "unknown option '-x'"},
        {{"blackout", "status", "--country", "KPX", NULL}, "'KPX' is not a country code"},
        {{"blackout", "export", "--country", "KP,", NULL}, "is not a country code"},
        {{"blackout", "alerts", "--country", ",KP", NULL}, "is not a country code"},
        {{"blackout", "detect", "--country", "K1", NULL}, "is not a country code"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(&o, bad[i].args), CONFIG_USAGE);
        if (!strstr(errbuf, bad[i].msg))
            fail_msg("got '%s', want '%s'", errbuf, bad[i].msg);
        config_free(&o);
    }
}

/* The readers' --country: a list of codes; in a config file "country" is the sensor's option
 * (its country set), so one file serves both without filtering the readers. */
static void reader_countries(void **state)
{
    struct options o;
    const char *a[] = {"blackout", "status", "--country", "kp,MM", NULL};
    assert_int_equal(parse(&o, a), CONFIG_OK);
    assert_string_equal(o.countries, "kp,MM");
    assert_true(text_list_has(o.countries, "KP") && text_list_has(o.countries, "mm"));
    assert_false(text_list_has(o.countries, "K") || text_list_has(o.countries, "MMX") ||
                 text_list_has(o.countries, ""));
    config_free(&o);
    char *path = write_tmp("country = IR\n");
    const char *b[] = {"blackout", "detect", "-c", path, NULL};
    assert_int_equal(parse(&o, b), CONFIG_OK);
    assert_null(o.countries);
    config_free(&o);
    const char *c[] = {"blackout", "replay", "-c", path, NULL};
    assert_int_equal(parse(&o, c), CONFIG_OK);
    assert_string_equal(o.country, "IR");
    assert_null(o.countries);
    config_free(&o);
    unlink(path);
    free(path);
}

/* --min-replicas: auto is 1 through sentinels or a cluster, 0 for one server; a number wins.
 * --sentinel-password lands in the URL for the sentinels only. */
static void replicas_and_sentinels(void **state)
{
    struct options o;
    struct redis_url u;
    const char *const plain[] = {"blackout", "replay", "x", NULL};
    const char *const sent[] = {"blackout",
                                "replay",
                                "--redis",
                                "redis-sentinel://:m@s1,s2#mymaster",
                                "--sentinel-password",
                                "sp",
                                "x",
                                NULL};
    const char *const two[] = {"blackout",           "capture",        "-i", "eth0", "--redis",
                               "redis-cluster://n1", "--min-replicas", "2",  NULL};
    const char *const zero[] = {"blackout",       "replay", "--redis", "redis-cluster://n1",
                                "--min-replicas", "0",      "x",       NULL};

    assert_int_equal(parse(&o, plain), CONFIG_OK);
    assert_int_equal(config_redis_url(&o, &u, errbuf, sizeof errbuf), 0);
    assert_int_equal(config_min_replicas(&o, &u), 0);
    config_free(&o);
    assert_int_equal(parse(&o, sent), CONFIG_OK);
    assert_int_equal(config_redis_url(&o, &u, errbuf, sizeof errbuf), 0);
    assert_int_equal(config_min_replicas(&o, &u), 1);
    assert_string_equal(u.sentinel_pass, "sp");
    assert_string_equal(u.pass, "m");
    config_free(&o);
    assert_int_equal(parse(&o, two), CONFIG_OK);
    assert_int_equal(config_redis_url(&o, &u, errbuf, sizeof errbuf), 0);
    assert_int_equal(config_min_replicas(&o, &u), 2);
    config_free(&o);
    assert_int_equal(parse(&o, zero), CONFIG_OK);
    assert_int_equal(config_redis_url(&o, &u, errbuf, sizeof errbuf), 0);
    assert_int_equal(config_min_replicas(&o, &u), 0);
    config_free(&o);
    const char *const bad[] = {"blackout", "replay", "--min-replicas", "many", "x", NULL};
    assert_int_equal(parse(&o, bad), CONFIG_USAGE);
    assert_non_null(strstr(errbuf, "'auto' or a number"));
    config_free(&o);
    const char *const notfor[] = {"blackout", "status", "--min-replicas", "1", NULL};
    assert_int_equal(parse(&o, notfor), CONFIG_USAGE);
    config_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(long_short_and_equals),
        cmocka_unit_test(file_then_command_line),
        cmocka_unit_test(file_errors_name_the_line),
        cmocka_unit_test(capture_options),
        cmocka_unit_test(usage_errors),
        cmocka_unit_test(reader_countries),
        cmocka_unit_test(replicas_and_sentinels),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
