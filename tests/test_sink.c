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

static struct sink_config config(const char *sensor)
{
    struct sink_config c = {
        .timeout_ms = 2000,
        .prefix = "t:",
        .sensor = sensor,
        .backlog = 16,
        .backlog_bytes = 1 << 20,
        .retention = 3600,
        .stream_maxlen = 1000,
        .alerts_maxlen = 1000,
        .heartbeat_ttl = 60,
    };
    return c;
}

/* A sink without Redis with two pairs: 0 KP/cn and 1 KP/ru. */
static struct sink *offline(const struct sink_config *c, struct captured *cap)
{
    struct sink *s = sink_new_offline(c, capture_unit, cap);
    assert_non_null(s);
    assert_int_equal(sink_pair(s, 0, "KP", "cn"), 0);
    assert_int_equal(sink_pair(s, 1, "KP", "ru"), 0);
    return s;
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
    static const unsigned row_route[2] = {0, 1};
    static uint64_t ctl[2], drops[2];
    ctl[0] = 7;
    ctl[1] = 5;
    struct bin_view v = {.start = start,
                         .len = 10,
                         .partial = false,
                         .nrows = 2,
                         .rows = counts,
                         .row_route = row_route,
                         .hosts = host_ptrs,
                         .nhosts = nhosts,
                         .nroutes = 2,
                         .ctl_pkts = ctl,
                         .drops = drops};
    return v;
}

static bool arg_is(const struct backlog_unit *u, int i, const char *s)
{
    return i < u->argc && u->lens[i] == strlen(s) && memcmp(u->argv[i], s, u->lens[i]) == 0;
}

/* Index in argv of KEYS entry k and of ARGV entry k (0-based, sink.h's table positions):
 * argv[0] EVALSHA, [1] the script, [2] numkeys. */
static int key_at(int k)
{
    return 3 + k;
}

static int argv_at(const struct backlog_unit *u, int k)
{
    return 3 + (int)strtol(u->argv[2], NULL, 10) + k;
}

/* The first argument after the header: the first section, flow, event or state. */
static int body_at(const struct backlog_unit *u)
{
    return argv_at(u, SINK_NHEADER);
}

static void bin_unit_layout(void **state)
{
    struct captured cap = {0};
    struct sink_config c = config("s1");
    struct sink *s = offline(&c, &cap);
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
    /* the fixed keys + one section of keys per route */
    assert_int_equal((int)strtol(u->argv[2], NULL, 10), SINK_NFIXED_KEYS + 2 * SINK_NSECTION_KEYS);
    assert_true(arg_is(u, key_at(SINK_FK_heartbeat), "t:{s1}:heartbeat"));
    assert_true(arg_is(u, key_at(SINK_FK_alerts), "t:alerts"));
    assert_true(arg_is(u, key_at(SINK_FK_state), "t:state"));
    int k = key_at(SINK_NFIXED_KEYS);
    assert_true(arg_is(u, k + SINK_SK_totals, "t:{s1}:totals:KP:cn"));
    assert_true(arg_is(u, k + SINK_SK_proto, "t:{s1}:proto:KP:cn"));
    assert_true(arg_is(u, k + SINK_SK_bins, "t:{s1}:bins:KP:cn"));
    assert_true(arg_is(u, k + SINK_SK_hosts, "t:{s1}:hosts:KP:cn:0"));
    assert_true(arg_is(u, k + SINK_NSECTION_KEYS + SINK_SK_hosts, "t:{s1}:hosts:KP:ru:0"));
    assert_true(arg_is(u, argv_at(u, SINK_HDR_seq), "1"));
    assert_true(arg_is(u, argv_at(u, SINK_HDR_sensor), "s1"));
    assert_true(arg_is(u, argv_at(u, SINK_HDR_channel), "t:events"));
    assert_true(arg_is(u, argv_at(u, SINK_HDR_nsections), "2"));
    assert_int_equal(u->idx_prev, argv_at(u, SINK_HDR_prev));
    assert_int_equal(u->idx_first, argv_at(u, SINK_HDR_first));
    int a = body_at(u); /* route cn */
    assert_true(arg_is(u, a + SINK_SA_name, "KP/cn"));
    assert_true(arg_is(u, a + SINK_SA_start, "1000"));
    /* start len pkts_in pkts_out bytes_in bytes_out flows_new hosts ctl_pkts drops flags
     * starts_in starts_out */
    assert_true(arg_is(u, a + SINK_SA_member, "1000:10:3:4:300:400:1:2:7:0:0:2:1"));
    assert_int_equal(u->lens[a + SINK_SA_hosts], 32);
    assert_memory_equal(u->argv[a + SINK_SA_hosts], hosts0, 32);
    assert_true(arg_is(u, a + SINK_SA_ntotals, "5"));
    assert_true(arg_is(u, a + SINK_SA_nprotos, "2")); /* two protocols, DNS merged */
    a += SINK_NSECTION_ARGS;
    assert_true(arg_is(u, a, "pkts_in"));
    assert_true(arg_is(u, a + 1, "3"));
    assert_true(arg_is(u, a + 6, "bytes_out"));
    assert_true(arg_is(u, a + 7, "400"));
    assert_true(arg_is(u, a + 8, "flows"));
    assert_true(arg_is(u, a + 9, "1"));
    a += 2 * 5;
    assert_true(arg_is(u, a, "DNS"));
    assert_true(arg_is(u, a + 1, "3"));
    assert_true(arg_is(u, a + 2, "TLS"));
    a += 2 * 2; /* route ru: no country traffic, no totals to add */
    assert_true(arg_is(u, a + SINK_SA_name, "KP/ru"));
    assert_true(arg_is(u, a + SINK_SA_member, "1000:10:0:0:0:0:0:0:5:0:0:0:0"));
    assert_int_equal(u->lens[a + SINK_SA_hosts], 0);
    assert_true(arg_is(u, a + SINK_SA_ntotals, "0"));
    assert_true(arg_is(u, a + SINK_SA_nprotos, "0"));
    assert_int_equal(u->argc, a + SINK_NSECTION_ARGS);
    sink_bin(s, &v); /* the next unit: next sequence, protocols reset */
    assert_int_equal(cap.u[1]->seq, 2);
    assert_true(arg_is(cap.u[1], body_at(cap.u[1]) + SINK_SA_nprotos, "0"));
    free_captured(&cap);
    sink_free(s);
}

/* Pairs: a pair that is not live writes no bin, its protocol counts still go out; pairs are
 * registered in order. */
static void pairs_and_liveness(void **state)
{
    struct captured cap = {0};
    struct sink_config c = config("s1");
    struct sink *s = offline(&c, &cap);
    struct bin_view v = make_bin(1000);

    assert_int_equal(sink_pair(s, 5, "KP", "x"), -1); /* not the next number */
    sink_proto(s, 0, "DNS", 4);
    sink_pair_live(s, 0, false);
    sink_bin(s, &v);
    assert_int_equal(cap.n, 1);
    struct backlog_unit *u = cap.u[0];
    int a = body_at(u);
    /* KP/cn: a section without a bin (no start, member or hosts, no totals), its protocols */
    assert_true(arg_is(u, a + SINK_SA_name, "KP/cn"));
    assert_true(arg_is(u, a + SINK_SA_start, ""));
    assert_true(arg_is(u, a + SINK_SA_member, ""));
    assert_true(arg_is(u, a + SINK_SA_ntotals, "0"));
    assert_true(arg_is(u, a + SINK_SA_nprotos, "1"));
    assert_true(arg_is(u, a + SINK_NSECTION_ARGS, "DNS"));
    a += SINK_NSECTION_ARGS + 2;
    assert_true(arg_is(u, a + SINK_SA_name, "KP/ru"));
    assert_true(arg_is(u, a + SINK_SA_start, "1000"));
    sink_pair_live(s, 0, true);
    assert_int_equal(sink_pair(s, 2, "IR", "cn"), 0);
    sink_bin(s, &v); /* a view of two rows: the third pair has no bin yet */
    u = cap.u[1];
    assert_true(arg_is(u, argv_at(u, SINK_HDR_nsections), "2"));
    assert_true(arg_is(u, key_at(SINK_NFIXED_KEYS + SINK_SK_totals), "t:{s1}:totals:KP:cn"));
    free_captured(&cap);
    sink_free(s);
}

static void records_unit(void **state)
{
    struct captured cap = {0};
    struct sink_config c = config("s1");
    struct sink *s = offline(&c, &cap);
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

    snprintf(r.country, sizeof r.country, "KP");
    snprintf(r.route, sizeof r.route, "cn");
    snprintf(r.proto, sizeof r.proto, "TLS");
    snprintf(r.host, sizeof r.host, "evil\r\n*3\r\n$3\r\nDEL");
    snprintf(e.country, sizeof e.country, "KP");
    snprintf(e.route, sizeof e.route, "*");
    snprintf(e.sensor, sizeof e.sensor, "s1");
    assert_int_equal(sink_flow(s, &r), 0);
    assert_int_equal(sink_event(s, &e), 0);
    assert_int_equal(sink_route_state(s, "KP", "*", "down", 990, 8.9, 0), 0);
    assert_int_equal(cap.n, 0); /* records wait for the bin, or for close */
    assert_int_equal(sink_close(s, 0), 0);
    assert_int_equal(cap.n, 1);
    struct backlog_unit *u = cap.u[0];
    assert_int_equal(u->nbins, 0);
    assert_int_equal(u->nflows, 1);
    assert_int_equal(u->nevents, 1);
    assert_int_equal((int)strtol(u->argv[2], NULL, 10), SINK_NFIXED_KEYS + 1); /* state hash */
    assert_true(arg_is(u, key_at(SINK_NFIXED_KEYS), "t:{s1}:state:KP:*"));
    assert_true(arg_is(u, argv_at(u, SINK_HDR_nsections), "0"));
    assert_true(arg_is(u, argv_at(u, SINK_HDR_nflows), "1"));
    assert_true(arg_is(u, argv_at(u, SINK_HDR_nevents), "1"));
    assert_true(arg_is(u, argv_at(u, SINK_HDR_nstates), "1"));
    int a = body_at(u);
    assert_true(arg_is(u, a, "16")); /* field pairs, no vlan */
    bool host_seen = false;
    for (int i = a + 1; i < a + 33; i += 2)
        if (arg_is(u, i, "host"))
            host_seen = arg_is(u, i + 1, "evil\r\n*3\r\n$3\r\nDEL");
    assert_true(host_seen);
    a += 33;
    assert_true(arg_is(u, a + SINK_EA_event, "country_down"));
    assert_true(arg_is(u, a + SINK_EA_route, "*"));
    assert_true(arg_is(u, a + SINK_EA_cause, "internal"));
    assert_non_null(strstr(u->argv[a + SINK_EA_json], "\"event\":\"country_down\""));
    assert_true(arg_is(u, a + SINK_EA_state, "down"));
    a += SINK_NEVENT_ARGS;
    assert_true(arg_is(u, a + SINK_ST_field, "s1/KP/*"));
    assert_true(arg_is(u, a + SINK_ST_state, "down"));
    assert_true(arg_is(u, a + SINK_ST_baseline_pps, "8.900"));
    assert_int_equal(u->argc, a + SINK_NSTATE_ARGS);
    free_captured(&cap);
    sink_free(s);
}

/* The list `local NAME = {'a','b',...}` the script declares, checked name by name against
 * the C side's table. */
static void script_declares(const char *list, const char *const *names, unsigned n)
{
    char want[1024];
    size_t k = (size_t)snprintf(want, sizeof want, "local %s = {", list);
    for (unsigned i = 0; i < n; i++)
        k += (size_t)snprintf(want + k, sizeof want - k, "'%s',", names[i]);
    snprintf(want + k, sizeof want - k, "}\n");
    if (!strstr(sink_script, want))
        fail_msg("the script does not declare %s as the C side fills it: %s", list, want);
}

/* The two sides of the positional protocol agree: every list the script reads by name is
 * the one the C side fills by index. */
static void script_and_encoder_agree(void **state)
{
    script_declares("FIXED_KEYS", sink_fixed_key_names, SINK_NFIXED_KEYS);
    script_declares("HEADER", sink_header_names, SINK_NHEADER);
    script_declares("SECTION_KEYS", sink_section_key_names, SINK_NSECTION_KEYS);
    script_declares("SECTION_ARGS", sink_section_arg_names, SINK_NSECTION_ARGS);
    script_declares("EVENT_ARGS", sink_event_arg_names, SINK_NEVENT_ARGS);
    script_declares("STATE_ARGS", sink_state_arg_names, SINK_NSTATE_ARGS);
    assert_string_equal(sink_header_names[SINK_HDR_prev], "prev");
    assert_string_equal(sink_section_arg_names[SINK_SA_member], "member");
    /* a unit's header is where the script reads it */
    struct captured cap = {0};
    struct sink_config c = config("s1");
    struct sink *s = offline(&c, &cap);
    struct bin_view v = make_bin(1000);
    sink_bin(s, &v);
    struct backlog_unit *u = cap.u[0];
    int nk = (int)strtol(u->argv[2], NULL, 10);
    assert_int_equal(u->idx_prev, 3 + nk + SINK_HDR_prev);
    assert_true(arg_is(u, 3 + nk + SINK_HDR_sensor, "s1"));
    assert_true(arg_is(u, 3 + SINK_FK_sensors, "t:sensors"));
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

    snprintf(e.country, sizeof e.country, "KP");
    snprintf(e.route, sizeof e.route, "cn");
    for (int cluster = 0; cluster < 2; cluster++) {
        c.url.mode = cluster ? BO_REDIS_CLUSTER : BO_REDIS_SINGLE;
        struct sink *s = offline(&c, &cap);
        assert_int_equal(sink_event(s, &e), 0);
        assert_int_equal(sink_route_state(s, "KP", "cn", "down", 990, 8.9, 0), 0);
        struct bin_view v = make_bin(1000);
        sink_bin(s, &v);
        struct backlog_unit *u = cap.u[0];
        int nkeys = (int)strtol(u->argv[2], NULL, 10);
        unsigned slot = redis_key_slot("{s1}", 4), other = 0;
        for (int i = 3; i < 3 + nkeys; i++)
            other += redis_key_slot(u->argv[i], u->lens[i]) != slot;
        assert_int_equal(other, cluster ? 0 : 3);
        assert_true(arg_is(u, key_at(SINK_FK_alerts), cluster ? "t:{s1}:alerts" : "t:alerts"));
        assert_true(arg_is(u, key_at(SINK_FK_state), cluster ? "t:{s1}:states" : "t:state"));
        assert_true(arg_is(u, key_at(SINK_FK_sensors), cluster ? "t:{s1}:sensors" : "t:sensors"));
        assert_int_equal(sink_shared_key(k, sizeof k, "t:", "s1", SINK_STATE, cluster),
                         (int)u->lens[key_at(SINK_FK_state)]);
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
    assert_int_equal(b.c.pkts_in, 1);
    assert_int_equal(b.c.drops, 8);
    assert_int_equal(b.flags, 1);
    assert_true(b.has_starts);
    assert_int_equal(b.c.starts_in, 9);
    assert_int_equal(b.c.starts_out, 10);
    char again[SINK_BIN_MEMBER_MAX];
    assert_int_equal(sink_format_bin(again, sizeof again, b.start, b.len, b.flags, &b.c),
                     strlen(ok));
    assert_string_equal(again, ok);
    const char *old = "1749254400:10:1:2:3:4:5:6:7:8:2"; /* before the starts were added */
    assert_int_equal(sink_parse_bin(old, strlen(old), &b), 0);
    assert_false(b.has_starts);
    assert_int_equal(b.c.starts_in, 0);
    assert_int_equal(b.c.starts_out, 0);
    assert_int_equal(b.flags, 2);
    assert_int_equal(b.c.drops, 8);
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
    struct sink *s = offline(&c, &cap);
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
    struct sink *s = offline(&c, &cap);
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
    assert_int_equal(hget("t:{s1}:totals:KP:cn", "pkts_in"), 6);
    assert_int_equal(hget("t:{s1}:totals:KP:cn", "bytes_out"), 800);
    assert_int_equal(hget("t:{s1}:totals:KP:ru", "pkts_in"), 0);
    const char *pf[] = {"PFCOUNT", "t:{s1}:hosts:KP:cn:0"};
    assert_int_equal(int_cmd(2, pf), 2);
    const char *zc[] = {"ZCARD", "t:{s1}:bins:KP:ru"};
    assert_int_equal(int_cmd(2, zc), 2);
    const char *ttl[] = {"TTL", "t:{s1}:heartbeat"};
    assert_true(int_cmd(2, ttl) > 0);
    backlog_free(b);
    /* a restarted sensor: a new run id, its sequence starts at 1 again */
    struct sink *s2 = offline(&c, &cap2);
    b = live_backlog();
    backlog_push(b, clone_unit(unit_for(s2, &cap2, 1020)));
    assert_int_equal(backlog_drain(b, 5000), 0);
    backlog_stats(b, &st);
    assert_int_equal(st.flushes, 1);
    assert_int_equal(hget("t:{s1}:totals:KP:cn", "pkts_in"), 9);
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
    struct sink *s = offline(&c, &cap);
    snprintf(r.country, sizeof r.country, "KP");
    snprintf(r.route, sizeof r.route, "cn");
    snprintf(r.host, sizeof r.host, "a\r\nb \"c\"");
    snprintf(e.country, sizeof e.country, "KP");
    snprintf(e.route, sizeof e.route, "cn");
    sink_flow(s, &r);
    sink_event(s, &e);
    sink_route_state(s, "KP", "cn", "down", 990, 4.5, 0.25);
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
    const char *hs[] = {"HGET", "t:state", "s1/KP/cn"};
    x = cmd(3, hs);
    size_t n;
    assert_string_equal(redis_reply_str(x, &n), "down");
    redis_reply_free(x);
    assert_int_equal(hget("t:{s1}:state:KP:cn", "since"), 990);
    assert_int_equal(hget("t:{s1}:proto:KP:ru", "DNS"), 4);
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
    struct sink *s = offline(&c, &cap);
    struct backlog *b = live_backlog();
    backlog_push(b, clone_unit(unit_for(s, &cap, 1000)));
    assert_int_equal(backlog_drain(b, 5000), 0);
    backlog_free(b);
    struct sink *ds = sink_new_offline(&d, capture_unit, &cap2);
    snprintf(e.country, sizeof e.country, "KP");
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
    const char *zr[] = {"ZRANGE", "t:{s1}:bins:KP:cn", "0", "-1"};
    struct redis_reply *x = cmd(4, zr);
    const char *m = redis_reply_str(redis_reply_at(x, 0), &n);
    assert_int_equal(sink_parse_bin(m, n, &row), 0);
    redis_reply_free(x);
    assert_true(row.has_starts);
    assert_int_equal(row.c.starts_in, 2);
    assert_int_equal(row.c.starts_out, 1);
    assert_int_equal(row.c.ctl_pkts, 7);
    const char *sm[] = {"SMEMBERS", "t:sensors"};
    x = cmd(2, sm);
    assert_int_equal(redis_reply_len(x), 1);
    assert_string_equal(redis_reply_str(redis_reply_at(x, 0), &n), "s1");
    redis_reply_free(x);
    const char *hs[] = {"HGET", "t:state", "detect/KP/cn"};
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
    struct sink *s = offline(&c, &cap);
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
    assert_int_equal(hget("t:{s1}:totals:KP:cn", "pkts_in"), 3);
    /* Redis loses its data: the next unit is applied and the loss noticed */
    flushall();
    backlog_push(b, clone_unit(unit_for(s, &cap, 1010)));
    assert_int_equal(backlog_drain(b, 5000), 0);
    backlog_stats(b, &st);
    assert_int_equal(st.flushes, 2);
    assert_int_equal(st.data_lost, 1);
    assert_int_equal(hget("t:{s1}:totals:KP:cn", "pkts_in"), 3);
    backlog_free(b);
    free_captured(&cap);
    sink_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bin_unit_layout),
        cmocka_unit_test(records_unit),
        cmocka_unit_test(script_and_encoder_agree),
        cmocka_unit_test(bin_member_parse),
        cmocka_unit_test(cluster_keys_one_slot),
        cmocka_unit_test(backlog_drops_oldest),
        cmocka_unit_test(live_exactly_once),
        cmocka_unit_test(live_records),
        cmocka_unit_test(live_member_and_events_only),
        cmocka_unit_test(live_oom_then_lost_data),
        cmocka_unit_test(pairs_and_liveness),
    };
    return cmocka_run_group_tests(tests, live_setup, live_teardown);
}
