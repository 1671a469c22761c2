/* query — export and status from Redis. See query.h. */
#include "query.h"

#include "json.h"
#include "log.h"
#include "redis.h"
#include "sink.h"
#include "stop.h"
#include "text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIST_MAX 4096

/* ---- time ---- */

/* Reads exactly n digits at *s. */
static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*s)++) {
        if (**s < '0' || **s > '9')
            return -1;
        v = v * 10 + (**s - '0');
    }
    *out = v;
    return 0;
}

int query_parse_time(const char *s, int64_t *t)
{
    struct tm tm = {0};
    uint64_t v;
    int y, mo, d, h = 0, mi = 0, se = 0;

    if (text_parse_u64(s, 0, (uint64_t)1 << 40, &v) == 0) {
        *t = (int64_t)v;
        return 0;
    }
    if (digits(&s, 4, &y) < 0 || *s++ != '-' || digits(&s, 2, &mo) < 0 || *s++ != '-' ||
        digits(&s, 2, &d) < 0)
        return -1;
    if (*s == 'T' || *s == ' ') {
        s++;
        if (digits(&s, 2, &h) < 0 || *s++ != ':' || digits(&s, 2, &mi) < 0)
            return -1;
        if (*s == ':') {
            s++;
            if (digits(&s, 2, &se) < 0)
                return -1;
        }
        if (*s == 'Z')
            s++;
    }
    if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *t = (int64_t)timegm(&tm);
    return 0;
}

const char *query_iso_time(int64_t t, char *buf, size_t size)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (t == INT64_MIN || !gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, size, "-");
    return buf;
}

/* ---- reading ---- */

struct redis *query_open(const struct options *o, const char *client, char *err, size_t errlen)
{
    struct redis_url u;

    if (config_redis_url(o, &u, err, errlen) < 0)
        return NULL;
    struct redis *r = redis_new(&u, (unsigned)o->redis_timeout, client);
    memset(&u, 0, sizeof u);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (redis_connect(r, err, errlen) != BO_REDIS_OK) {
        redis_free(r);
        return NULL;
    }
    return r;
}

int query_run(struct redis *r, struct redis_reply **out, char *err, size_t errlen, int argc,
              const char *const *argv)
{
    size_t lens[QUERY_ARGS_MAX];
    if (argc > QUERY_ARGS_MAX) {
        snprintf(err, errlen, "too many arguments");
        return BO_REDIS_EREPLY;
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return redis_call(r, argc, (const char **)argv, lens, out, err, errlen);
}

void query_reply_copy(const struct redis_reply *x, char *buf, size_t size)
{
    size_t n;
    const char *s = x ? redis_reply_str(x, &n) : "";
    if (!x)
        n = 0;
    if (n >= size)
        n = size - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

int query_set_members(struct redis *r, const char *key, struct query_names *out, char *err,
                      size_t errlen)
{
    const char *argv[] = {"SORT", key, "ALPHA"};
    struct redis_reply *x;

    out->n = 0;
    out->v = NULL;
    if (query_run(r, &x, err, errlen, 3, argv) != BO_REDIS_OK)
        return -1;
    size_t n = redis_reply_len(x);
    if (n > LIST_MAX)
        n = LIST_MAX;
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (!out->v) {
        redis_reply_free(x);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        query_reply_copy(redis_reply_at(x, i), out->v[i], sizeof out->v[i]);
    out->n = n;
    redis_reply_free(x);
    return 0;
}

bool query_country_wanted(const struct options *o, const char *cc)
{
    if (!o->countries || strcmp(o->countries, "all") == 0 || !cc[0] || strcmp(cc, "*") == 0)
        return true;
    return text_list_has(o->countries, cc);
}

int query_sensor_pairs(struct redis *r, const struct options *o, const char *sensor,
                       struct query_pairs *out, char *err, size_t errlen)
{
    char key[600];
    struct query_names names;

    out->n = 0;
    out->v = NULL;
    if (sink_key(key, sizeof key, o->redis_prefix, sensor, "pairs", NULL) < 0)
        return 0;
    if (query_set_members(r, key, &names, err, errlen) < 0)
        return -1;
    out->v = calloc(names.n ? names.n : 1, sizeof *out->v);
    if (!out->v) {
        free(names.v);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < names.n; i++) {
        struct query_pair *p = &out->v[out->n];
        char *slash = strchr(names.v[i], '/');
        if (!slash || slash == names.v[i] || !slash[1])
            continue;
        *slash = '\0';
        if (text_copy(p->cc, sizeof p->cc, names.v[i]) < 0 || !query_country_wanted(o, p->cc))
            continue;
        text_copy(p->route, sizeof p->route, slash + 1);
        out->n++;
    }
    free(names.v);
    return 0;
}

static bool wanted_route(const struct options *o, const char *route)
{
    if (o->route_filter.n == 0)
        return true;
    for (unsigned i = 0; i < o->route_filter.n; i++)
        if (strcmp(o->route_filter.v[i], route) == 0)
            return true;
    return false;
}

/* The sensors to show: --sensor, else every sensor that has written. */
static int list_sensors(struct redis *r, const struct options *o, struct query_names *out,
                        char *err, size_t errlen)
{
    char key[300];

    if (config_sensor_given(o)) {
        out->n = 1;
        out->v = calloc(1, sizeof *out->v);
        if (!out->v)
            return -1;
        text_copy(out->v[0], sizeof out->v[0], o->sensor);
        return 0;
    }
    snprintf(key, sizeof key, "%ssensors", o->redis_prefix);
    return query_set_members(r, key, out, err, errlen);
}

int query_reconnect(struct redis *r, struct log_limit *lim, char *err, size_t errlen)
{
    for (unsigned attempt = 0; !stop_requested(); attempt++) {
        log_limited(lim, LOG_WARN, "%s; reconnecting", err);
        stop_sleep_ms(redis_backoff_ms(attempt, 100, 5000));
        int rc = redis_connect(r, err, errlen);
        if (rc == BO_REDIS_OK)
            LOG(LOG_WARN, "reconnected to Redis");
        if (rc != BO_REDIS_EIO)
            return rc;
    }
    return BO_REDIS_EIO;
}

/* ---- export ---- */

static void csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void export_row(const struct options *o, struct json *j, const char *sensor,
                       const struct query_pair *p, const struct sink_bin_row *b)
{
    if (!o->json) {
        csv_field(sensor);
        putchar(',');
        csv_field(p->cc);
        putchar(',');
        csv_field(p->route);
        printf(",%" PRId64 ",%" PRIu64, b->start, b->len);
        for (size_t i = 0; i < BIN_NCOUNTERS; i++)
            if (bin_counters[i].uses & BIN_JSON)
                printf(",%" PRIu64, bin_counter_get(&b->c, i));
        printf(",%d\n", (b->flags & 1) ? 1 : 0);
        return;
    }
    json_reset(j);
    json_obj_open(j);
    json_kstr(j, "type", "bin");
    json_kstr(j, "sensor", sensor);
    json_kstr(j, "country", p->cc);
    json_kstr(j, "route", p->route);
    json_ki64(j, "start", b->start);
    json_ku64(j, "len", b->len);
    for (size_t i = 0; i < BIN_NCOUNTERS; i++)
        if (bin_counters[i].uses & BIN_JSON)
            json_ku64(j, bin_counters[i].name, bin_counter_get(&b->c, i));
    if (b->flags & 1)
        json_kbool(j, "partial", true);
    json_obj_close(j);
    json_print_line(j);
}

/* The CSV header line: the key columns, the JSON counters, partial. */
static void export_header(void)
{
    printf("sensor,country,route,start,len");
    for (size_t i = 0; i < BIN_NCOUNTERS; i++)
        if (bin_counters[i].uses & BIN_JSON)
            printf(",%s", bin_counters[i].name);
    printf(",partial\n");
}

static int export_pair(struct redis *r, const struct options *o, struct json *j, const char *sensor,
                       const struct query_pair *p, const int64_t range[2], char *err, size_t errlen)
{
    char key[600], from[32], to[32];
    struct redis_reply *x;
    struct sink_bin_row b;
    size_t n;

    if (sink_pair_key(key, sizeof key, o->redis_prefix, sensor, "bins", p->cc, p->route) < 0)
        return 0;
    snprintf(from, sizeof from, "%" PRId64, range[0]);
    snprintf(to, sizeof to, "(%" PRId64, range[1]);
    const char *argv[] = {"ZRANGEBYSCORE", key, from, to};
    if (query_run(r, &x, err, errlen, 4, argv) != BO_REDIS_OK)
        return -1;
    for (size_t i = 0; i < redis_reply_len(x); i++) {
        const char *s = redis_reply_str(redis_reply_at(x, i), &n);
        if (sink_parse_bin(s, n, &b) == 0)
            export_row(o, j, sensor, p, &b);
    }
    redis_reply_free(x);
    return 0;
}

static int export_sensor(struct redis *r, const struct options *o, struct json *j,
                         const char *sensor, const int64_t range[2], char *err, size_t errlen)
{
    struct query_pairs pairs;
    int rc = 0;

    if (query_sensor_pairs(r, o, sensor, &pairs, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < pairs.n && rc == 0; i++)
        if (wanted_route(o, pairs.v[i].route))
            rc = export_pair(r, o, j, sensor, &pairs.v[i], range, err, errlen);
    free(pairs.v);
    return rc;
}

int query_export(const struct options *o)
{
    int64_t range[2];
    char err[600];
    struct query_names sensors = {0};
    struct json j;
    int rc = 1;

    if (!o->from || !o->to || query_parse_time(o->from, &range[0]) < 0 ||
        query_parse_time(o->to, &range[1]) < 0) {
        log_write(LOG_ERR, "export needs --from T and --to T (epoch seconds or "
                           "2025-06-07T10:00:00Z)");
        return 2;
    }
    struct redis *r = query_open(o, "blackout-query", err, sizeof err);
    if (!r) {
        log_write(LOG_ERR, "%s", err);
        return 1;
    }
    json_init(&j);
    if (list_sensors(r, o, &sensors, err, sizeof err) < 0)
        goto out;
    if (!o->json)
        export_header();
    for (size_t i = 0; i < sensors.n; i++)
        if (export_sensor(r, o, &j, sensors.v[i], range, err, sizeof err) < 0)
            goto out;
    rc = fflush(stdout) == 0 ? 0 : 1;
    if (rc)
        snprintf(err, sizeof err, "cannot write to stdout");
out:
    if (rc)
        log_write(LOG_ERR, "%s", err);
    free(sensors.v);
    json_free(&j);
    redis_free(r);
    return rc;
}

/* ---- status ---- */

#define STATUS_ROWS_MAX 65536

struct route_status {
    char sensor[QUERY_NAME_MAX], cc[RECORD_CC_MAX], route[QUERY_NAME_MAX], state[32];
    int64_t since, last_bin;
    double baseline, current;
    bool has_baseline, has_current, alive, blind, shown;
};

/* Every row of the tables, so the columns can be as wide as their longest entry. */
struct status_rows {
    struct route_status *v;
    size_t n, cap;
};

/* A country's block: its code and its packets/s (every sensor's routes summed). */
struct status_block {
    char cc[RECORD_CC_MAX];
    double pps;
    bool shown; /* it has a row to show */
};

/* The value of field in a HGETALL reply, or NULL. */
static const char *hash_get(const struct redis_reply *h, const char *field, char *buf, size_t size)
{
    size_t n, fl = strlen(field);
    for (size_t i = 0; i + 1 < redis_reply_len(h); i += 2) {
        const char *f = redis_reply_str(redis_reply_at(h, i), &n);
        if (n == fl && memcmp(f, field, n) == 0) {
            query_reply_copy(redis_reply_at(h, i + 1), buf, size);
            return buf;
        }
    }
    return NULL;
}

/* A new row, its state from Pstate ("-" when the detector wrote none). Returns NULL when the
 * table is full or out of memory. */
static struct route_status *add_row(struct status_rows *t, const struct route_status *proto,
                                    const char *cc, const char *route,
                                    const struct redis_reply *pstate)
{
    char field[600];

    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct route_status *v = cap <= STATUS_ROWS_MAX ? realloc(t->v, cap * sizeof *v) : NULL;
        if (!v)
            return NULL;
        t->v = v;
        t->cap = cap;
    }
    struct route_status *st = &t->v[t->n++];
    *st = *proto;
    text_copy(st->cc, sizeof st->cc, cc);
    text_copy(st->route, sizeof st->route, route);
    st->since = INT64_MIN;
    if (sink_state_field(field, sizeof field, st->sensor, cc, route) < 0 ||
        !hash_get(pstate, field, st->state, sizeof st->state))
        text_copy(st->state, sizeof st->state, "-");
    return st;
}

static double to_double(const char *s, bool *ok)
{
    double v = 0;
    *ok = s && text_parse_double(s, 0, 1e15, &v) == 0;
    return v;
}

/* Detector state (P{S}:state:CC:R) and the last full bin (P{S}:bins:CC:R). */
static int read_route(struct redis *r, const struct options *o, struct route_status *st, char *err,
                      size_t errlen)
{
    char key[600], buf[64];
    struct redis_reply *x;
    struct sink_bin_row b;
    size_t n;
    bool ok;
    uint64_t v;

    sink_pair_key(key, sizeof key, o->redis_prefix, st->sensor, "state", st->cc, st->route);
    const char *hg[] = {"HGETALL", key};
    if (query_run(r, &x, err, errlen, 2, hg) != BO_REDIS_OK)
        return -1;
    const char *since = hash_get(x, "since", buf, sizeof buf);
    st->since = since && text_parse_u64(since, 0, INT64_MAX, &v) == 0 ? (int64_t)v : INT64_MIN;
    st->baseline = to_double(hash_get(x, "baseline_pps", buf, sizeof buf), &st->has_baseline);
    redis_reply_free(x);
    sink_pair_key(key, sizeof key, o->redis_prefix, st->sensor, "bins", st->cc, st->route);
    const char *zr[] = {"ZREVRANGE", key, "0", "1"};
    if (query_run(r, &x, err, errlen, 4, zr) != BO_REDIS_OK)
        return -1;
    for (size_t i = redis_reply_len(x); i-- > 0;) { /* the older one first: prefer full bins */
        const char *s = redis_reply_str(redis_reply_at(x, i), &n);
        ok = sink_parse_bin(s, n, &b) == 0 && b.len > 0;
        if (ok && (!st->has_current || !(b.flags & 1))) {
            st->current = (double)(b.c.pkts_in + b.c.pkts_out) / (double)b.len;
            st->last_bin = b.start;
            st->has_current = true;
        }
    }
    redis_reply_free(x);
    return 0;
}

/* The country row: its current packets/s is the sum of its routes' last bins, its last bin
 * the latest of theirs. */
static void sum_routes(struct route_status *country, const struct route_status *routes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!routes[i].has_current)
            continue;
        country->current += routes[i].current;
        if (!country->has_current || routes[i].last_bin > country->last_bin)
            country->last_bin = routes[i].last_bin;
        country->has_current = true;
    }
}

static void print_json(struct json *j, const struct route_status *st)
{
    json_reset(j);
    json_obj_open(j);
    json_kstr(j, "type", "status");
    json_kstr(j, "sensor", st->sensor);
    json_kstr(j, "country", st->cc);
    json_kstr(j, "route", st->route);
    json_kstr(j, "state", st->state);
    json_key(j, "baseline_pps");
    st->has_baseline ? json_double(j, st->baseline) : json_null(j);
    json_key(j, "current_pps");
    st->has_current ? json_double(j, st->current) : json_null(j);
    json_key(j, "since");
    st->since != INT64_MIN ? json_i64(j, st->since) : json_null(j);
    json_key(j, "last_bin");
    st->has_current ? json_i64(j, st->last_bin) : json_null(j);
    json_kbool(j, "heartbeat", st->alive);
    json_kbool(j, "blind", st->blind);
    json_obj_close(j);
    json_print_line(j);
}

static void fmt_pps(char *buf, size_t size, bool has, double v)
{
    if (has)
        snprintf(buf, size, "%.3f", v);
    else
        text_copy(buf, size, "-");
}

/* The widths of the sensor and route columns: their longest shown entry. */
static void column_widths(const struct status_rows *t, int *ws, int *wr)
{
    *ws = (int)strlen("SENSOR");
    *wr = (int)strlen("ROUTE");
    for (size_t i = 0; i < t->n; i++) {
        int ls = (int)strlen(t->v[i].sensor), lr = (int)strlen(t->v[i].route);
        if (t->v[i].shown) {
            *ws = ls > *ws ? ls : *ws;
            *wr = lr > *wr ? lr : *wr;
        }
    }
}

static void print_header(int ws, int wr)
{
    printf("%-*s  %-*s  %-8s  %12s  %11s  %-20s  %-20s  %s\n", ws, "SENSOR", wr, "ROUTE", "STATE",
           "BASELINE_PPS", "CURRENT_PPS", "SINCE", "LAST_BIN", "ALIVE");
}

/* The shown rows of one country under its title and the header. */
static void print_block(const struct status_rows *t, const struct status_block *b, int ws, int wr)
{
    char since[32], last[32], base[32], cur[32];

    printf("country %s: %.3f pkt/s\n", b->cc, b->pps);
    print_header(ws, wr);
    for (size_t i = 0; i < t->n; i++) {
        const struct route_status *st = &t->v[i];
        if (!st->shown || strcmp(st->cc, b->cc) != 0)
            continue;
        fmt_pps(base, sizeof base, st->has_baseline, st->baseline);
        fmt_pps(cur, sizeof cur, st->has_current, st->current);
        query_iso_time(st->since, since, sizeof since);
        query_iso_time(st->has_current ? st->last_bin : INT64_MIN, last, sizeof last);
        printf("%-*s  %-*s  %-8s  %12s  %11s  %-20s  %-20s  %s\n", ws, st->sensor, wr, st->route,
               st->state, base, cur, since, last,
               !st->alive  ? "no"
               : st->blind ? "blind"
                           : "yes");
    }
}

static int block_cmp(const void *a, const void *b)
{
    const struct status_block *x = a, *y = b;
    if (x->pps != y->pps)
        return x->pps > y->pps ? -1 : 1;
    return strcmp(x->cc, y->cc);
}

/* The countries of the rows, the busiest first. Returns how many (0 when out of memory). */
static size_t status_blocks(const struct status_rows *t, struct status_block **out)
{
    size_t n = 0;
    struct status_block *v = calloc(t->n ? t->n : 1, sizeof *v);

    *out = v;
    for (size_t i = 0; v && i < t->n; i++) {
        const struct route_status *st = &t->v[i];
        size_t k;
        for (k = 0; k < n && strcmp(v[k].cc, st->cc) != 0; k++)
            ;
        if (k == n)
            text_copy(v[n++].cc, sizeof v[k].cc, st->cc);
        v[k].shown = v[k].shown || st->shown;
        if (strcmp(st->route, "*") != 0 && st->has_current)
            v[k].pps += st->current;
    }
    if (v)
        qsort(v, n, sizeof *v, block_cmp);
    return n;
}

static long long heartbeat_ttl(struct redis *r, const struct options *o, const char *sensor)
{
    char key[600], err[256];
    struct redis_reply *x;

    sink_key(key, sizeof key, o->redis_prefix, sensor, "heartbeat", NULL);
    const char *argv[] = {"TTL", key};
    if (query_run(r, &x, err, sizeof err, 2, argv) != BO_REDIS_OK)
        return -2;
    long long t = redis_reply_int(x);
    redis_reply_free(x);
    return t;
}

/* The n pairs of one country at one sensor: the country row "*" first when the detector
 * wrote one, then a row per route. Every route is read (the country row sums them); --route
 * picks the rows shown. */
static int status_country(struct redis *r, const struct options *o, struct status_rows *t,
                          const struct route_status *proto, const struct query_pair *p, size_t n,
                          const struct redis_reply *pstate, char *err, size_t errlen)
{
    size_t first = t->n;
    int rc = 0;

    for (size_t i = 0; i <= n && rc == 0; i++) {
        const char *route = i == 0 ? "*" : p[i - 1].route;
        struct route_status *st = add_row(t, proto, p[0].cc, route, pstate);
        if (!st) {
            snprintf(err, errlen, "status: more than %d rows", STATUS_ROWS_MAX);
            return -1;
        }
        st->shown = wanted_route(o, route);
        if (i == 0 && strcmp(st->state, "-") == 0)
            t->n--; /* no country row */
        else
            rc = read_route(r, o, st, err, errlen);
    }
    if (rc == 0 && t->n > first && strcmp(t->v[first].route, "*") == 0)
        sum_routes(&t->v[first], &t->v[first + 1], t->n - first - 1);
    return rc;
}

/* Every pair of one sensor, read into t country by country. */
static int status_sensor(struct redis *r, const struct options *o, struct status_rows *t,
                         const char *sensor, const struct redis_reply *pstate, char *err,
                         size_t errlen)
{
    char field[600], state[32];
    struct query_pairs pairs;
    struct route_status proto = {0};
    int rc = 0;

    if (query_sensor_pairs(r, o, sensor, &pairs, err, errlen) < 0)
        return -1;
    text_copy(proto.sensor, sizeof proto.sensor, sensor);
    proto.alive = heartbeat_ttl(r, o, sensor) > 0;
    sink_state_field(field, sizeof field, sensor, "*", "*");
    proto.blind = hash_get(pstate, field, state, sizeof state) && strcmp(state, "blind") == 0;
    for (size_t i = 0, end; i < pairs.n && rc == 0; i = end) {
        for (end = i + 1; end < pairs.n && strcmp(pairs.v[end].cc, pairs.v[i].cc) == 0; end++)
            ;
        rc = status_country(r, o, t, &proto, &pairs.v[i], end - i, pstate, err, errlen);
    }
    free(pairs.v);
    return rc;
}

/* The blocks, the busiest country first: tables, or JSON lines in the same order. */
static int status_print(const struct options *o, const struct status_rows *t, struct json *j)
{
    struct status_block *b;
    size_t n = status_blocks(t, &b), shown = 0;
    int ws, wr;

    if (!b)
        return -1;
    column_widths(t, &ws, &wr);
    for (size_t k = 0; k < n; k++) {
        if (!b[k].shown)
            continue;
        if (!o->json) {
            printf("%s", shown++ ? "\n" : "");
            print_block(t, &b[k], ws, wr);
        }
        for (size_t i = 0; o->json && i < t->n; i++)
            if (t->v[i].shown && strcmp(t->v[i].cc, b[k].cc) == 0)
                print_json(j, &t->v[i]);
    }
    if (!o->json && shown == 0)
        print_header(ws, wr);
    free(b);
    return 0;
}

/* The route states: Pstate, or in a cluster the sensor's share of it (sink.h). */
static int read_states(struct redis *r, const struct options *o, const char *sensor,
                       struct redis_reply **out, char *err, size_t errlen)
{
    char key[600];
    bool cluster = redis_mode(r) == BO_REDIS_CLUSTER;

    *out = NULL;
    sink_shared_key(key, sizeof key, o->redis_prefix, sensor, SINK_STATE, cluster);
    const char *argv[] = {"HGETALL", key};
    return query_run(r, out, err, errlen, 2, argv) == BO_REDIS_OK ? 0 : -1;
}

int query_status(const struct options *o)
{
    char err[600];
    struct query_names sensors = {0};
    struct redis_reply *pstate = NULL, *own = NULL;
    struct status_rows rows = {0};
    struct json j;
    int rc = 1;

    struct redis *r = query_open(o, "blackout-query", err, sizeof err);
    if (!r) {
        log_write(LOG_ERR, "%s", err);
        return 1;
    }
    json_init(&j);
    bool cluster = redis_mode(r) == BO_REDIS_CLUSTER;
    if (list_sensors(r, o, &sensors, err, sizeof err) < 0 ||
        (!cluster && read_states(r, o, "", &pstate, err, sizeof err) < 0))
        goto out;
    for (size_t i = 0; i < sensors.n; i++) {
        if (cluster && read_states(r, o, sensors.v[i], &own, err, sizeof err) < 0)
            goto out;
        int k = status_sensor(r, o, &rows, sensors.v[i], cluster ? own : pstate, err, sizeof err);
        redis_reply_free(own);
        own = NULL;
        if (k < 0)
            goto out;
    }
    if (status_print(o, &rows, &j) < 0) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
    if (rc)
        snprintf(err, sizeof err, "cannot write to stdout");
out:
    if (rc)
        log_write(LOG_ERR, "%s", err);
    free(rows.v);
    redis_reply_free(pstate);
    free(sensors.v);
    json_free(&j);
    redis_free(r);
    return rc;
}
