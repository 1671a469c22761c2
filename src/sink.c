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
// clang-format off
const char sink_script[] =
    "#!lua\n"
    "-- blackout flush unit: one closed bin of one sensor, applied at most once\n"
    "local FIXED_KEYS = {" SINK_FIXED_KEYS(LUA_NAME) "}\n"
    "local HEADER = {" SINK_HEADER(LUA_NAME) "}\n"
    "local SECTION_KEYS = {" SINK_SECTION_KEYS(LUA_NAME) "}\n"
    "local SECTION_ARGS = {" SINK_SECTION_ARGS(LUA_NAME) "}\n"
    "local EVENT_ARGS = {" SINK_EVENT_ARGS(LUA_NAME) "}\n"
    "local STATE_ARGS = {" SINK_STATE_ARGS(LUA_NAME) "}\n"
    "local n = 0\n"
    "local function call(...)\n"
    "  n = n + 1\n"
    "  return redis.call(...)\n"
    "end\n"
    "local function named(names, src, at)\n"
    "  local t = {}\n"
    "  for i, name in ipairs(names) do t[name] = src[at + i - 1] end\n"
    "  return t, at + #names\n"
    "end\n"
    "local K, k = named(FIXED_KEYS, KEYS, 1)\n"
    "local H, a = named(HEADER, ARGV, 1)\n"
    "local seq, prev, first = tonumber(H.seq), tonumber(H.prev), H.first == '1'\n"
    "local keep = tonumber(H.retention)\n"
    "call('SET', K.heartbeat, H.now, 'EX', H.heartbeat_ttl)\n"
    "local last = tonumber(call('GET', K.run) or '0')\n"
    "if last >= seq then return {0, n, 0} end\n"
    "if not first and last ~= prev then return {2, n, 0} end\n"
    "local lost = 0\n"
    "if first and last < prev then lost = 1 end\n"
    "local nsections = tonumber(H.nsections)\n"
    "if nsections > 0 then call('SADD', K.sensors, H.sensor) end\n"
    "local names = {}\n"
    "for r = 1, nsections do\n"
    "  local S, V\n"
    "  S, k = named(SECTION_KEYS, KEYS, k)\n"
    "  V, a = named(SECTION_ARGS, ARGV, a)\n"
    "  for i = 1, tonumber(V.ntotals) do\n"
    "    call('HINCRBY', S.totals, ARGV[a], ARGV[a + 1])\n"
    "    a = a + 2\n"
    "  end\n"
    "  if V.start ~= '' then\n"
    "    names[#names + 1] = V.name\n"
    "    local s = tonumber(V.start)\n"
    "    call('ZREMRANGEBYSCORE', S.bins, s, s)\n"
    "    call('ZADD', S.bins, s, V.member)\n"
    "    call('ZREMRANGEBYSCORE', S.bins, '-inf', '(' .. (s - keep))\n"
    "    call('EXPIRE', S.bins, keep)\n"
    "    local hosts = V.hosts\n"
    "    if #hosts > 0 then\n"
    "      local batch = {}\n"
    "      for i = 1, #hosts, 16 do\n"
    "        batch[#batch + 1] = string.sub(hosts, i, i + 15)\n"
    "        if #batch == 512 then call('PFADD', S.hosts, unpack(batch)); batch = {} end\n"
    "      end\n"
    "      if #batch > 0 then call('PFADD', S.hosts, unpack(batch)) end\n"
    "      call('EXPIRE', S.hosts, keep)\n"
    "    end\n"
    "  end\n"
    "  for i = 1, tonumber(V.nprotos) do\n"
    "    call('HINCRBY', S.proto, ARGV[a], ARGV[a + 1])\n"
    "    a = a + 2\n"
    "  end\n"
    "end\n"
    "if #names > 0 then call('SADD', K.pairs, unpack(names)) end\n"
    "for f = 1, tonumber(H.nflows) do\n"
    "  local np = tonumber(ARGV[a])\n"
    "  local cmd = {'XADD', K.flows, 'MAXLEN', '~', H.flows_maxlen, '*'}\n"
    "  for i = 1, 2 * np do cmd[6 + i] = ARGV[a + i] end\n"
    "  a = a + 1 + 2 * np\n"
    "  call(unpack(cmd))\n"
    "end\n"
    "for e = 1, tonumber(H.nevents) do\n"
    "  local E\n"
    "  E, a = named(EVENT_ARGS, ARGV, a)\n"
    "  call('XADD', K.alerts, 'MAXLEN', '~', H.alerts_maxlen, '*', 'event', E.event,\n"
    "       'country', E.country, 'route', E.route, 'sensor', E.sensor, 'since', E.since,\n"
    "       'detected', E.detected, 'cause', E.cause, 'json', E.json)\n"
    "  call('PUBLISH', H.channel, E.json)\n"
    "  call('HSET', K.state, E.field, E.state)\n"
    "end\n"
    "for i = 1, tonumber(H.nstates) do\n"
    "  local T\n"
    "  T, a = named(STATE_ARGS, ARGV, a)\n"
    "  call('HSET', K.state, T.field, T.state)\n"
    "  call('HSET', KEYS[k], 'state', T.state, 'since', T.since, 'baseline_pps',\n"
    "       T.baseline_pps, 'observed_pps', T.observed_pps, 'updated', H.now)\n"
    "  k = k + 1\n"
    "end\n"
    "call('SET', K.run, seq, 'EX', H.marker_ttl)\n"
    "return {1, n + 1, lost}\n";
// clang-format on

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

/* A (country, route) pair: its names, and the protocol counts of the unit being built. */
struct sink_pair {
    char cc[RECORD_CC_MAX], route[RECORD_NAME_MAX];
    bool live;
    struct proto_acc *protos;
    unsigned nprotos, cap_protos;
};

struct sink {
    struct sink_config cfg;
    char prefix[128], sensor[RECORD_SENSOR_MAX], run[40];
    char index_key[160];          /* cluster: Psensors, which the writer adds the sensor to */
    const char *register_argv[3]; /* SADD Psensors S */
    struct backlog *backlog;
    sink_commit_fn commit;
    void *commit_ctx;
    uint64_t seq;
    /* the unit being built */
    struct argbuf route_keys, route_args, flow_args, event_args, state_keys, state_args;
    unsigned nroutes_sec, nflows, nevents, nstates;
    struct sink_pair *pairs;
    unsigned npairs, cap_pairs;
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

int sink_key(char *buf, size_t size, const char *prefix, const char *sensor, const char *kind,
             const char *route)
{
    int n = route ? snprintf(buf, size, "%s{%s}:%s:%s", prefix, sensor, kind, route)
                  : snprintf(buf, size, "%s{%s}:%s", prefix, sensor, kind);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

int sink_pair_key(char *buf, size_t size, const char *prefix, const char *sensor, const char *kind,
                  const char *cc, const char *route)
{
    int n = snprintf(buf, size, "%s{%s}:%s:%s:%s", prefix, sensor, kind, cc, route);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

int sink_state_field(char *buf, size_t size, const char *sensor, const char *cc, const char *route)
{
    int n = strcmp(cc, "*") == 0 ? snprintf(buf, size, "%s/*", sensor)
                                 : snprintf(buf, size, "%s/%s/%s", sensor, cc, route);
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
    for (unsigned p = 0; p < s->npairs; p++)
        s->pairs[p].nprotos = 0;
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

int sink_shared_key(char *buf, size_t size, const char *prefix, const char *sensor,
                    enum sink_shared which, bool cluster)
{
    static const char *const flat[] = {"alerts", "state", "sensors"};
    static const char *const split[] = {"alerts", "states", "sensors"};

    if ((unsigned)which > SINK_SENSORS)
        return -1;
    if (cluster)
        return sink_key(buf, size, prefix, sensor, split[which], NULL);
    int n = snprintf(buf, size, "%s%s", prefix, flat[which]);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

static void fixed_keys(struct sink *s, struct argbuf *k)
{
    char v[SINK_NFIXED_KEYS][SLOT_MAX];
    const char *own[][2] = {{"run", s->run}, {"heartbeat", NULL}, {"flows", NULL}, {"pairs", NULL}};
    const unsigned own_at[] = {SINK_FK_run, SINK_FK_heartbeat, SINK_FK_flows, SINK_FK_pairs};
    const struct {
        unsigned at;
        enum sink_shared which;
    } shared[] = {{SINK_FK_alerts, SINK_ALERTS},
                  {SINK_FK_state, SINK_STATE},
                  {SINK_FK_sensors, SINK_SENSORS}};
    bool cluster = s->cfg.url.mode == BO_REDIS_CLUSTER;

    for (size_t i = 0; i < sizeof own_at / sizeof own_at[0]; i++)
        if (sink_key(v[own_at[i]], SLOT_MAX, s->prefix, s->sensor, own[i][0], own[i][1]) < 0)
            k->failed = true;
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
        if (sink_shared_key(v[shared[i].at], SLOT_MAX, s->prefix, s->sensor, shared[i].which,
                            cluster) < 0)
            k->failed = true;
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

/* One pair's section: its keys (SINK_SECTION_KEYS), its arguments (SINK_SECTION_ARGS), the
 * totals pairs, the protocol pairs. Without a bin (v NULL) only the protocols. */
static void pair_section(struct sink *s, unsigned pair, const struct bin_view *v)
{
    const struct sink_pair *sp = &s->pairs[pair];
    struct argbuf *a = &s->route_args;
    char keys[SINK_NSECTION_KEYS][SLOT_MAX], args[SINK_NSECTION_ARGS][SLOT_MAX] = {{0}};
    char hour[RECORD_NAME_MAX + 32];
    const struct bin_counts *c = v ? &v->rows[pair] : NULL;
    int64_t start = v ? v->start : 0;
    unsigned ntotals = rtotals(c);

    snprintf(hour, sizeof hour, "%s:%" PRId64, sp->route,
             start - ((start % SINK_HOSTS_HOUR) + SINK_HOSTS_HOUR) % SINK_HOSTS_HOUR);
    const char *key_route[SINK_NSECTION_KEYS] = {[SINK_SK_totals] = sp->route,
                                                 [SINK_SK_proto] = sp->route,
                                                 [SINK_SK_bins] = sp->route,
                                                 [SINK_SK_hosts] = hour};
    for (unsigned i = 0; i < SINK_NSECTION_KEYS; i++)
        if (sink_pair_key(keys[i], SLOT_MAX, s->prefix, s->sensor, sink_section_key_names[i],
                          sp->cc, key_route[i]) < 0)
            s->route_keys.failed = true;
    add_slots(&s->route_keys, keys, SINK_NSECTION_KEYS);
    snprintf(args[SINK_SA_name], SLOT_MAX, "%s/%s", sp->cc, sp->route);
    if (v) {
        snprintf(args[SINK_SA_start], SLOT_MAX, "%" PRId64, v->start);
        sink_format_bin(args[SINK_SA_member], SLOT_MAX, v->start, v->len,
                        (v->partial ? 1u : 0u) | (v->after_jump ? 2u : 0u), c);
    }
    snprintf(args[SINK_SA_ntotals], SLOT_MAX, "%u", ntotals);
    snprintf(args[SINK_SA_nprotos], SLOT_MAX, "%u", sp->nprotos);
    for (unsigned i = 0; i < SINK_NSECTION_ARGS; i++) {
        if (i == SINK_SA_hosts) /* binary: 16 bytes per address */
            arg_add(a, v ? v->hosts[pair] : NULL, v ? v->nhosts[pair] * 16 : 0);
        else
            arg_str(a, args[i]);
    }
    for (size_t i = 0; ntotals && i < BIN_NCOUNTERS; i++)
        if (bin_counters[i].uses & BIN_RTOTAL) {
            arg_str(a, bin_counters[i].total);
            arg_u64(a, bin_counter_get(c, i));
        }
    for (unsigned i = 0; i < sp->nprotos; i++) {
        arg_str(a, sp->protos[i].name);
        arg_u64(a, sp->protos[i].pkts);
    }
    s->nroutes_sec++;
}

void sink_bin(struct sink *s, const struct bin_view *v)
{
    for (unsigned p = 0; p < s->npairs; p++) {
        if (p < v->nrows && s->pairs[p].live)
            pair_section(s, p, v);
        else if (s->pairs[p].nprotos)
            pair_section(s, p, NULL);
    }
    commit(s, v->start);
}

void sink_send(struct sink *s)
{
    commit(s, INT64_MIN);
}

void sink_proto(struct sink *s, unsigned pair, const char *name, uint64_t pkts)
{
    if (pair >= s->npairs)
        return;
    struct sink_pair *sp = &s->pairs[pair];
    unsigned i;
    for (i = 0; i < sp->nprotos && strcmp(sp->protos[i].name, name) != 0; i++)
        ;
    if (i == sp->nprotos) {
        if (i == sp->cap_protos) { /* once per pair and protocol count reached */
            unsigned cap = sp->cap_protos ? sp->cap_protos * 2 : 8;
            struct proto_acc *p =
                cap <= SINK_PROTO_MAX ? realloc(sp->protos, cap * sizeof *p) : NULL;
            if (!p) {
                s->encode_errors++;
                return;
            }
            sp->protos = p;
            sp->cap_protos = cap;
        }
        text_copy(sp->protos[i].name, sizeof sp->protos[i].name, name);
        sp->protos[i].pkts = 0;
        sp->nprotos++;
    }
    sp->protos[i].pkts += pkts;
}

int sink_pair(struct sink *s, unsigned pair, const char *cc, const char *route)
{
    if (pair != s->npairs || pair >= SINK_PAIRS_MAX)
        return -1;
    if (s->npairs == s->cap_pairs) {
        unsigned cap = s->cap_pairs ? s->cap_pairs * 2 : 16;
        struct sink_pair *p = realloc(s->pairs, cap * sizeof *p);
        if (!p)
            return -1;
        s->pairs = p;
        s->cap_pairs = cap;
    }
    struct sink_pair *sp = &s->pairs[s->npairs++];
    memset(sp, 0, sizeof *sp);
    text_copy(sp->cc, sizeof sp->cc, cc);
    text_copy(sp->route, sizeof sp->route, route);
    sp->live = true;
    return 0;
}

void sink_pair_live(struct sink *s, unsigned pair, bool live)
{
    if (pair < s->npairs)
        s->pairs[pair].live = live;
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
    arg_u64(a, r->vlan != 0xffff ? 17 : 16);
    pair_str(a, "country", r->country);
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
    const char *sensor = e->sensor[0] ? e->sensor : s->sensor;
    snprintf(v[SINK_EA_event], SLOT_MAX, "%s", event_kind_name((enum event_kind)e->kind));
    snprintf(v[SINK_EA_country], SLOT_MAX, "%s", e->country);
    snprintf(v[SINK_EA_route], SLOT_MAX, "%s", e->route);
    snprintf(v[SINK_EA_sensor], SLOT_MAX, "%s", sensor);
    if (sink_state_field(v[SINK_EA_field], SLOT_MAX, sensor, e->country, e->route) < 0)
        a->failed = true;
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

int sink_route_state(struct sink *s, const char *cc, const char *route, const char *state,
                     int64_t since, double baseline_pps, double observed_pps)
{
    char v[SINK_NSTATE_ARGS][SLOT_MAX], key[SLOT_MAX];

    if (sink_pair_key(key, sizeof key, s->prefix, s->sensor, "state", cc, route) < 0 ||
        sink_state_field(v[SINK_ST_field], SLOT_MAX, s->sensor, cc, route) < 0)
        s->state_keys.failed = true;
    else
        arg_str(&s->state_keys, key);
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

/* Cluster: the writer keeps the sensor in the index Psensors (see sink.h). */
static void cluster_register(struct sink *s, struct backlog_config *bc)
{
    if (s->cfg.url.mode != BO_REDIS_CLUSTER ||
        sink_shared_key(s->index_key, sizeof s->index_key, s->prefix, s->sensor, SINK_SENSORS,
                        false) < 0)
        return;
    s->register_argv[0] = "SADD";
    s->register_argv[1] = s->index_key;
    s->register_argv[2] = s->sensor;
    bc->register_argc = 3;
    bc->register_argv = s->register_argv;
}

struct sink *sink_new(const struct sink_config *c, char *err, size_t errlen)
{
    char name[160], home[512];
    struct backlog_config bc = {
        .max_units = c->backlog,
        .max_bytes = c->backlog_bytes,
        .wait_when_full = c->wait_when_full,
        .script = sink_script,
        .min_replicas = c->min_replicas,
        .wait_ms = c->timeout_ms / 2 ? c->timeout_ms / 2 : 1,
    };

    snprintf(err, errlen, "out of memory for the Redis sink");
    struct sink *s = sink_alloc(c);
    if (!s)
        goto err;
    cluster_register(s, &bc);
    snprintf(name, sizeof name, "blackout-%s", c->sensor);
    struct redis *conn = redis_new(&c->url, c->timeout_ms, name);
    if (!conn)
        goto err;
    if (sink_key(home, sizeof home, s->prefix, s->sensor, "heartbeat", NULL) >= 0)
        redis_set_home(conn, home); /* every key of the sensor is in this slot */
    s->backlog = backlog_new(conn, &bc);
    if (!s->backlog || backlog_start(s->backlog, err, errlen) < 0)
        goto err;
    LOG(LOG_INFO, "Redis sink: run %s, prefix '%s', sensor '%s'", s->run, s->prefix, s->sensor);
    return s;
err:
    sink_free(s);
    return NULL;
}

/* Sends what is pending: protocol counts in sections without a bin, records. */
static void commit_pending(struct sink *s)
{
    for (unsigned p = 0; p < s->npairs; p++)
        if (s->pairs[p].nprotos)
            pair_section(s, p, NULL);
    commit(s, INT64_MIN);
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
    for (unsigned p = 0; p < s->npairs; p++)
        free(s->pairs[p].protos);
    free(s->pairs);
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
