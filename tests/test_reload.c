/* Unit tests for reloads of a running sensor: nothing changes before the open bin closes,
 * counts stay with their route names, a removed route's flows finish on the fallback route,
 * new prefixes apply from the next bin, a configuration that does not load changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "pkt.h"
#include "reload.h"
#include "sensor.h"
#include "sensor_feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KP  IP4(175, 45, 176, 10)
#define EXT IP4(16, 0, 0, 1)

static char errbuf[512];
static struct reload *staged; /* as the capture loop keeps it */

static void parse(struct options *o, const char *const *args)
{
    feed_options(o, args, errbuf, sizeof errbuf);
}

/* One UDP packet toward the country on VLAN vlan, from source port sport, at second t. */
static void send(struct sensor *s, unsigned vlan, unsigned sport, int64_t t)
{
    if (staged && sensor_advance(s, t)) { /* as the capture loop does */
        reload_apply(s, staged);
        staged = NULL;
    }
    feed_udp(s, vlan, EXT, KP, sport, t, 0);
}

static const struct bin_counts *total(const struct sensor *s, const char *name)
{
    for (unsigned a = 0; a < s->naccounts; a++)
        if (strcmp(s->account_names[a], name) == 0)
            return &s->totals[a];
    fail_msg("no account '%s'", name);
    return NULL;
}

/* Packets of finished flows counted under a route name, every protocol. */
static uint64_t proto_pkts(const struct sensor *s, const char *name)
{
    uint64_t n = 0;
    for (unsigned a = 0; a < s->naccounts; a++)
        if (strcmp(s->account_names[a], name) == 0)
            for (unsigned l = 0; l < s->nlabels; l++)
                n += s->protos[(size_t)a * s->nlabels + l].pkts;
    return n;
}

/* A sensor with the configuration of args. */
static void start(struct sensor *s, struct options *o, const char *const *args)
{
    parse(o, args);
    assert_int_equal(sensor_init(s, o, errbuf, sizeof errbuf), 0);
}

/* Stages the configuration of args (replacing one staged before). Returns 0, or -1 when
 * reload_stage refused it. */
static int stage(struct sensor *s, const char *const *args, const char *const *ifaces,
                 unsigned nifaces)
{
    struct options n;
    parse(&n, args);
    struct reload *r = reload_stage(s, &n, ifaces, nifaces, errbuf, sizeof errbuf);
    config_free(&n);
    if (!r)
        return -1;
    reload_free(staged);
    staged = r;
    return 0;
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/blackout-reload-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void routes_change_at_the_bin_boundary(void **state)
{
    struct options o;
    struct sensor s;
    const char *const a[] = {"blackout", "replay",  "--no-redis",  "--bin",
                             "10",       "--route", "cn=vlan:100", NULL};
    const char *const b[] = {"blackout", "replay",      "--no-redis", "--bin",       "10",
                             "--route",  "ru=vlan:101", "--route",    "cn=vlan:100", NULL};

    start(&s, &o, a);
    send(&s, 100, 1, 1000);
    send(&s, 101, 2, 1001); /* other */
    assert_int_equal(stage(&s, b, NULL, 0), 0);
    send(&s, 101, 2, 1005); /* the open bin keeps the old rules */
    assert_int_equal(s.reloads, 0);
    send(&s, 101, 2, 1012); /* the bin closed: ru from here */
    assert_int_equal(s.reloads, 1);
    assert_null(staged);
    send(&s, 100, 1, 1013);
    sensor_finish(&s);
    assert_string_equal(s.routes.names[0], "ru");
    assert_string_equal(s.routes.names[1], "cn");
    assert_int_equal(total(&s, "cn")->pkts_in, 2);
    assert_int_equal(total(&s, "other")->pkts_in, 2);
    assert_int_equal(total(&s, "ru")->pkts_in, 1);
    /* the flow began on `other` (a name both tables have) and stays there */
    assert_int_equal(total(&s, "other")->flows_new, 1);
    assert_int_equal(total(&s, "ru")->flows_new, 0);
    assert_int_equal(proto_pkts(&s, "other"), 3);
    assert_int_equal(proto_pkts(&s, "cn"), 2);
    assert_int_equal(bins_late_packets(s.bins), 0);
    sensor_free(&s);
    config_free(&o);
}

static void removed_route_flows_finish_on_fallback(void **state)
{
    struct options o;
    struct sensor s;
    const char *const a[] = {"blackout",    "replay",  "--no-redis",  "--route",
                             "cn=vlan:100", "--route", "ru=vlan:101", NULL};
    const char *const b[] = {"blackout", "replay", "--no-redis", "--route", "cn=vlan:100", NULL};

    start(&s, &o, a);
    send(&s, 101, 7, 1000);
    assert_int_equal(stage(&s, b, NULL, 0), 0);
    send(&s, 100, 8, 1010);
    send(&s, 101, 7, 1011);
    sensor_finish(&s);
    assert_int_equal(s.routes.nroutes, 2);
    assert_int_equal(total(&s, "ru")->pkts_in, 1); /* kept in the summary */
    assert_int_equal(total(&s, "other")->pkts_in, 1);
    assert_int_equal(proto_pkts(&s, "ru"), 0);
    assert_int_equal(proto_pkts(&s, "other"), 2); /* the whole flow */
    sensor_free(&s);
    config_free(&o);
}

static void prefixes_apply_from_the_next_bin(void **state)
{
    struct options o;
    struct sensor s;
    char *none = write_tmp("192.0.2.0/24\n"), *kp = write_tmp("175.45.176.0/22\n");
    const char *const a[] = {"blackout", "replay", "--no-redis", "--prefixes", none, NULL};
    const char *const b[] = {"blackout", "replay", "--no-redis", "--prefixes", kp, NULL};

    start(&s, &o, a);
    send(&s, 100, 1, 1000);
    assert_int_equal(stage(&s, b, NULL, 0), 0);
    send(&s, 100, 1, 1009);
    send(&s, 100, 1, 1010);
    sensor_finish(&s);
    assert_int_equal(total(&s, "all")->ctl_pkts, 2);
    assert_int_equal(total(&s, "all")->pkts_in, 1);
    sensor_free(&s);
    config_free(&o);
    unlink(none);
    unlink(kp);
    free(none);
    free(kp);
}

/* The registry files are read again on a reload (the same path, new contents); a file
 * that no longer loads is refused and the running map stays. */
static void registry_files_are_read_again(void **state)
{
    struct options o;
    struct sensor s;
    char *rir = write_tmp("apnic|KP|ipv4|192.0.2.0|256|20091221|allocated\n");
    const char *const a[] = {"blackout", "replay", "--no-redis", "--country",
                             "all",      "--rir",  rir,          NULL};

    start(&s, &o, a);
    send(&s, 100, 1, 1000); /* 175.45.176.x: not in the file yet */
    FILE *f = fopen(rir, "w");
    assert_non_null(f);
    fputs("apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated\n", f);
    fclose(f);
    assert_int_equal(stage(&s, a, NULL, 0), 0);
    f = fopen(rir, "a");
    assert_non_null(f);
    fputs("apnic|KP|ipv4|175.45.176.0|lots|20091221|allocated\n", f);
    fclose(f);
    assert_int_equal(stage(&s, a, NULL, 0), -1);
    assert_non_null(strstr(errbuf, ":2: bad ipv4 address count 'lots'"));
    assert_non_null(staged); /* the one staged before stays */
    send(&s, 100, 1, 1010);
    sensor_finish(&s);
    assert_int_equal(total(&s, "all")->ctl_pkts, 1);
    assert_int_equal(total(&s, "all")->pkts_in, 1);
    sensor_free(&s);
    config_free(&o);
    unlink(rir);
    free(rir);
}

static void refused_configuration_changes_nothing(void **state)
{
    struct options o;
    struct sensor s;
    const char *const a[] = {"blackout", "replay", "--no-redis", "--route", "cn=iface:eth1", NULL};
    const char *const missing[] = {
        "blackout", "replay", "--no-redis", "--prefixes", "/nonexistent/prefixes", NULL};
    const char *const other_iface[] = {"blackout", "replay",        "--no-redis",
                                       "--route",  "cn=iface:eth9", NULL};
    const char *const ifaces[] = {"eth1"};

    start(&s, &o, a);
    assert_int_equal(route_bind_ifaces(&s.routes, ifaces, 1, errbuf, sizeof errbuf), 0);
    assert_int_equal(stage(&s, missing, ifaces, 1), -1);
    assert_non_null(strstr(errbuf, "/nonexistent/prefixes"));
    assert_int_equal(stage(&s, other_iface, ifaces, 1), -1);
    assert_non_null(strstr(errbuf, "interface 'eth9' is not captured"));
    assert_null(staged);
    send(&s, 100, 1, 1000);
    send(&s, 100, 1, 1020);
    assert_int_equal(s.reloads, 0);
    assert_string_equal(s.routes.names[0], "cn");
    sensor_free(&s);
    config_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_change_at_the_bin_boundary),
        cmocka_unit_test(removed_route_flows_finish_on_fallback),
        cmocka_unit_test(prefixes_apply_from_the_next_bin),
        cmocka_unit_test(registry_files_are_read_again),
        cmocka_unit_test(refused_configuration_changes_nothing),
    };
    log_threshold = LOG_WARN;
    return cmocka_run_group_tests_name("reload", tests, NULL, NULL);
}
