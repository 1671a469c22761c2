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
#define NFIXED_KEYS    7
#define NHEADER_ARGS   15
#define ROUTE_KEYS     4

/* KEYS: 1 run marker, 2 heartbeat, 3 flows, 4 alerts, 5 state, 6 sensors, 7 routes, then
 * per route section totals proto bins hosts, then one state hash per route state.
 * ARGV: 1 seq, 2 prev, 3 first, 4 now, 5 heartbeat ttl, 6 retention, 7 marker ttl,
 * 8 flows maxlen, 9 alerts maxlen, 10 sensor, 11 events channel, 12..15 the number of
 * route sections, flows, events, states; then the sections (see the encoders below). */
const char sink_script[] =
    "#!lua\n"
    "-- blackout flush unit: one closed bin of one sensor, applied at most once\n"
    "local n = 0\n"
    "local function call(...)\n"
    "  n = n + 1\n"
    "  return redis.call(...)\n"
    "end\n"
    "local seq, prev, first = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'\n"
    "local now, keep = ARGV[4], tonumber(ARGV[6])\n"
    "call('SET', KEYS[2], now, 'EX', ARGV[5])\n"
    "local last = tonumber(call('GET', KEYS[1]) or '0')\n"
    "if last >= seq then return {0, n, 0} end\n"
    "if not first and last ~= prev then return {2, n, 0} end\n"
    "local lost = 0\n"
    "if first and last < prev then lost = 1 end\n"
    "local sensor, channel = ARGV[10], ARGV[11]\n"
    "local nroutes, nflows = tonumber(ARGV[12]), tonumber(ARGV[13])\n"
    "local nevents, nstates = tonumber(ARGV[14]), tonumber(ARGV[15])\n"
    "if nroutes > 0 then call('SADD', KEYS[6], sensor) end\n"
    "local k, a, names = 8, 16, {}\n"
    "local fields = {'pkts_in', 'pkts_out', 'bytes_in', 'bytes_out', 'flows'}\n"
    "for r = 1, nroutes do\n"
    "  local tot, proto, bins, hll = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]\n"
    "  local start, len, c = ARGV[a + 1], ARGV[a + 2], {}\n"
    "  for i = 1, 11 do c[i] = ARGV[a + 2 + i] end\n"
    "  local hosts, np = ARGV[a + 14], tonumber(ARGV[a + 15])\n"
    "  names[#names + 1] = ARGV[a]\n"
    "  k, a = k + 4, a + 16\n"
    "  if start ~= '' then\n"
    "    if c[1] ~= '0' or c[2] ~= '0' or c[3] ~= '0' or c[4] ~= '0' or c[5] ~= '0' then\n"
    "      for i = 1, 5 do call('HINCRBY', tot, fields[i], c[i]) end\n"
    "    end\n"
    "    local s = tonumber(start)\n"
    "    call('ZREMRANGEBYSCORE', bins, s, s)\n"
    "    call('ZADD', bins, s, start .. ':' .. len .. ':' .. table.concat(c, ':'))\n"
    "    call('ZREMRANGEBYSCORE', bins, '-inf', '(' .. (s - keep))\n"
    "    call('EXPIRE', bins, keep)\n"
    "    if #hosts > 0 then\n"
    "      local batch = {}\n"
    "      for i = 1, #hosts, 16 do\n"
    "        batch[#batch + 1] = string.sub(hosts, i, i + 15)\n"
    "        if #batch == 512 then call('PFADD', hll, unpack(batch)); batch = {} end\n"
    "      end\n"
    "      if #batch > 0 then call('PFADD', hll, unpack(batch)) end\n"
    "      call('EXPIRE', hll, keep)\n"
    "    end\n"
    "  end\n"
    "  for i = 1, np do\n"
    "    call('HINCRBY', proto, ARGV[a], ARGV[a + 1])\n"
    "    a = a + 2\n"
    "  end\n"
    "end\n"
    "if #names > 0 then call('SADD', KEYS[7], unpack(names)) end\n"
    "for f = 1, nflows do\n"
    "  local np = tonumber(ARGV[a])\n"
    "  local cmd = {'XADD', KEYS[3], 'MAXLEN', '~', ARGV[8], '*'}\n"
    "  for i = 1, 2 * np do cmd[6 + i] = ARGV[a + i] end\n"
    "  a = a + 1 + 2 * np\n"
    "  call(unpack(cmd))\n"
    "end\n"
    "for e = 1, nevents do\n"
    "  local route, sen, json = ARGV[a + 1], ARGV[a + 2], ARGV[a + 6]\n"
    "  call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[9], '*', 'event', ARGV[a], 'route', route,\n"
    "       'sensor', sen, 'since', ARGV[a + 3], 'detected', ARGV[a + 4], 'cause', ARGV[a + 5],\n"
    "       'json', json)\n"
    "  call('PUBLISH', channel, json)\n"
    "  call('HSET', KEYS[5], sen .. '/' .. route, ARGV[a + 7])\n"
    "  a = a + 8\n"
    "end\n"
    "for i = 1, nstates do\n"
    "  local st = ARGV[a + 1]\n"
    "  call('HSET', KEYS[5], sensor .. '/' .. ARGV[a], st)\n"
    "  call('HSET', KEYS[k], 'state', st, 'since', ARGV[a + 2], 'baseline_pps', ARGV[a + 3],\n"
    "       'observed_pps', ARGV[a + 4], 'updated', now)\n"
    "  k, a = k + 1, a + 5\n"
    "end\n"
    "call('SET', KEYS[1], seq, 'EX', ARGV[7])\n"
    "return {1, n + 1, lost}\n";

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
    char index_key[160];          /* cluster: Psensors, which the writer adds the sensor to */
    const char *register_argv[3]; /* SADD Psensors S */
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

static void arg_i64(struct argbuf *a, int64_t v)
{
    char b[24];
    arg_add(a, b, (size_t)snprintf(b, sizeof b, "%" PRId64, v));
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

static void header_args(struct sink *s, struct argbuf *h, uint64_t seq)
{
    arg_u64(h, seq);
    arg_str(h, "0"); /* prev and first: filled by the writer */
    arg_str(h, "0");
    arg_i64(h, (int64_t)time(NULL));
    arg_u64(h, s->cfg.heartbeat_ttl);
    arg_u64(h, s->cfg.retention);
    arg_u64(h, MARKER_TTL);
    arg_u64(h, s->cfg.stream_maxlen);
    arg_u64(h, s->cfg.alerts_maxlen);
    arg_str(h, s->sensor);
    char ch[160];
    snprintf(ch, sizeof ch, "%sevents", s->prefix);
    arg_str(h, ch);
    arg_u64(h, s->nroutes_sec);
    arg_u64(h, s->nflows);
    arg_u64(h, s->nevents);
    arg_u64(h, s->nstates);
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

static void shared_key(struct argbuf *a, const struct sink *s, enum sink_shared which)
{
    char k[512];
    int n = sink_shared_key(k, sizeof k, s->prefix, s->sensor, which,
                            s->cfg.url.mode == BO_REDIS_CLUSTER);
    if (n < 0)
        a->failed = true;
    else
        arg_add(a, k, (size_t)n);
}

static void fixed_keys(struct sink *s, struct argbuf *k)
{
    arg_key(k, s, "run", s->run);
    arg_key(k, s, "heartbeat", NULL);
    arg_key(k, s, "flows", NULL);
    shared_key(k, s, SINK_ALERTS);
    shared_key(k, s, SINK_STATE);
    shared_key(k, s, SINK_SENSORS);
    arg_key(k, s, "routes", NULL);
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
    u->idx_prev = 3 + (int)nkeys + 1;
    u->idx_first = 3 + (int)nkeys + 2;
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

/* One route section: its keys, then name start len counters flags starts_in starts_out hosts
 * nproto pairs. */
static void route_section(struct sink *s, unsigned r, const struct bin_view *v)
{
    const char *name = s->names[r];
    struct argbuf *k = &s->route_keys, *a = &s->route_args;
    char hk[RECORD_NAME_MAX + 32];

    arg_key(k, s, "totals", name);
    arg_key(k, s, "proto", name);
    arg_key(k, s, "bins", name);
    snprintf(hk, sizeof hk, "%s:%" PRId64, name, v ? v->start : 0);
    arg_key(k, s, "hosts", hk);
    arg_str(a, name);
    if (v) {
        const struct bin_counts *c = &v->routes[r];
        arg_i64(a, v->start);
        arg_u64(a, v->len);
        const uint64_t vals[] = {c->pkts_in,   c->pkts_out, c->bytes_in, c->bytes_out,
                                 c->flows_new, c->hosts,    c->ctl_pkts, c->drops};
        for (size_t i = 0; i < 8; i++)
            arg_u64(a, vals[i]);
        arg_u64(a, (v->partial ? 1u : 0u) | (v->after_jump ? 2u : 0u));
        arg_u64(a, c->starts_in);
        arg_u64(a, c->starts_out);
        arg_add(a, v->hosts[r], v->nhosts[r] * 16);
    } else {
        for (int i = 0; i < 14; i++)
            arg_str(a, "");
    }
    const struct proto_acc *p = &s->protos[(size_t)r * SINK_PROTO_MAX];
    arg_u64(a, s->nprotos[r]);
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
    struct json j;

    json_init(&j);
    event_json(e, &j);
    arg_str(a, event_kind_name((enum event_kind)e->kind));
    arg_str(a, e->route);
    arg_str(a, e->sensor[0] ? e->sensor : s->sensor);
    arg_i64(a, e->since);
    arg_i64(a, e->detected);
    arg_str(a, e->kind == EVENT_COUNTRY_DOWN ? event_cause_name((enum event_cause)e->cause) : "");
    if (json_ok(&j))
        arg_add(a, j.buf, j.len);
    else
        a->failed = true;
    arg_str(a, event_state((enum event_kind)e->kind));
    json_free(&j);
    s->nevents++;
    return record_done(s, a);
}

int sink_route_state(struct sink *s, const char *route, const char *state, int64_t since,
                     double baseline_pps, double observed_pps)
{
    struct argbuf *a = &s->state_args;

    arg_key(&s->state_keys, s, "state", route);
    arg_str(a, route);
    arg_str(a, state);
    arg_i64(a, since);
    arg_double(a, baseline_pps, 3);
    arg_double(a, observed_pps, 3);
    s->nstates++;
    if (s->state_keys.failed)
        return record_done(s, &s->state_keys);
    return record_done(s, a);
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

int sink_parse_bin(const char *str, size_t n, struct sink_bin_row *row)
{
    uint64_t v[SINK_BIN_FIELDS];
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
        if (i == n && f + 1 == SINK_BIN_FIELDS_OLD)
            break; /* a member written before the starts were added */
        if (f + 1 < SINK_BIN_FIELDS && (i >= n || str[i++] != ':'))
            return -1;
    }
    if (i != n)
        return -1;
    row->start = neg ? -(int64_t)v[0] : (int64_t)v[0];
    row->len = v[1];
    memcpy(row->c, v + 2, sizeof row->c);
    row->flags = v[10];
    row->has_starts = f == SINK_BIN_FIELDS;
    row->starts[0] = row->has_starts ? v[11] : 0;
    row->starts[1] = row->has_starts ? v[12] : 0;
    return 0;
}
