/* Unit tests for the sink and the backlog: the flush unit a bin produces (keys, argument
 * layout, binary-safe host bytes), records, the bins member format, drop-oldest in the
 * backlog. With BLACKOUT_TEST_REDIS set to a URL (tests/it_redis_sink.sh starts a private
 * redis-server), the same units go through the real writer and script: applied once,
 * never twice, a new run not mistaken for a duplicate, lost data noticed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXU 8

struct captured {
    unsigned n;
    struct backlog_unit *u[MAXU];
};

static void capture_unit(void *ctx, struct backlog_unit *u)
{
    struct captured *c = ctx;
    assert_true(c->n < MAXU);
    c->u[c->n++] = u;
}

static void free_captured(struct captured *c)
{
    for (unsigned i = 0; i < c->n; i++)
        free(c->u[i]);
    c->n = 0;
}

static const char *const route_names[] = {"cn", "ru"};

static struct sink_config config(const char *sensor)
{
    struct sink_config c = {
        .timeout_ms = 2000,
        .prefix = "t:",
        .sensor = sensor,
        .nroutes = 2,
        .route_names = route_names,
        .backlog = 16,
        .backlog_bytes = 1 << 20,
        .retention = 3600,
        .stream_maxlen = 1000,
        .alerts_maxlen = 1000,
        .heartbeat_ttl = 60,
    };
    return c;
}

/* A bin: route 0 has two hosts whose bytes include NUL, CR and LF. */
static uint8_t hosts0[2][16];
static struct bin_counts counts[2];
static const uint8_t (*host_ptrs[2])[16];
static size_t nhosts[2];

static struct bin_view make_bin(int64_t start)
{
    memset(hosts0, 0, sizeof hosts0);
    hosts0[0][10] = hosts0[0][11] = 0xff;
    hosts0[0][12] = 175, hosts0[0][13] = 45, hosts0[0][14] = '\r', hosts0[0][15] = '\n';
    hosts0[1][0] = 0x20, hosts0[1][1] = 0x01, hosts0[1][15] = '*';
    memset(counts, 0, sizeof counts);
    counts[0] = (struct bin_counts){.pkts_in = 3,
                                    .pkts_out = 4,
                                    .bytes_in = 300,
                                    .bytes_out = 400,
                                    .flows_new = 1,
                                    .hosts = 2,
                                    .ctl_pkts = 7,
                                    .drops = 0,
                                    .starts_in = 2,
                                    .starts_out = 1};
    counts[1].ctl_pkts = 5;
    host_ptrs[0] = (const uint8_t(*)[16])hosts0;
    host_ptrs[1] = NULL;
    nhosts[0] = 2;
    nhosts[1] = 0;
    struct bin_view v = {.start = start,
                         .len = 10,
                         .nroutes = 2,
                         .partial = false,
                         .routes = counts,
                         .hosts = host_ptrs,
                         .nhosts = nhosts};
    return v;
}

static bool arg_is(const struct backlog_unit *u, int i, const char *s)
{
    return i < u->argc && u->lens[i] == strlen(s) && memcmp(u->argv[i], s, u->lens[i]) == 0;
}

/* Index of ARGV[k] (1-based, as in the script). */
static int argv_at(const struct backlog_unit *u, int k)
{
    return 3 + (int)strtol(u->argv[2], NULL, 10) + k -
           1; /* argv[2] is numkeys, followed by a digit-only end */
}

static void bin_unit_layout(void **state)
{
    struct captured cap = {0};
    struct sink_config c = config("s1");
    struct sink *s = sink_new_offline(&c, capture_unit, &cap);
    struct bin_view v = make_bin(1000);

    assert_non_null(s);
    sink_proto(s, 0, "DNS", 2);
    sink_proto(s, 0, "TLS", 5);
    sink_proto(s, 0, "DNS", 1);
    sink_bin(s, &v);
    assert_int_equal(cap.n, 1);
    struct backlog_unit *u = cap.u[0];
    assert_int_equal(u->seq, 1);
    assert_int_equal(u->nbins, 1);
    assert_int_equal(u->bin_start, 1000);
    /* 7 fixed keys + 4 per route */
    assert_int_equal((int)strtol(u->argv[2], NULL, 10), 7 + 2 * 4);
    assert_true(arg_is(u, 3 + 1, "t:{s1}:heartbeat"));
    assert_true(arg_is(u, 3 + 3, "t:alerts"));
    assert_true(arg_is(u, 3 + 4, "t:state"));
    assert_true(arg_is(u, 3 + 7, "t:{s1}:totals:cn"));
    assert_true(arg_is(u, 3 + 8, "t:{s1}:proto:cn"));
    assert_true(arg_is(u, 3 + 9, "t:{s1}:bins:cn"));
    assert_true(arg_is(u, 3 + 10, "t:{s1}:hosts:cn:1000"));
    assert_true(arg_is(u, 3 + 14, "t:{s1}:hosts:ru:1000"));
    assert_true(arg_is(u, argv_at(u, 1), "1"));   /* seq */
    assert_true(arg_is(u, argv_at(u, 10), "s1")); /* sensor */
    assert_true(arg_is(u, argv_at(u, 11), "t:events"));
    assert_true(arg_is(u, argv_at(u, 12), "2")); /* route sections */
    assert_int_equal(u->idx_prev, argv_at(u, 2));
    assert_int_equal(u->idx_first, argv_at(u, 3));
    int a = argv_at(u, 16); /* route cn */
    assert_true(arg_is(u, a, "cn"));
    assert_true(arg_is(u, a + 1, "1000"));
    assert_true(arg_is(u, a + 3, "3"));
    assert_true(arg_is(u, a + 6, "400"));
    assert_true(arg_is(u, a + 9, "7"));
    assert_true(arg_is(u, a + 11, "0")); /* flags */
    assert_true(arg_is(u, a + 12, "2")); /* starts_in */
    assert_true(arg_is(u, a + 13, "1")); /* starts_out */
    assert_int_equal(u->lens[a + 14], 32);
    assert_memory_equal(u->argv[a + 14], hosts0, 32);
    assert_true(arg_is(u, a + 15, "2")); /* two protocols, DNS merged */
    assert_true(arg_is(u, a + 16, "DNS"));
    assert_true(arg_is(u, a + 17, "3"));
    assert_true(arg_is(u, a + 18, "TLS"));
    assert_true(arg_is(u, a + 20, "ru"));
    assert_int_equal(u->lens[a + 20 + 14], 0);
    assert_true(arg_is(u, a + 20 + 15, "0"));
    assert_int_equal(u->argc, a + 20 + 16);
    sink_bin(s, &v); /* the next unit: next sequence, protocols reset */
    assert_int_equal(cap.u[1]->seq, 2);
    assert_true(arg_is(cap.u[1], argv_at(cap.u[1], 16) + 15, "0"));
    free_captured(&cap);
    sink_free(s);
}

/* A reload: pending protocol counts leave under the old names, then the new names. */
static void set_routes_renames(void **state)
{
    struct captured cap = {0};
    struct sink_config c = config("s1");
    struct sink *s = sink_new_offline(&c, capture_unit, &cap);
    struct bin_view v = make_bin(1000);
    static const char *const renamed[] = {"ru", "cn", "r3"};

    assert_non_null(s);
    sink_proto(s, 1, "DNS", 4);
    assert_int_equal(sink_set_routes(s, 3, renamed), 0);
    assert_int_equal(cap.n, 1); /* the counts of "ru", without a bin */
    int a = argv_at(cap.u[0], 16);
    assert_true(arg_is(cap.u[0], a, "cn"));
    /* a section: name, 14 bin fields (empty without a bin), the protocol count, pairs */
    assert_true(arg_is(cap.u[0], a + 16, "ru"));
    assert_true(arg_is(cap.u[0], a + 16 + 15, "1"));
    assert_true(arg_is(cap.u[0], a + 16 + 16, "DNS"));
    assert_int_equal(cap.u[0]->nbins, 0);
    sink_bin(s, &v);
    assert_int_equal(cap.n, 2);
    struct backlog_unit *u = cap.u[1];
    assert_true(arg_is(u, 3 + 7, "t:{s1}:totals:ru"));
    assert_true(arg_is(u, 3 + 11, "t:{s1}:totals:cn"));
    a = argv_at(u, 16);
    assert_true(arg_is(u, a, "ru"));
    assert_true(arg_is(u, a + 16, "cn"));
    static const char *many[SINK_ROUTES_MAX + 1];
    for (unsigned i = 0; i <= SINK_ROUTES_MAX; i++)
        many[i] = "x";
    assert_int_equal(sink_set_routes(s, SINK_ROUTES_MAX + 1, many), -1);
    free_captured(&cap);
    sink_free(s);
}

static void records_unit(void **state)
{
    struct captured cap = {0};
    struct sink_config c = config("s1");
    struct sink *s = sink_new_offline(&c, capture_unit, &cap);
    struct flow_record r = {.l4_proto = 6,
                            .vlan = 0xffff,
                            .sport = 1234,
                            .dport = 443,
                            .pkts_in = 5,
                            .first_us = 1000000,
                            .last_us = 2500000};
    struct event e = {.kind = EVENT_COUNTRY_DOWN,
                      .cause = CAUSE_INTERNAL,
                      .since = 990,
                      .detected = 1020,
                      .duration = -1};

    snprintf(r.route, sizeof r.route, "cn");
    snprintf(r.proto, sizeof r.proto, "TLS");
    snprintf(r.host, sizeof r.host, "evil\r\n*3\r\n$3\r\nDEL");
    snprintf(e.route, sizeof e.route, "*");
    snprintf(e.sensor, sizeof e.sensor, "s1");
    assert_int_equal(sink_flow(s, &r), 0);
    assert_int_equal(sink_event(s, &e), 0);
    assert_int_equal(sink_route_state(s, "*", "down", 990, 8.9, 0), 0);
    assert_int_equal(cap.n, 0); /* records wait for the bin, or for close */
    assert_int_equal(sink_close(s, 0), 0);
    assert_int_equal(cap.n, 1);
    struct backlog_unit *u = cap.u[0];
    assert_int_equal(u->nbins, 0);
    assert_int_equal(u->nflows, 1);
    assert_int_equal(u->nevents, 1);
    assert_int_equal((int)strtol(u->argv[2], NULL, 10), 7 + 1); /* the state hash */
    assert_true(arg_is(u, 3 + 7, "t:{s1}:state:*"));
    assert_true(arg_is(u, argv_at(u, 12), "0"));
    assert_true(arg_is(u, argv_at(u, 13), "1"));
    assert_true(arg_is(u, argv_at(u, 14), "1"));
    assert_true(arg_is(u, argv_at(u, 15), "1"));
    int a = argv_at(u, 16);
    assert_true(arg_is(u, a, "15")); /* field pairs, no vlan */
    bool host_seen = false;
    for (int i = a + 1; i < a + 31; i += 2)
        if (arg_is(u, i, "host"))
            host_seen = arg_is(u, i + 1, "evil\r\n*3\r\n$3\r\nDEL");
    assert_true(host_seen);
    a += 31;
    assert_true(arg_is(u, a, "country_down"));
    assert_true(arg_is(u, a + 1, "*"));
    assert_true(arg_is(u, a + 5, "internal"));
    assert_non_null(strstr(u->argv[a + 6], "\"event\":\"country_down\""));
    assert_true(arg_is(u, a + 7, "down"));
    assert_true(arg_is(u, a + 8, "*"));
    assert_true(arg_is(u, a + 9, "down"));
    assert_true(arg_is(u, a + 11, "8.900"));
    free_captured(&cap);
    sink_free(s);
}

/* Redis Cluster: every key of a unit (a bin with records) is in the sensor's slot, the keys
 * shared by all sensors among them as the sensor's share (P{S}:alerts, P{S}:states,
 * P{S}:sensors); on one server they stay Palerts, Pstate, Psensors. */
static void cluster_keys_one_slot(void **state)
{
    struct captured cap = {0};
    struct sink_config c = config("s1");
    struct event e = {.kind = EVENT_ROUTE_DOWN, .since = 990, .detected = 1020, .duration = -1};
    char k[64];

    snprintf(e.route, sizeof e.route, "cn");
    for (int cluster = 0; cluster < 2; cluster++) {
        c.url.mode = cluster ? BO_REDIS_CLUSTER : BO_REDIS_SINGLE;
        struct sink *s = sink_new_offline(&c, capture_unit, &cap);
        assert_int_equal(sink_event(s, &e), 0);
        assert_int_equal(sink_route_state(s, "cn", "down", 990, 8.9, 0), 0);
        struct bin_view v = make_bin(1000);
        sink_bin(s, &v);
        struct backlog_unit *u = cap.u[0];
        int nkeys = (int)strtol(u->argv[2], NULL, 10);
        unsigned slot = redis_key_slot("{s1}", 4), other = 0;
        for (int i = 3; i < 3 + nkeys; i++)
            other += redis_key_slot(u->argv[i], u->lens[i]) != slot;
        assert_int_equal(other, cluster ? 0 : 3);
        assert_true(arg_is(u, 6, cluster ? "t:{s1}:alerts" : "t:alerts"));
        assert_true(arg_is(u, 7, cluster ? "t:{s1}:states" : "t:state"));
        assert_true(arg_is(u, 8, cluster ? "t:{s1}:sensors" : "t:sensors"));
        assert_int_equal(sink_shared_key(k, sizeof k, "t:", "s1", SINK_STATE, cluster),
                         (int)u->lens[7]);
        free_captured(&cap);
        sink_free(s);
    }
}

static void bin_member_parse(void **state)
{
    struct sink_bin_row b;
    const char *ok = "1749254400:10:1:2:3:4:5:6:7:8:1:9:10";
    assert_int_equal(sink_parse_bin(ok, strlen(ok), &b), 0);
    assert_int_equal(b.start, 1749254400);
    assert_int_equal(b.len, 10);
    assert_int_equal(b.c[0], 1);
    assert_int_equal(b.c[7], 8);
    assert_int_equal(b.flags, 1);
    assert_true(b.has_starts);
    assert_int_equal(b.starts[0], 9);
    assert_int_equal(b.starts[1], 10);
    const char *old = "1749254400:10:1:2:3:4:5:6:7:8:2"; /* before the starts were added */
    assert_int_equal(sink_parse_bin(old, strlen(old), &b), 0);
    assert_false(b.has_starts);
    assert_int_equal(b.starts[0], 0);
    assert_int_equal(b.starts[1], 0);
    assert_int_equal(b.flags, 2);
    assert_int_equal(b.c[7], 8);
    static const char *const bad[] = {"",
                                      "1:2",
                                      "1:10:1:2:3:4:5:6:7:8",
                                      "1:10:1:2:3:4:5:6:7:8:1:",
                                      "1:10:1:2:3:4:5:6:7:8:1:9",
                                      "1:10:1:2:3:4:5:6:7:8:1:9:",
                                      "1:10:1:2:3:4:5:6:7:8:1:9:10:11",
                                      "1:10:1:2:3:4:5:6:7:8:x",
                                      "1:10:1:2:3:4:5:6:7:8:1:9:x",
                                      "a:10:1:2:3:4:5:6:7:8:1",
                                      "1:10:1:2:3:4:5:6:7:99999999999999999999999:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sink_parse_bin(bad[i], strlen(bad[i]), &b), -1);
}

static struct backlog_unit *unit_for(struct sink *s, struct captured *cap, int64_t start)
{
    struct bin_view v = make_bin(start);
    sink_bin(s, &v);
    return cap->u[cap->n - 1];
}

/* Without a writer: the oldest queued units go first, and are counted. */
static void backlog_drops_oldest(void **state)
{
    struct captured cap = {0};
    struct sink_config c = config("s1");
    struct sink *s = sink_new_offline(&c, capture_unit, &cap);
    struct redis_url url;
    char err[256];
    struct backlog_config bc = {.max_units = 3, .max_bytes = 1 << 20, .script = sink_script};
    struct backlog_stats st;

    assert_int_equal(redis_url_parse("redis://127.0.0.1:1/0", &url, err, sizeof err), 0);
    struct backlog *b = backlog_new(redis_new(&url, 100, NULL), &bc);
    assert_non_null(b);
    for (int i = 0; i < 5; i++)
        backlog_push(b, unit_for(s, &cap, 1000 + 10 * i));
    backlog_stats(b, &st);
    assert_int_equal(st.dropped_units, 2);
    assert_int_equal(st.dropped_bins, 2);
    assert_int_equal(st.pending_units, 3);
    assert_int_equal(st.pending_first_bin, 1020);
    assert_int_equal(st.pending_last_bin, 1040);
    assert_int_equal(backlog_batch_max(3), 1);
    assert_int_equal(backlog_batch_max(2), 1);
    assert_int_equal(backlog_batch_max(1000), 32);
    backlog_free(b);
    backlog_free(NULL);
    sink_free(s);
    sink_free(NULL);
}

/* ---- against a real redis-server (BLACKOUT_TEST_REDIS=URL) ---- */

static struct redis *rd;

static struct backlog_unit *clone_unit(const struct backlog_unit *u)
{
    struct backlog_unit *c = malloc(u->bytes);
    const char *lo = (const char *)u, *hi = lo + u->bytes;
    assert_non_null(c);
    memcpy(c, u, u->bytes);
    c->argv = (const char **)(c + 1);
    c->lens = (size_t *)(c->argv + c->argc);
    for (int i = 0; i < c->argc; i++)
        if (c->argv[i] >= lo && c->argv[i] < hi)
            c->argv[i] = (const char *)c + (c->argv[i] - lo);
    return c;
}

static struct redis_reply *cmd(int argc, const char **argv)
{
    size_t lens[8];
    char err[256];
    struct redis_reply *x = NULL;
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    if (redis_call(rd, argc, argv, lens, &x, err, sizeof err) != BO_REDIS_OK)
        fail_msg("%s: %s", argv[0], err);
    return x;
}

static long long int_cmd(int argc, const char **argv)
{
    struct redis_reply *x = cmd(argc, argv);
    size_t n;
    const char *s = redis_reply_str(x, &n);
    long long v =
        redis_reply_type(x) == BO_REDIS_R_INTEGER ? redis_reply_int(x) : strtoll(s, NULL, 10);
    redis_reply_free(x);
    return v;
}

static long long hget(const char *key, const char *field)
{
    const char *argv[] = {"HGET", key, field};
    return int_cmd(3, argv);
}

static void flushall(void)
{
    const char *argv[] = {"FLUSHALL"};
    redis_reply_free(cmd(1, argv));
}

static struct backlog *live_backlog(void)
{
    struct redis_url url;
    char err[256];
    struct backlog_config bc = {.max_units = 16, .max_bytes = 1 << 20, .script = sink_script};

    assert_int_equal(redis_url_parse(getenv("BLACKOUT_TEST_REDIS"), &url, err, sizeof err), 0);
    struct backlog *b = backlog_new(redis_new(&url, 2000, "test"), &bc);
    assert_non_null(b);
    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    return b;
}

static int live_setup(void **state)
{
    struct redis_url url;
    char err[256];
    const char *u = getenv("BLACKOUT_TEST_REDIS");

    if (!u)
        return 0;
    assert_int_equal(redis_url_parse(u, &url, err, sizeof err), 0);
    rd = redis_new(&url, 2000, NULL);
    if (redis_connect(rd, err, sizeof err) != BO_REDIS_OK)
        fail_msg("%s", err);
    return 0;
}

static int live_teardown(void **state)
{
    redis_free(rd);
    rd = NULL;
    return 0;
}

/* A retried unit is not applied twice; a new run's first unit is not a duplicate. */
static void live_exactly_once(void **state)
{
    struct captured cap = {0}, cap2 = {0};
    struct sink_config c = config("s1");
    struct backlog_stats st;

    if (!rd)
        skip();
    flushall();
    struct sink *s = sink_new_offline(&c, capture_unit, &cap);
    struct backlog *b = live_backlog();
    struct backlog_unit *u1 = unit_for(s, &cap, 1000), *u2 = unit_for(s, &cap, 1010);
    backlog_push(b, clone_unit(u1));
    assert_int_equal(backlog_drain(b, 5000), 0);
    backlog_push(b, clone_unit(u1)); /* as after a reply lost on the way */
    backlog_push(b, clone_unit(u2));
    assert_int_equal(backlog_drain(b, 5000), 0);
    backlog_stats(b, &st);
    assert_int_equal(st.flushes, 2);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.data_lost, 0);
    assert_true(st.script_commands > 10);
    assert_int_equal(hget("t:{s1}:totals:cn", "pkts_in"), 6);
    assert_int_equal(hget("t:{s1}:totals:cn", "bytes_out"), 800);
    assert_int_equal(hget("t:{s1}:totals:ru", "pkts_in"), 0);
    const char *pf[] = {"PFCOUNT", "t:{s1}:hosts:cn:1000"};
    assert_int_equal(int_cmd(2, pf), 2);
    const char *zc[] = {"ZCARD", "t:{s1}:bins:ru"};
    assert_int_equal(int_cmd(2, zc), 2);
    const char *ttl[] = {"TTL", "t:{s1}:heartbeat"};
    assert_true(int_cmd(2, ttl) > 0);
    backlog_free(b);
    /* a restarted sensor: a new run id, its sequence starts at 1 again */
    struct sink *s2 = sink_new_offline(&c, capture_unit, &cap2);
    b = live_backlog();
    backlog_push(b, clone_unit(unit_for(s2, &cap2, 1020)));
    assert_int_equal(backlog_drain(b, 5000), 0);
    backlog_stats(b, &st);
    assert_int_equal(st.flushes, 1);
    assert_int_equal(hget("t:{s1}:totals:cn", "pkts_in"), 9);
    backlog_free(b);
    free_captured(&cap);
    free_captured(&cap2);
    sink_free(s);
    sink_free(s2);
}

/* Flows, events and states reach their keys; host bytes arrive as they were. */
static void live_records(void **state)
{
    struct captured cap = {0};
    struct sink_config c = config("s1");
    struct flow_record r = {.l4_proto = 17, .vlan = 7, .pkts_in = 1};
    struct event e = {.kind = EVENT_ROUTE_DOWN, .since = 990, .detected = 1020, .duration = -1};

    if (!rd)
        skip();
    flushall();
    struct sink *s = sink_new_offline(&c, capture_unit, &cap);
    snprintf(r.route, sizeof r.route, "cn");
    snprintf(r.host, sizeof r.host, "a\r\nb \"c\"");
    snprintf(e.route, sizeof e.route, "cn");
    sink_flow(s, &r);
    sink_event(s, &e);
    sink_route_state(s, "cn", "down", 990, 4.5, 0.25);
    sink_proto(s, 1, "DNS", 4);
    sink_close(s, 0);
    struct backlog *b = live_backlog();
    backlog_push(b, clone_unit(cap.u[0]));
    assert_int_equal(backlog_drain(b, 5000), 0);
    backlog_free(b);
    const char *xl[] = {"XLEN", "t:{s1}:flows"};
    assert_int_equal(int_cmd(2, xl), 1);
    const char *xa[] = {"XLEN", "t:alerts"};
    assert_int_equal(int_cmd(2, xa), 1);
    const char *xr[] = {"XRANGE", "t:{s1}:flows", "-", "+"};
    struct redis_reply *x = cmd(4, xr);
    const struct redis_reply *fields = redis_reply_at(redis_reply_at(x, 0), 1);
    bool found = false;
    for (size_t i = 0; i + 1 < redis_reply_len(fields); i += 2) {
        size_t n, m;
        const char *f = redis_reply_str(redis_reply_at(fields, i), &n);
        const char *v = redis_reply_str(redis_reply_at(fields, i + 1), &m);
        if (n == 4 && memcmp(f, "host", 4) == 0)
            found = m == strlen(r.host) && memcmp(v, r.host, m) == 0;
    }
    redis_reply_free(x);
    assert_true(found);
    const char *hs[] = {"HGET", "t:state", "s1/cn"};
    x = cmd(3, hs);
    size_t n;
    assert_string_equal(redis_reply_str(x, &n), "down");
    redis_reply_free(x);
    assert_int_equal(hget("t:{s1}:state:cn", "since"), 990);
    assert_int_equal(hget("t:{s1}:proto:ru", "DNS"), 4);
    free_captured(&cap);
    sink_free(s);
}

/* The bins member carries the starts and reads back; a sink without routes (`blackout
 * detect`) writes its events with sink_send and is not listed among the sensors. */
static void live_member_and_events_only(void **state)
{
    struct captured cap = {0}, cap2 = {0};
    struct sink_config c = config("s1"), d = config("detect");
    struct event e = {.kind = EVENT_ROUTE_DOWN, .since = 990, .detected = 1020, .duration = -1};
    struct sink_bin_row row;
    size_t n;

    if (!rd)
        skip();
    flushall();
    struct sink *s = sink_new_offline(&c, capture_unit, &cap);
    struct backlog *b = live_backlog();
    backlog_push(b, clone_unit(unit_for(s, &cap, 1000)));
    assert_int_equal(backlog_drain(b, 5000), 0);
    backlog_free(b);
    d.nroutes = 0;
    struct sink *ds = sink_new_offline(&d, capture_unit, &cap2);
    snprintf(e.route, sizeof e.route, "cn");
    snprintf(e.sensor, sizeof e.sensor, "detect");
    sink_send(ds);
    assert_int_equal(cap2.n, 0); /* nothing to send */
    assert_int_equal(sink_event(ds, &e), 0);
    sink_send(ds);
    assert_int_equal(cap2.n, 1);
    assert_int_equal(cap2.u[0]->nbins, 0);
    b = live_backlog(); /* another process, another run */
    backlog_push(b, clone_unit(cap2.u[0]));
    assert_int_equal(backlog_drain(b, 5000), 0);
    backlog_free(b);
    const char *zr[] = {"ZRANGE", "t:{s1}:bins:cn", "0", "-1"};
    struct redis_reply *x = cmd(4, zr);
    const char *m = redis_reply_str(redis_reply_at(x, 0), &n);
    assert_int_equal(sink_parse_bin(m, n, &row), 0);
    redis_reply_free(x);
    assert_true(row.has_starts);
    assert_int_equal(row.starts[0], 2);
    assert_int_equal(row.starts[1], 1);
    assert_int_equal(row.c[6], 7);
    const char *sm[] = {"SMEMBERS", "t:sensors"};
    x = cmd(2, sm);
    assert_int_equal(redis_reply_len(x), 1);
    assert_string_equal(redis_reply_str(redis_reply_at(x, 0), &n), "s1");
    redis_reply_free(x);
    const char *hs[] = {"HGET", "t:state", "detect/cn"};
    x = cmd(3, hs);
    assert_string_equal(redis_reply_str(x, &n), "down");
    redis_reply_free(x);
    free_captured(&cap);
    free_captured(&cap2);
    sink_free(s);
    sink_free(ds);
}

/* OOM (maxmemory, noeviction): refused before anything is applied, kept, retried. */
static void live_oom_then_lost_data(void **state)
{
    struct captured cap = {0};
    struct sink_config c = config("s1");
    struct backlog_stats st;

    if (!rd)
        skip();
    flushall();
    struct sink *s = sink_new_offline(&c, capture_unit, &cap);
    struct backlog *b = live_backlog();
    const char *pol[] = {"CONFIG", "SET", "maxmemory-policy", "noeviction"};
    const char *lim[] = {"CONFIG", "SET", "maxmemory", "1"};
    const char *unl[] = {"CONFIG", "SET", "maxmemory", "0"};
    redis_reply_free(cmd(4, pol));
    redis_reply_free(cmd(4, lim));
    backlog_push(b, clone_unit(unit_for(s, &cap, 1000)));
    assert_int_equal(backlog_drain(b, 700), 1);
    backlog_stats(b, &st);
    assert_true(st.errors >= 1);
    assert_int_equal(st.flushes, 0);
    assert_non_null(strstr(st.last_error, "OOM"));
    redis_reply_free(cmd(4, unl));
    assert_int_equal(backlog_drain(b, 10000), 0);
    assert_int_equal(hget("t:{s1}:totals:cn", "pkts_in"), 3);
    /* Redis loses its data: the next unit is applied and the loss noticed */
    flushall();
    backlog_push(b, clone_unit(unit_for(s, &cap, 1010)));
    assert_int_equal(backlog_drain(b, 5000), 0);
    backlog_stats(b, &st);
    assert_int_equal(st.flushes, 2);
    assert_int_equal(st.data_lost, 1);
    assert_int_equal(hget("t:{s1}:totals:cn", "pkts_in"), 3);
    backlog_free(b);
    free_captured(&cap);
    sink_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bin_unit_layout),
        cmocka_unit_test(records_unit),
        cmocka_unit_test(bin_member_parse),
        cmocka_unit_test(cluster_keys_one_slot),
        cmocka_unit_test(backlog_drops_oldest),
        cmocka_unit_test(live_exactly_once),
        cmocka_unit_test(live_records),
        cmocka_unit_test(live_member_and_events_only),
        cmocka_unit_test(live_oom_then_lost_data),
        cmocka_unit_test(set_routes_renames),
    };
    return cmocka_run_group_tests(tests, live_setup, live_teardown);
}
