/* sink — the key schema and the flush units. See sink.h. */
#include "sink.h"

#include "log.h"
#include "text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UNIT_MAX_BYTES (256u << 20) /* one unit never grows past this */
#define UNIT_FLOWS_MAX 20000u       /* flows beyond this go out in a unit of their own */
#define MARKER_TTL     (30 * 86400)
#define LUA_NAME(n)    "'" #n "',"
#define NAME_ROW(n)    #n,

const char *const sink_fixed_key_names[] = {SINK_FIXED_KEYS(NAME_ROW)};
const char *const sink_header_names[] = {SINK_HEADER(NAME_ROW)};
const char *const sink_section_key_names[] = {SINK_SECTION_KEYS(NAME_ROW)};
const char *const sink_section_arg_names[] = {SINK_SECTION_ARGS(NAME_ROW)};
const char *const sink_event_arg_names[] = {SINK_EVENT_ARGS(NAME_ROW)};
const char *const sink_state_arg_names[] = {SINK_STATE_ARGS(NAME_ROW)};

/* The layout is sink.h's tables: `named` reads a list of them from KEYS or ARGV by name. */
const char sink_script[] =
    "#!lua\n"
    "-- blackout flush unit: one closed bin of one sensor, applied at most once\n"
    "local FIXED_KEYS = {" SINK_FIXED_KEYS(
        LUA_NAME) "}\n"
                  "local HEADER = {" SINK_HEADER(
                      LUA_NAME) "}\n"
                                "local SECTION_KEYS = {" SINK_SECTION_KEYS(
                                    LUA_NAME) "}\n"
                                              "local SECTION_ARGS = {" SINK_SECTION_ARGS(
                                                  LUA_NAME) "}\n"
                                                            "local EVENT_ARGS = {" SINK_EVENT_ARGS(
                                                                LUA_NAME) "}\n"
                                                                          "local STATE_ARGS = "
                                                                          "{" SINK_STATE_ARGS(
                                                                              LUA_NAME) "}\n"
                                                                                        "local n = "
                                                                                        "0\n"
                                                                                        "local "
                                                                                        "function "
                                                                                        "call(...)"
                                                                                        "\n"
                                                                                        "  n = n + "
                                                                                        "1\n"
                                                                                        "  return "
                                                                                        "redis."
                                                                                        "call(...)"
                                                                                        "\n"
                                                                                        "end\n"
                                                                                        "local "
                                                                                        "function "
                                                                                        "named("
                                                                                        "names, "
                                                                                        "src, at)\n"
                                                                                        "  local t "
                                                                                        "= {}\n"
                                                                                        "  for i, "
                                                                                        "name in "
                                                                                        "ipairs("
                                                                                        "names) do "
                                                                                        "t[name] = "
                                                                                        "src[at + "
                                                                                        "i - 1] "
                                                                                        "end\n"
                                                                                        "  return "
                                                                                        "t, at + "
                                                                                        "#names\n"
                                                                                        "end\n"
                                                                                        "local K, "
                                                                                        "k = "
                                                                                        "named("
                                                                                        "FIXED_"
                                                                                        "KEYS, "
                                                                                        "KEYS, 1)\n"
                                                                                        "local H, "
                                                                                        "a = "
                                                                                        "named("
                                                                                        "HEADER, "
                                                                                        "ARGV, 1)\n"
                                                                                        "local "
                                                                                        "seq, "
                                                                                        "prev, "
                                                                                        "first = "
                                                                                        "tonumber("
                                                                                        "H.seq), "
                                                                                        "tonumber("
                                                                                        "H.prev), "
                                                                                        "H.first "
                                                                                        "== '1'\n"
                                                                                        "local "
                                                                                        "keep = "
                                                                                        "tonumber("
                                                                                        "H."
                                                                                        "retention)"
                                                                                        "\n"
                                                                                        "call('SET'"
                                                                                        ", "
                                                                                        "K."
                                                                                        "heartbeat,"
                                                                                        " H.now, "
                                                                                        "'EX', "
                                                                                        "H."
                                                                                        "heartbeat_"
                                                                                        "ttl)\n"
                                                                                        "local "
                                                                                        "last = "
                                                                                        "tonumber("
                                                                                        "call('GET'"
                                                                                        ", K.run) "
                                                                                        "or '0')\n"
                                                                                        "if last "
                                                                                        ">= seq "
                                                                                        "then "
                                                                                        "return "
                                                                                        "{0, n, 0} "
                                                                                        "end\n"
                                                                                        "if not "
                                                                                        "first and "
                                                                                        "last ~= "
                                                                                        "prev then "
                                                                                        "return "
                                                                                        "{2, n, 0} "
                                                                                        "end\n"
                                                                                        "local "
                                                                                        "lost = 0\n"
                                                                                        "if first "
                                                                                        "and last "
                                                                                        "< prev "
                                                                                        "then lost "
                                                                                        "= 1 end\n"
                                                                                        "local "
                                                                                        "nsections "
                                                                                        "= "
                                                                                        "tonumber("
                                                                                        "H."
                                                                                        "nsections)"
                                                                                        "\n"
                                                                                        "if "
                                                                                        "nsections "
                                                                                        "> 0 then "
                                                                                        "call('"
                                                                                        "SADD', "
                                                                                        "K.sensors,"
                                                                                        " H.sensor)"
                                                                                        " end\n"
                                                                                        "local "
                                                                                        "names = "
                                                                                        "{}\n"
                                                                                        "for r = "
                                                                                        "1, "
                                                                                        "nsections "
                                                                                        "do\n"
                                                                                        "  local "
                                                                                        "S, V\n"
                                                                                        "  S, k = "
                                                                                        "named("
                                                                                        "SECTION_"
                                                                                        "KEYS, "
                                                                                        "KEYS, k)\n"
                                                                                        "  V, a = "
                                                                                        "named("
                                                                                        "SECTION_"
                                                                                        "ARGS, "
                                                                                        "ARGV, a)\n"
                                                                                        "  "
                                                                                        "names[#"
                                                                                        "names + "
                                                                                        "1] = "
                                                                                        "V.name\n"
                                                                                        "  for i = "
                                                                                        "1, "
                                                                                        "tonumber("
                                                                                        "V.ntotals)"
                                                                                        " do\n"
                                                                                        "    "
                                                                                        "call('"
                                                                                        "HINCRBY', "
                                                                                        "S.totals, "
                                                                                        "ARGV[a], "
                                                                                        "ARGV[a + "
                                                                                        "1])\n"
                                                                                        "    a = a "
                                                                                        "+ 2\n"
                                                                                        "  end\n"
                                                                                        "  if "
                                                                                        "V.start "
                                                                                        "~= '' "
                                                                                        "then\n"
                                                                                        "    local "
                                                                                        "s = "
                                                                                        "tonumber("
                                                                                        "V.start)\n"
                                                                                        "    "
                                                                                        "call('"
                                                                                        "ZREMRANGEB"
                                                                                        "YSCORE', "
                                                                                        "S.bins, "
                                                                                        "s, s)\n"
                                                                                        "    "
                                                                                        "call('"
                                                                                        "ZADD', "
                                                                                        "S.bins, "
                                                                                        "s, "
                                                                                        "V.member)"
                                                                                        "\n"
                                                                                        "    "
                                                                                        "call('"
                                                                                        "ZREMRANGEB"
                                                                                        "YSCORE', "
                                                                                        "S.bins, "
                                                                                        "'-inf', "
                                                                                        "'(' .. (s "
                                                                                        "- keep))\n"
                                                                                        "    "
                                                                                        "call('"
                                                                                        "EXPIRE', "
                                                                                        "S.bins, "
                                                                                        "keep)\n"
                                                                                        "    local "
                                                                                        "hosts = "
                                                                                        "V.hosts\n"
                                                                                        "    if "
                                                                                        "#hosts > "
                                                                                        "0 then\n"
                                                                                        "      "
                                                                                        "local "
                                                                                        "batch = "
                                                                                        "{}\n"
                                                                                        "      for "
                                                                                        "i = 1, "
                                                                                        "#hosts, "
                                                                                        "16 do\n"
                                                                                        "        "
                                                                                        "batch[#"
                                                                                        "batch + "
                                                                                        "1] = "
                                                                                        "string."
                                                                                        "sub(hosts,"
                                                                                        " i, i + "
                                                                                        "15)\n"
                                                                                        "        "
                                                                                        "if #batch "
                                                                                        "== 512 "
                                                                                        "then "
                                                                                        "call('"
                                                                                        "PFADD', "
                                                                                        "S.hosts, "
                                                                                        "unpack("
                                                                                        "batch)); "
                                                                                        "batch = "
                                                                                        "{} end\n"
                                                                                        "      "
                                                                                        "end\n"
                                                                                        "      if "
                                                                                        "#batch > "
                                                                                        "0 then "
                                                                                        "call('"
                                                                                        "PFADD', "
                                                                                        "S.hosts, "
                                                                                        "unpack("
                                                                                        "batch)) "
                                                                                        "end\n"
                                                                                        "      "
                                                                                        "call('"
                                                                                        "EXPIRE', "
                                                                                        "S.hosts, "
                                                                                        "keep)\n"
                                                                                        "    end\n"
                                                                                        "  end\n"
                                                                                        "  for i = "
                                                                                        "1, "
                                                                                        "tonumber("
                                                                                        "V.nprotos)"
                                                                                        " do\n"
                                                                                        "    "
                                                                                        "call('"
                                                                                        "HINCRBY', "
                                                                                        "S.proto, "
                                                                                        "ARGV[a], "
                                                                                        "ARGV[a + "
                                                                                        "1])\n"
                                                                                        "    a = a "
                                                                                        "+ 2\n"
                                                                                        "  end\n"
                                                                                        "end\n"
                                                                                        "if #names "
                                                                                        "> 0 then "
                                                                                        "call('"
                                                                                        "SADD', "
                                                                                        "K.routes, "
                                                                                        "unpack("
                                                                                        "names)) "
                                                                                        "end\n"
                                                                                        "for f = "
                                                                                        "1, "
                                                                                        "tonumber("
                                                                                        "H.nflows) "
                                                                                        "do\n"
                                                                                        "  local "
                                                                                        "np = "
                                                                                        "tonumber("
                                                                                        "ARGV[a])\n"
                                                                                        "  local "
                                                                                        "cmd = "
                                                                                        "{'XADD', "
                                                                                        "K.flows, "
                                                                                        "'MAXLEN', "
                                                                                        "'~', "
                                                                                        "H.flows_"
                                                                                        "maxlen, "
                                                                                        "'*'}\n"
                                                                                        "  for i = "
                                                                                        "1, 2 * np "
                                                                                        "do cmd[6 "
                                                                                        "+ i] = "
                                                                                        "ARGV[a + "
                                                                                        "i] end\n"
                                                                                        "  a = a + "
                                                                                        "1 + 2 * "
                                                                                        "np\n"
                                                                                        "  "
                                                                                        "call("
                                                                                        "unpack("
                                                                                        "cmd))\n"
                                                                                        "end\n"
                                                                                        "for e = "
                                                                                        "1, "
                                                                                        "tonumber("
                                                                                        "H.nevents)"
                                                                                        " do\n"
                                                                                        "  local "
                                                                                        "E\n"
                                                                                        "  E, a = "
                                                                                        "named("
                                                                                        "EVENT_"
                                                                                        "ARGS, "
                                                                                        "ARGV, a)\n"
                                                                                        "  "
                                                                                        "call('"
                                                                                        "XADD', "
                                                                                        "K.alerts, "
                                                                                        "'MAXLEN', "
                                                                                        "'~', "
                                                                                        "H.alerts_"
                                                                                        "maxlen, "
                                                                                        "'*', "
                                                                                        "'event', "
                                                                                        "E.event,\n"
                                                                                        "       "
                                                                                        "'route', "
                                                                                        "E.route, "
                                                                                        "'sensor', "
                                                                                        "E.sensor, "
                                                                                        "'since', "
                                                                                        "E.since, "
                                                                                        "'detected'"
                                                                                        ", "
                                                                                        "E."
                                                                                        "detected,"
                                                                                        "\n"
                                                                                        "       "
                                                                                        "'cause', "
                                                                                        "E.cause, "
                                                                                        "'json', "
                                                                                        "E.json)\n"
                                                                                        "  "
                                                                                        "call('"
                                                                                        "PUBLISH', "
                                                                                        "H.channel,"
                                                                                        " E.json)\n"
                                                                                        "  "
                                                                                        "call('"
                                                                                        "HSET', "
                                                                                        "K.state, "
                                                                                        "E.sensor "
                                                                                        ".. '/' .. "
                                                                                        "E.route, "
                                                                                        "E.state)\n"
                                                                                        "end\n"
                                                                                        "for i = "
                                                                                        "1, "
                                                                                        "tonumber("
                                                                                        "H.nstates)"
                                                                                        " do\n"
                                                                                        "  local "
                                                                                        "T\n"
                                                                                        "  T, a = "
                                                                                        "named("
                                                                                        "STATE_"
                                                                                        "ARGS, "
                                                                                        "ARGV, a)\n"
                                                                                        "  "
                                                                                        "call('"
                                                                                        "HSET', "
                                                                                        "K.state, "
                                                                                        "H.sensor "
                                                                                        ".. '/' .. "
                                                                                        "T.route, "
                                                                                        "T.state)\n"
                                                                                        "  "
                                                                                        "call('"
                                                                                        "HSET', "
                                                                                        "KEYS[k], "
                                                                                        "'state', "
                                                                                        "T.state, "
                                                                                        "'since', "
                                                                                        "T.since, "
                                                                                        "'baseline_"
                                                                                        "pps',\n"
                                                                                        "       "
                                                                                        "T."
                                                                                        "baseline_"
                                                                                        "pps, "
                                                                                        "'observed_"
                                                                                        "pps', "
                                                                                        "T."
                                                                                        "observed_"
                                                                                        "pps, "
                                                                                        "'updated',"
                                                                                        " H.now)\n"
                                                                                        "  k = k + "
                                                                                        "1\n"
                                                                                        "end\n"
                                                                                        "call('SET'"
                                                                                        ", K.run, "
                                                                                        "seq, "
                                                                                        "'EX', "
                                                                                        "H.marker_"
                                                                                        "ttl)\n"
                                                                                        "return "
                                                                                        "{1, n + "
                                                                                        "1, "
                                                                                        "lost}\n";

/* A growing list of binary-safe arguments. */
struct argbuf {
    char *data;
    size_t len, cap;
    size_t *off, *lens;
    size_t n, capn;
    bool failed;
};

struct proto_acc {
    char name[RECORD_NAME_MAX];
    uint64_t pkts;
};

struct sink {
    struct sink_config cfg;
    char prefix[128], sensor[RECORD_SENSOR_MAX], run[40];
    struct backlog *backlog;
    sink_commit_fn commit;
    void *commit_ctx;
    uint64_t seq;
    /* the unit being built */
    struct argbuf route_keys, route_args, flow_args, event_args, state_keys, state_args;
    unsigned nroutes_sec, nflows, nevents, nstates;
    char names[SINK_ROUTES_MAX][RECORD_NAME_MAX];
    struct proto_acc *protos; /* [SINK_ROUTES_MAX][SINK_PROTO_MAX] */
    unsigned *nprotos;
    uint64_t encode_errors;
    bool warned_encode;
};

/* ---- argument lists ---- */

static void arg_free(struct argbuf *a)
{
    free(a->data);
    free(a->off);
    free(a->lens);
    memset(a, 0, sizeof *a);
}

static void arg_clear(struct argbuf *a)
{
    a->len = a->n = 0;
    a->failed = false;
}

static bool arg_reserve(struct argbuf *a, size_t bytes)
{
    if (a->n == a->capn) {
        size_t capn = a->capn ? a->capn * 2 : 64;
        size_t *off = realloc(a->off, capn * sizeof *off);
        if (off)
            a->off = off;
        size_t *lens = off ? realloc(a->lens, capn * sizeof *lens) : NULL;
        if (!lens)
            return false;
        a->lens = lens;
        a->capn = capn;
    }
    if (a->len + bytes > a->cap) {
        size_t cap = a->cap ? a->cap : 1024;
        while (cap < a->len + bytes)
            cap *= 2;
        char *d = cap <= UNIT_MAX_BYTES ? realloc(a->data, cap) : NULL;
        if (!d)
            return false;
        a->data = d;
        a->cap = cap;
    }
    return true;
}

static void arg_add(struct argbuf *a, const void *p, size_t n)
{
    if (a->failed || !arg_reserve(a, n)) {
        a->failed = true;
        return;
    }
    if (n)
        memcpy(a->data + a->len, p, n);
    a->off[a->n] = a->len;
    a->lens[a->n++] = n;
    a->len += n;
}

static void arg_str(struct argbuf *a, const char *s)
{
    arg_add(a, s, strlen(s));
}

static void arg_u64(struct argbuf *a, uint64_t v)
{
    char b[24];
    arg_add(a, b, (size_t)snprintf(b, sizeof b, "%" PRIu64, v));
}

static void arg_double(struct argbuf *a, double v, int decimals)
{
    char b[64];
    int n = snprintf(b, sizeof b, "%.*f", decimals, v);
    arg_add(a, b, n > 0 && (size_t)n < sizeof b ? (size_t)n : 0);
}

static void arg_key(struct argbuf *a, const struct sink *s, const char *kind, const char *route)
{
    char k[512];
    int n = sink_key(k, sizeof k, s->prefix, s->sensor, kind, route);
    if (n < 0)
        a->failed = true;
    else
        arg_add(a, k, (size_t)n);
}

int sink_key(char *buf, size_t size, const char *prefix, const char *sensor, const char *kind,
             const char *route)
{
    int n = route ? snprintf(buf, size, "%s{%s}:%s:%s", prefix, sensor, kind, route)
                  : snprintf(buf, size, "%s{%s}:%s", prefix, sensor, kind);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

/* ---- units ---- */

static struct argbuf *sections(struct sink *s, unsigned i)
{
    struct argbuf *list[] = {&s->route_keys, &s->route_args, &s->flow_args,
                             &s->event_args, &s->state_keys, &s->state_args};
    return i < 6 ? list[i] : NULL;
}

static bool unit_empty(const struct sink *s)
{
    return s->nroutes_sec + s->nflows + s->nevents + s->nstates == 0;
}

static bool building_failed(struct sink *s)
{
    for (unsigned i = 0; i < 6; i++)
        if (sections(s, i)->failed)
            return true;
    return false;
}

static void reset_unit(struct sink *s)
{
    for (unsigned i = 0; i < 6; i++)
        arg_clear(sections(s, i));
    s->nroutes_sec = s->nflows = s->nevents = s->nstates = 0;
    memset(s->nprotos, 0, s->cfg.nroutes * sizeof *s->nprotos);
}

/* A list of n text arguments filled by index (the positions of one of sink.h's tables). */
#define SLOT_MAX 512 /* > SINK_BIN_MEMBER_MAX, keys, names */
static void add_slots(struct argbuf *a, char (*v)[SLOT_MAX], unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        arg_str(a, v[i]);
}

static void header_args(struct sink *s, struct argbuf *h, uint64_t seq)
{
    char v[SINK_NHEADER][SLOT_MAX];
    const uint64_t nums[][2] = {
        {SINK_HDR_seq, seq},
        {SINK_HDR_prev, 0}, /* prev and first: filled by the writer */
        {SINK_HDR_first, 0},
        {SINK_HDR_heartbeat_ttl, s->cfg.heartbeat_ttl},
        {SINK_HDR_retention, s->cfg.retention},
        {SINK_HDR_marker_ttl, MARKER_TTL},
        {SINK_HDR_flows_maxlen, s->cfg.stream_maxlen},
        {SINK_HDR_alerts_maxlen, s->cfg.alerts_maxlen},
        {SINK_HDR_nsections, s->nroutes_sec},
        {SINK_HDR_nflows, s->nflows},
        {SINK_HDR_nevents, s->nevents},
        {SINK_HDR_nstates, s->nstates},
    };

    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        snprintf(v[nums[i][0]], SLOT_MAX, "%" PRIu64, nums[i][1]);
    snprintf(v[SINK_HDR_now], SLOT_MAX, "%" PRId64, (int64_t)time(NULL));
    snprintf(v[SINK_HDR_sensor], SLOT_MAX, "%s", s->sensor);
    snprintf(v[SINK_HDR_channel], SLOT_MAX, "%sevents", s->prefix);
    add_slots(h, v, SINK_NHEADER);
}

static void fixed_keys(struct sink *s, struct argbuf *k)
{
    char v[SINK_NFIXED_KEYS][SLOT_MAX];
    const char *own[][2] = {
        {"run", s->run}, {"heartbeat", NULL}, {"flows", NULL}, {"routes", NULL}};
    const unsigned own_at[] = {SINK_FK_run, SINK_FK_heartbeat, SINK_FK_flows, SINK_FK_routes};

    for (size_t i = 0; i < sizeof own_at / sizeof own_at[0]; i++)
        if (sink_key(v[own_at[i]], SLOT_MAX, s->prefix, s->sensor, own[i][0], own[i][1]) < 0)
            k->failed = true;
    snprintf(v[SINK_FK_alerts], SLOT_MAX, "%salerts", s->prefix);
    snprintf(v[SINK_FK_state], SLOT_MAX, "%sstate", s->prefix);
    snprintf(v[SINK_FK_sensors], SLOT_MAX, "%ssensors", s->prefix);
    add_slots(k, v, SINK_NFIXED_KEYS);
}

/* Copies lists into one block: argv[first..] point into it. */
static char *place(struct backlog_unit *u, int *at, char *p, const struct argbuf *a)
{
    for (size_t i = 0; i < a->n; i++) {
        memcpy(p, a->data + a->off[i], a->lens[i]);
        u->argv[*at] = p;
        u->lens[(*at)++] = a->lens[i];
        p += a->lens[i];
    }
    return p;
}

static struct backlog_unit *build_unit(struct sink *s)
{
    struct argbuf fk = {0}, hd = {0};
    struct backlog_unit *u = NULL;
    char numkeys[24];

    fixed_keys(s, &fk);
    header_args(s, &hd, s->seq + 1);
    const struct argbuf *order[] = {
        &fk,           &s->route_keys, &s->state_keys, &hd, &s->route_args,
        &s->flow_args, &s->event_args, &s->state_args};
    size_t nargs = 3, bytes = 0, nkeys = fk.n + s->route_keys.n + s->state_keys.n;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        nargs += order[i]->n;
        bytes += order[i]->len;
    }
    if (fk.failed || hd.failed || building_failed(s) || nargs > INT32_MAX)
        goto out;
    size_t nk = (size_t)snprintf(numkeys, sizeof numkeys, "%zu", nkeys);
    size_t total = sizeof *u + nargs * (sizeof *u->argv + sizeof *u->lens) + bytes + nk;
    u = calloc(1, total);
    if (!u)
        goto out;
    u->argv = (const char **)(u + 1);
    u->lens = (size_t *)(u->argv + nargs);
    char *p = (char *)(u->lens + nargs);
    memcpy(p, numkeys, nk);
    u->argv[2] = p;
    u->lens[2] = nk;
    p += nk;
    int at = 3;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        p = place(u, &at, p, order[i]);
    u->argc = at;
    u->idx_prev = 3 + (int)nkeys + SINK_HDR_prev;
    u->idx_first = 3 + (int)nkeys + SINK_HDR_first;
    u->bytes = total;
    u->seq = ++s->seq;
    u->bin_start = INT64_MIN;
    u->nflows = s->nflows;
    u->nevents = s->nevents;
out:
    arg_free(&fk);
    arg_free(&hd);
    return u;
}

/* Closes the unit being built and hands it on. */
static void commit(struct sink *s, int64_t bin_start)
{
    if (unit_empty(s))
        return;
    struct backlog_unit *u = build_unit(s);
    if (!u) {
        s->encode_errors++;
        if (!s->warned_encode)
            LOG(LOG_ERR,
                "a Redis flush unit could not be encoded (out of memory or larger than "
                "%u MB): its bin is not written",
                UNIT_MAX_BYTES >> 20);
        s->warned_encode = true;
    } else {
        u->bin_start = bin_start;
        u->nbins = bin_start != INT64_MIN;
        if (s->commit)
            s->commit(s->commit_ctx, u);
        else
            backlog_push(s->backlog, u);
    }
    reset_unit(s);
}

/* The Redis totals pairs of a bin: every BIN_RTOTAL counter when any of them moved, else
 * none (nothing to add). */
static unsigned rtotals(const struct bin_counts *c)
{
    unsigned n = 0;
    bool moved = false;

    for (size_t i = 0; c && i < BIN_NCOUNTERS; i++)
        if (bin_counters[i].uses & BIN_RTOTAL) {
            n++;
            moved = moved || bin_counter_get(c, i) != 0;
        }
    return moved ? n : 0;
}

/* One route section: its keys (SINK_SECTION_KEYS), its arguments (SINK_SECTION_ARGS), the
 * totals pairs, the protocol pairs. Without a bin (v NULL) only the protocols. */
static void route_section(struct sink *s, unsigned r, const struct bin_view *v)
{
    const char *name = s->names[r];
    struct argbuf *a = &s->route_args;
    char keys[SINK_NSECTION_KEYS][SLOT_MAX], args[SINK_NSECTION_ARGS][SLOT_MAX] = {{0}};
    char hk[RECORD_NAME_MAX + 32];
    const struct bin_counts *c = v ? &v->routes[r] : NULL;
    unsigned ntotals = rtotals(c);

    snprintf(hk, sizeof hk, "%s:%" PRId64, name, v ? v->start : 0);
    const char *key_route[SINK_NSECTION_KEYS] = {[SINK_SK_totals] = name,
                                                 [SINK_SK_proto] = name,
                                                 [SINK_SK_bins] = name,
                                                 [SINK_SK_hosts] = hk};
    for (unsigned i = 0; i < SINK_NSECTION_KEYS; i++)
        if (sink_key(keys[i], SLOT_MAX, s->prefix, s->sensor, sink_section_key_names[i],
                     key_route[i]) < 0)
            s->route_keys.failed = true;
    add_slots(&s->route_keys, keys, SINK_NSECTION_KEYS);
    snprintf(args[SINK_SA_name], SLOT_MAX, "%s", name);
    if (v) {
        snprintf(args[SINK_SA_start], SLOT_MAX, "%" PRId64, v->start);
        sink_format_bin(args[SINK_SA_member], SLOT_MAX, v->start, v->len,
                        (v->partial ? 1u : 0u) | (v->after_jump ? 2u : 0u), c);
    }
    snprintf(args[SINK_SA_ntotals], SLOT_MAX, "%u", ntotals);
    snprintf(args[SINK_SA_nprotos], SLOT_MAX, "%u", s->nprotos[r]);
    for (unsigned i = 0; i < SINK_NSECTION_ARGS; i++) {
        if (i == SINK_SA_hosts) /* binary: 16 bytes per address */
            arg_add(a, v ? v->hosts[r] : NULL, v ? v->nhosts[r] * 16 : 0);
        else
            arg_str(a, args[i]);
    }
    for (size_t i = 0; ntotals && i < BIN_NCOUNTERS; i++)
        if (bin_counters[i].uses & BIN_RTOTAL) {
            arg_str(a, bin_counters[i].total);
            arg_u64(a, bin_counter_get(c, i));
        }
    const struct proto_acc *p = &s->protos[(size_t)r * SINK_PROTO_MAX];
    for (unsigned i = 0; i < s->nprotos[r]; i++) {
        arg_str(a, p[i].name);
        arg_u64(a, p[i].pkts);
    }
    s->nroutes_sec++;
}

void sink_bin(struct sink *s, const struct bin_view *v)
{
    unsigned n = v->nroutes < s->cfg.nroutes ? v->nroutes : s->cfg.nroutes;

    for (unsigned r = 0; r < n; r++)
        route_section(s, r, v);
    commit(s, v->start);
}

void sink_send(struct sink *s)
{
    commit(s, INT64_MIN);
}

void sink_proto(struct sink *s, unsigned route, const char *name, uint64_t pkts)
{
    if (route >= s->cfg.nroutes)
        return;
    struct proto_acc *p = &s->protos[(size_t)route * SINK_PROTO_MAX];
    unsigned i, n = s->nprotos[route];
    for (i = 0; i < n && strcmp(p[i].name, name) != 0; i++)
        ;
    if (i == n) {
        if (n == SINK_PROTO_MAX) {
            s->encode_errors++;
            return;
        }
        text_copy(p[i].name, sizeof p[i].name, name);
        p[i].pkts = 0;
        s->nprotos[route]++;
    }
    p[i].pkts += pkts;
}

/* ---- records ---- */

static int record_done(struct sink *s, const struct argbuf *a)
{
    if (!a->failed)
        return 0;
    s->encode_errors++;
    return -1;
}

static void pair_str(struct argbuf *a, const char *k, const char *v)
{
    arg_str(a, k);
    arg_str(a, v);
}

static void pair_u64(struct argbuf *a, const char *k, uint64_t v)
{
    arg_str(a, k);
    arg_u64(a, v);
}

int sink_flow(struct sink *s, const struct flow_record *r)
{
    static const char *const ends[] = {"idle", "fin", "active", "exit", "evict"};
    struct argbuf *a = &s->flow_args;
    char addr[64];

    if (s->nflows >= UNIT_FLOWS_MAX)
        commit(s, INT64_MIN);
    arg_u64(a, r->vlan != 0xffff ? 16 : 15);
    pair_str(a, "route", r->route);
    pair_str(a, "proto", r->proto);
    pair_u64(a, "ip_proto", r->l4_proto);
    pair_str(a, "src", record_addr(r->src, addr, sizeof addr));
    pair_u64(a, "sport", r->sport);
    pair_str(a, "dst", record_addr(r->dst, addr, sizeof addr));
    pair_u64(a, "dport", r->dport);
    arg_str(a, "host");
    arg_add(a, r->host, strnlen(r->host, sizeof r->host)); /* bytes from packets, as they are */
    pair_u64(a, "pkts_in", r->pkts_in);
    pair_u64(a, "pkts_out", r->pkts_out);
    pair_u64(a, "bytes_in", r->bytes_in);
    pair_u64(a, "bytes_out", r->bytes_out);
    arg_str(a, "first");
    arg_double(a, (double)r->first_us / 1e6, 6);
    arg_str(a, "last");
    arg_double(a, (double)r->last_us / 1e6, 6);
    pair_str(a, "end", r->end <= FLOW_END_EVICT ? ends[r->end] : "?");
    if (r->vlan != 0xffff)
        pair_u64(a, "vlan", r->vlan);
    s->nflows++;
    return record_done(s, a);
}

static const char *event_state(enum event_kind k)
{
    if (k == EVENT_SENSOR_BLIND)
        return "blind";
    return event_is_down(k) ? "down" : "up";
}

int sink_event(struct sink *s, const struct event *e)
{
    struct argbuf *a = &s->event_args;
    char v[SINK_NEVENT_ARGS][SLOT_MAX];
    struct json j;

    json_init(&j);
    event_json(e, &j);
    snprintf(v[SINK_EA_event], SLOT_MAX, "%s", event_kind_name((enum event_kind)e->kind));
    snprintf(v[SINK_EA_route], SLOT_MAX, "%s", e->route);
    snprintf(v[SINK_EA_sensor], SLOT_MAX, "%s", e->sensor[0] ? e->sensor : s->sensor);
    snprintf(v[SINK_EA_since], SLOT_MAX, "%" PRId64, e->since);
    snprintf(v[SINK_EA_detected], SLOT_MAX, "%" PRId64, e->detected);
    snprintf(v[SINK_EA_cause], SLOT_MAX, "%s",
             e->kind == EVENT_COUNTRY_DOWN ? event_cause_name((enum event_cause)e->cause) : "");
    snprintf(v[SINK_EA_state], SLOT_MAX, "%s", event_state((enum event_kind)e->kind));
    for (unsigned i = 0; i < SINK_NEVENT_ARGS; i++) {
        if (i != SINK_EA_json)
            arg_str(a, v[i]);
        else if (json_ok(&j))
            arg_add(a, j.buf, j.len);
        else
            a->failed = true;
    }
    json_free(&j);
    s->nevents++;
    return record_done(s, a);
}

int sink_route_state(struct sink *s, const char *route, const char *state, int64_t since,
                     double baseline_pps, double observed_pps)
{
    char v[SINK_NSTATE_ARGS][SLOT_MAX];

    arg_key(&s->state_keys, s, "state", route);
    snprintf(v[SINK_ST_route], SLOT_MAX, "%s", route);
    snprintf(v[SINK_ST_state], SLOT_MAX, "%s", state);
    snprintf(v[SINK_ST_since], SLOT_MAX, "%" PRId64, since);
    snprintf(v[SINK_ST_baseline_pps], SLOT_MAX, "%.3f", baseline_pps);
    snprintf(v[SINK_ST_observed_pps], SLOT_MAX, "%.3f", observed_pps);
    add_slots(&s->state_args, v, SINK_NSTATE_ARGS);
    s->nstates++;
    if (s->state_keys.failed)
        return record_done(s, &s->state_keys);
    return record_done(s, &s->state_args);
}

/* ---- life cycle ---- */

/* A run id no earlier run of this sensor has used: random bits, else time and pid. */
static void new_run_id(char *buf, size_t size)
{
    uint8_t r[12];
    struct timespec ts;

    if (getentropy(r, sizeof r) != 0) {
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x =
            (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 40;
        memcpy(r, &x, 8);
        memset(r + 8, 0, 4);
    }
    for (size_t i = 0; i < sizeof r && 2 * i + 2 < size; i++)
        snprintf(buf + 2 * i, size - 2 * i, "%02x", r[i]);
}

static struct sink *sink_alloc(const struct sink_config *c)
{
    struct sink *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->cfg = *c;
    text_copy(s->prefix, sizeof s->prefix, c->prefix);
    text_copy(s->sensor, sizeof s->sensor, c->sensor);
    new_run_id(s->run, sizeof s->run);
    s->protos = calloc((size_t)SINK_ROUTES_MAX * SINK_PROTO_MAX, sizeof *s->protos);
    s->nprotos = calloc(SINK_ROUTES_MAX, sizeof *s->nprotos);
    if (!s->protos || !s->nprotos || sink_set_routes(s, c->nroutes, c->route_names) < 0) {
        sink_free(s);
        return NULL;
    }
    return s;
}

struct sink *sink_new_offline(const struct sink_config *c, sink_commit_fn fn, void *ctx)
{
    struct sink *s = sink_alloc(c);
    if (s) {
        s->commit = fn;
        s->commit_ctx = ctx;
    }
    return s;
}

struct sink *sink_new(const struct sink_config *c, char *err, size_t errlen)
{
    char name[160];
    struct backlog_config bc = {
        .max_units = c->backlog,
        .max_bytes = c->backlog_bytes,
        .wait_when_full = c->wait_when_full,
        .script = sink_script,
    };

    snprintf(err, errlen, "out of memory for the Redis sink");
    struct sink *s = sink_alloc(c);
    if (!s)
        goto err;
    snprintf(name, sizeof name, "blackout-%s", c->sensor);
    struct redis *conn = redis_new(&c->url, c->timeout_ms, name);
    if (!conn)
        goto err;
    s->backlog = backlog_new(conn, &bc);
    if (!s->backlog || backlog_start(s->backlog, err, errlen) < 0)
        goto err;
    LOG(LOG_INFO, "Redis sink: run %s, prefix '%s', sensor '%s'", s->run, s->prefix, s->sensor);
    return s;
err:
    sink_free(s);
    return NULL;
}

/* Sends what is pending: protocol counts in route sections without a bin, records. */
static void commit_pending(struct sink *s)
{
    bool protos = false;

    for (unsigned r = 0; r < s->cfg.nroutes; r++)
        protos |= s->nprotos[r] > 0;
    for (unsigned r = 0; protos && r < s->cfg.nroutes; r++)
        route_section(s, r, NULL);
    commit(s, INT64_MIN);
}

int sink_set_routes(struct sink *s, unsigned nroutes, const char *const *names)
{
    if (nroutes > SINK_ROUTES_MAX)
        return -1;
    commit_pending(s);
    for (unsigned r = 0; r < nroutes; r++)
        text_copy(s->names[r], sizeof s->names[r], names[r]);
    s->cfg.nroutes = nroutes;
    s->cfg.route_names = NULL;
    return 0;
}

uint64_t sink_close(struct sink *s, uint64_t timeout_ms)
{
    commit_pending(s);
    return s->backlog ? backlog_drain(s->backlog, timeout_ms) : 0;
}

bool sink_failed(struct sink *s, char *err, size_t errlen)
{
    return s->backlog && backlog_failed(s->backlog, err, errlen);
}

void sink_stats(struct sink *s, struct backlog_stats *st)
{
    if (s->backlog) {
        backlog_stats(s->backlog, st);
    } else {
        memset(st, 0, sizeof *st);
        st->pending_first_bin = st->pending_last_bin = INT64_MIN;
    }
    st->errors += s->encode_errors;
}

const char *sink_where(const struct sink *s, char *buf, size_t size)
{
    return redis_url_where(&s->cfg.url, buf, size);
}

void sink_free(struct sink *s)
{
    if (!s)
        return;
    backlog_free(s->backlog);
    for (unsigned i = 0; i < 6; i++)
        arg_free(sections(s, i));
    free(s->protos);
    free(s->nprotos);
    memset(&s->cfg.url, 0, sizeof s->cfg.url);
    free(s);
}

/* Field f of a member (f >= 2, not the flags) holds counter member_counter(f). */
static size_t member_counter(size_t f)
{
    return f < SINK_BIN_FLAGS_AT ? f - 2 : f - 3;
}

size_t sink_format_bin(char *buf, size_t size, int64_t start, uint64_t len, uint64_t flags,
                       const struct bin_counts *c)
{
    size_t n = (size_t)snprintf(buf, size, "%" PRId64 ":%" PRIu64, start, len);

    for (size_t f = 2; f < SINK_BIN_FIELDS && n < size; f++) {
        uint64_t v = f == SINK_BIN_FLAGS_AT ? flags : bin_counter_get(c, member_counter(f));
        n += (size_t)snprintf(buf + n, size - n, ":%" PRIu64, v);
    }
    return n < size ? n : size - 1;
}

int sink_parse_bin(const char *str, size_t n, struct sink_bin_row *row)
{
    uint64_t v[SINK_BIN_FIELDS] = {0};
    size_t i = 0, f = 0;
    bool neg = n > 0 && str[0] == '-';

    for (i = neg; f < SINK_BIN_FIELDS; f++) {
        char num[24];
        size_t k = 0;
        while (i < n && str[i] != ':' && k + 1 < sizeof num)
            num[k++] = str[i++];
        num[k] = '\0';
        if (text_parse_u64(num, 0, f == 0 ? (uint64_t)INT64_MAX : UINT64_MAX, &v[f]) < 0)
            return -1;
        if (i == n && (f + 1 == SINK_BIN_FIELDS_OLD || f + 1 >= SINK_BIN_FIELDS_START))
            break; /* a member of an earlier version: the later counters are 0 */
        if (f + 1 < SINK_BIN_FIELDS && (i >= n || str[i++] != ':'))
            return -1;
    }
    if (i != n)
        return -1;
    memset(row, 0, sizeof *row);
    row->start = neg ? -(int64_t)v[0] : (int64_t)v[0];
    row->len = v[1];
    row->flags = v[SINK_BIN_FLAGS_AT];
    for (size_t k = 2; k < SINK_BIN_FIELDS; k++)
        if (k != SINK_BIN_FLAGS_AT)
            bin_counter_set(&row->c, member_counter(k), v[k]);
    row->has_starts = f + 1 >= SINK_BIN_FIELDS_START;
    return 0;
}
