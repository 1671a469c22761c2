/* records — flow records and events, and their JSON. See records.h. */
#include "records.h"

#include "text.h"

#include <arpa/inet.h>
#include <math.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const kind_names[] = {
    [EVENT_ROUTE_DOWN] = "route_down",     [EVENT_ROUTE_UP] = "route_up",
    [EVENT_COUNTRY_DOWN] = "country_down", [EVENT_COUNTRY_UP] = "country_up",
    [EVENT_SENSOR_BLIND] = "sensor_blind", [EVENT_SENSOR_OK] = "sensor_ok",
};

static const char *const cause_names[] = {
    [CAUSE_NONE] = "",           [CAUSE_INTERNAL] = "internal",
    [CAUSE_ATTACK] = "attack",   [CAUSE_UPSTREAM] = "upstream",
    [CAUSE_UNKNOWN] = "unknown",
};

static const char *const down_kind_names[] = {
    [DOWN_KIND_NONE] = "",
    [DOWN_KIND_SILENT] = "silent",
    [DOWN_KIND_COLLAPSE] = "collapse",
};

static const char *const end_names[] = {
    [FLOW_END_IDLE] = "idle", [FLOW_END_FIN] = "fin",     [FLOW_END_ACTIVE] = "active",
    [FLOW_END_EXIT] = "exit", [FLOW_END_EVICT] = "evict",
};

const char *event_kind_name(enum event_kind k)
{
    return (unsigned)k <= EVENT_SENSOR_OK ? kind_names[k] : "invalid";
}

const char *event_cause_name(enum event_cause c)
{
    return (unsigned)c <= CAUSE_UNKNOWN ? cause_names[c] : "invalid";
}

const char *event_down_kind_name(enum event_down_kind k)
{
    return (unsigned)k <= DOWN_KIND_COLLAPSE ? down_kind_names[k] : "invalid";
}

bool event_is_down(enum event_kind k)
{
    return k == EVENT_ROUTE_DOWN || k == EVENT_COUNTRY_DOWN || k == EVENT_SENSOR_BLIND;
}

const char *record_addr(const uint8_t a[16], char *buf, size_t size)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    bool v4 = memcmp(a, mapped, 12) == 0;

    if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a + 12 : a, buf, (socklen_t)size))
        snprintf(buf, size, "?");
    return buf;
}

/* "routes": {"cn": {"since": ..., "residual_in": ..., "residual_out": ..., "kind": ...}} */
static void routes_json(const struct event_evidence *ev, struct json *j)
{
    json_key(j, "routes");
    json_obj_open(j);
    for (unsigned i = 0; i < ev->nroutes && i < EVENT_ROUTES_MAX; i++) {
        const struct event_route *r = &ev->routes[i];
        json_key(j, r->name);
        json_obj_open(j);
        json_ki64(j, "since", r->since);
        json_kdouble(j, "residual_in", r->residual_in);
        json_kdouble(j, "residual_out", r->residual_out);
        json_kstr(j, "kind", event_down_kind_name((enum event_down_kind)r->kind));
        json_obj_close(j);
    }
    json_obj_close(j);
}

static void evidence_json(const struct event *e, struct json *j)
{
    const struct event_evidence *ev = &e->evidence;

    json_key(j, "evidence");
    json_obj_open(j);
    if (e->kind == EVENT_SENSOR_BLIND || e->kind == EVENT_SENSOR_OK) {
        json_kdouble(j, "ctl_ratio", ev->ctl_ratio);
        json_ku64(j, "drops", ev->drops);
    } else {
        if (e->kind == EVENT_COUNTRY_DOWN || e->kind == EVENT_COUNTRY_UP) {
            json_ku64(j, "routes_silent", ev->routes_silent);
            json_ku64(j, "routes_total", ev->routes_total);
        }
        json_kdouble(j, "in_ratio", ev->in_ratio);
        json_kdouble(j, "out_ratio", ev->out_ratio);
        json_kbool(j, "surge_before", ev->surge_before);
        json_kbool(j, "one_way", ev->one_way);
    }
    if (ev->sensors_total) {
        json_ku64(j, "sensors_silent", ev->sensors_silent);
        json_ku64(j, "sensors_total", ev->sensors_total);
    }
    if (ev->kind) {
        json_kdouble(j, "residual_in", ev->residual_in);
        json_kdouble(j, "residual_out", ev->residual_out);
        json_kstr(j, "kind", event_down_kind_name((enum event_down_kind)ev->kind));
    }
    if (ev->nroutes)
        routes_json(ev, j);
    json_obj_close(j);
}

void event_json(const struct event *e, struct json *j)
{
    json_obj_open(j);
    json_kstr(j, "type", "event");
    json_kstr(j, "event", event_kind_name((enum event_kind)e->kind));
    json_kstr(j, "country", e->country);
    json_kstr(j, "route", e->route);
    json_kstr(j, "sensor", e->sensor);
    json_ki64(j, "since", e->since);
    json_ki64(j, "detected", e->detected);
    json_kdouble(j, "baseline_pps", e->baseline_pps);
    json_kdouble(j, "observed_pps", e->observed_pps);
    if (e->kind == EVENT_COUNTRY_DOWN)
        json_kstr(j, "cause", event_cause_name((enum event_cause)e->cause));
    if (e->duration >= 0)
        json_ki64(j, "duration", e->duration);
    evidence_json(e, j);
    json_obj_close(j);
}

void flow_record_json(const struct flow_record *r, const char *sensor, struct json *j)
{
    char a[64];

    json_obj_open(j);
    json_kstr(j, "type", "flow");
    json_kstr(j, "sensor", sensor);
    json_kstr(j, "country", r->country);
    json_kstr(j, "route", r->route);
    json_ku64(j, "ip_proto", r->l4_proto);
    json_kstr(j, "src", record_addr(r->src, a, sizeof a));
    json_ku64(j, "sport", r->sport);
    json_kstr(j, "dst", record_addr(r->dst, a, sizeof a));
    json_ku64(j, "dport", r->dport);
    if (r->vlan != 0xffff)
        json_ku64(j, "vlan", r->vlan);
    json_kstr(j, "proto", r->proto);
    json_key(j, "host");
    json_strn(j, r->host, strnlen(r->host, sizeof r->host));
    json_ku64(j, "pkts_in", r->pkts_in);
    json_ku64(j, "pkts_out", r->pkts_out);
    json_ku64(j, "bytes_in", r->bytes_in);
    json_ku64(j, "bytes_out", r->bytes_out);
    json_kdouble(j, "first", (double)r->first_us / 1e6);
    json_kdouble(j, "last", (double)r->last_us / 1e6);
    json_kstr(j, "end", (unsigned)r->end <= FLOW_END_EVICT ? end_names[r->end] : "?");
    json_obj_close(j);
}

/* ---- reading an event back ---- */

struct event_reader {
    struct event *e;
    bool is_event, kind_known, bad;
};

static int name_index(const char *const *names, unsigned n, const char *s)
{
    for (unsigned i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

enum field_kind { F_I64, F_DOUBLE, F_COUNT, F_U64 };

#define EV(f) offsetof(struct event, f)

/* The numeric fields of an event's JSON, by path. */
static const struct {
    const char *path;
    uint8_t kind; /* enum field_kind */
    size_t off;
} event_fields[] = {
    {"since", F_I64, EV(since)},
    {"detected", F_I64, EV(detected)},
    {"duration", F_I64, EV(duration)},
    {"baseline_pps", F_DOUBLE, EV(baseline_pps)},
    {"observed_pps", F_DOUBLE, EV(observed_pps)},
    {"evidence.routes_silent", F_COUNT, EV(evidence.routes_silent)},
    {"evidence.routes_total", F_COUNT, EV(evidence.routes_total)},
    {"evidence.sensors_silent", F_COUNT, EV(evidence.sensors_silent)},
    {"evidence.sensors_total", F_COUNT, EV(evidence.sensors_total)},
    {"evidence.in_ratio", F_DOUBLE, EV(evidence.in_ratio)},
    {"evidence.out_ratio", F_DOUBLE, EV(evidence.out_ratio)},
    {"evidence.ctl_ratio", F_DOUBLE, EV(evidence.ctl_ratio)},
    {"evidence.drops", F_U64, EV(evidence.drops)},
    {"evidence.residual_in", F_DOUBLE, EV(evidence.residual_in)},
    {"evidence.residual_out", F_DOUBLE, EV(evidence.residual_out)},
};

#define ROUTES_PATH "evidence.routes."

/* The route of "evidence.routes.NAME.field" (added when new), and its field; NULL when the
 * path is not one, the name does not fit or there are too many routes. */
static struct event_route *route_at(struct event *e, const char *path, const char **field)
{
    size_t pre = sizeof ROUTES_PATH - 1;
    const char *dot = strrchr(path, '.');
    if (strncmp(path, ROUTES_PATH, pre) != 0 || !dot || dot < path + pre)
        return NULL;
    size_t n = (size_t)(dot - (path + pre));
    *field = dot + 1;
    if (n == 0 || n >= RECORD_NAME_MAX)
        return NULL;
    struct event_evidence *ev = &e->evidence;
    for (unsigned i = 0; i < ev->nroutes; i++)
        if (strncmp(ev->routes[i].name, path + pre, n) == 0 && ev->routes[i].name[n] == '\0')
            return &ev->routes[i];
    if (ev->nroutes == EVENT_ROUTES_MAX)
        return NULL;
    struct event_route *r = &ev->routes[ev->nroutes++];
    memcpy(r->name, path + pre, n);
    r->name[n] = '\0';
    return r;
}

/* A value of one of a country_down's routes. Returns true when path was one. */
static bool route_value(struct event_reader *rd, const char *path, enum json_type t,
                        const char *val)
{
    const char *field;
    char *end;
    if (strncmp(path, ROUTES_PATH, sizeof ROUTES_PATH - 1) != 0)
        return false;
    struct event_route *r = route_at(rd->e, path, &field);
    if (!r)
        return true; /* more routes than kept, or a name too long: left out */
    if (t == JSON_T_STRING && strcmp(field, "kind") == 0) {
        int k = name_index(down_kind_names, DOWN_KIND_COLLAPSE + 1, val);
        r->kind = (uint8_t)(k > 0 ? k : DOWN_KIND_NONE);
        return true;
    }
    double d = t == JSON_T_NUMBER ? strtod(val, &end) : NAN;
    bool ok = t == JSON_T_NUMBER && *end == '\0' && isfinite(d);
    if (strcmp(field, "since") == 0) {
        ok = ok && d >= -9.2e18 && d <= 9.2e18;
        r->since = ok ? (int64_t)d : 0;
    } else if (strcmp(field, "residual_in") == 0 || strcmp(field, "residual_out") == 0) {
        *(field[9] == 'i' ? &r->residual_in : &r->residual_out) = ok ? d : 0;
    } else {
        return true; /* unknown keys are ignored */
    }
    rd->bad = rd->bad || !ok;
    return true;
}

/* A number for a known numeric field (a string there, or a value out of range: bad). */
static void event_number(struct event_reader *r, const char *path, const char *val)
{
    size_t i, n = sizeof event_fields / sizeof event_fields[0];
    char *end;

    for (i = 0; i < n && strcmp(event_fields[i].path, path) != 0; i++)
        ;
    if (i == n)
        return;
    void *field = (char *)r->e + event_fields[i].off;
    double d = strtod(val, &end);
    bool ok = *end == '\0' && val[0] != '\0' && isfinite(d);
    switch (event_fields[i].kind) {
    case F_I64:
        ok = ok && d >= -9.2e18 && d <= 9.2e18;
        *(int64_t *)field = ok ? (int64_t)d : 0;
        break;
    case F_DOUBLE:
        *(double *)field = ok ? d : 0;
        break;
    case F_COUNT:
        ok = ok && d >= 0 && d <= UINT32_MAX;
        *(unsigned *)field = ok ? (unsigned)d : 0;
        break;
    case F_U64:
        ok = ok && d >= 0 && d <= 1.8e19;
        *(uint64_t *)field = ok ? (uint64_t)d : 0;
        break;
    }
    r->bad = r->bad || !ok;
}

static void event_string(struct event_reader *r, const char *path, const char *val, size_t len)
{
    struct event *e = r->e;
    if (strlen(val) != len) {
        r->bad = true; /* a NUL inside a name */
    } else if (strcmp(path, "type") == 0) {
        r->is_event = strcmp(val, "event") == 0;
    } else if (strcmp(path, "event") == 0) {
        int k = name_index(kind_names, EVENT_SENSOR_OK + 1, val);
        r->kind_known = k >= 0;
        e->kind = (uint8_t)(k >= 0 ? k : 0);
    } else if (strcmp(path, "route") == 0) {
        text_copy(e->route, sizeof e->route, val);
    } else if (strcmp(path, "country") == 0) {
        text_copy(e->country, sizeof e->country, val);
    } else if (strcmp(path, "sensor") == 0) {
        text_copy(e->sensor, sizeof e->sensor, val);
    } else if (strcmp(path, "cause") == 0) {
        int c = name_index(cause_names, CAUSE_UNKNOWN + 1, val);
        e->cause = (uint8_t)(c > 0 ? c : CAUSE_UNKNOWN);
    } else if (strcmp(path, "evidence.kind") == 0) {
        int k = name_index(down_kind_names, DOWN_KIND_COLLAPSE + 1, val);
        e->evidence.kind = (uint8_t)(k > 0 ? k : DOWN_KIND_NONE);
    } else {
        event_number(r, path, ""); /* a string where a number belongs: refused */
    }
}

static void event_visit(void *ctx, const char *path, enum json_type t, const char *val, size_t len)
{
    struct event_reader *r = ctx;
    if (route_value(r, path, t, val))
        return;
    if (t == JSON_T_STRING)
        event_string(r, path, val, len);
    else if (t == JSON_T_NUMBER)
        event_number(r, path, val);
    else if (strcmp(path, "evidence.surge_before") == 0)
        r->e->evidence.surge_before = t == JSON_T_TRUE;
    else if (strcmp(path, "evidence.one_way") == 0)
        r->e->evidence.one_way = t == JSON_T_TRUE;
}

int event_from_json(const char *s, size_t n, struct event *e)
{
    struct event_reader r = {.e = e};

    memset(e, 0, sizeof *e);
    e->duration = -1;
    if (json_walk(s, n, event_visit, &r) < 0 || r.bad || !r.is_event || !r.kind_known)
        return -1;
    return 0;
}

/* ---- a line for people ---- */

/* "2025-06-07 01:00:10Z", or only "01:00:10Z" when on the same UTC day as ref. */
static const char *clock_text(int64_t t, int64_t ref, char *buf, size_t size)
{
    struct tm tm, rt;
    time_t tt = (time_t)t, rr = (time_t)ref;
    bool same = gmtime_r(&rr, &rt) && gmtime_r(&tt, &tm) && tm.tm_year == rt.tm_year &&
                tm.tm_yday == rt.tm_yday;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, size, same ? "%H:%M:%SZ" : "%Y-%m-%d %H:%M:%SZ", &tm))
        snprintf(buf, size, "%" PRId64, t);
    return buf;
}

/* "40 s", "2 min 30 s", "1 h 30 min", "2 d 3 h". */
static const char *span_text(int64_t s, char *buf, size_t size)
{
    uint64_t v = s < 0 ? 0 : (uint64_t)s;
    if (v < 60)
        snprintf(buf, size, "%" PRIu64 " s", v);
    else if (v < 3600)
        snprintf(buf, size, v % 60 ? "%" PRIu64 " min %" PRIu64 " s" : "%" PRIu64 " min", v / 60,
                 v % 60);
    else if (v < 86400)
        snprintf(buf, size, v / 60 % 60 ? "%" PRIu64 " h %" PRIu64 " min" : "%" PRIu64 " h",
                 v / 3600, v / 60 % 60);
    else
        snprintf(buf, size, v / 3600 % 24 ? "%" PRIu64 " d %" PRIu64 " h" : "%" PRIu64 " d",
                 v / 86400, v / 3600 % 24);
    return buf;
}

static unsigned rest(unsigned total, unsigned part)
{
    return total > part ? total - part : 0;
}

/* A ratio as a whole percentage: 0 for none (or NaN), at most PERCENT_MAX, so that an event
 * read back from Redis with any value converts within int. */
#define PERCENT_MAX 100000000

static int percent(double ratio)
{
    if (!(ratio > 0))
        return 0;
    return ratio < PERCENT_MAX / 100 ? (int)(ratio * 100 + 0.5) : PERCENT_MAX;
}

/* What the evidence says, after the columns. */
static void details(const struct event *e, char *buf, size_t size)
{
    const struct event_evidence *ev = &e->evidence;
    char span[32];
    size_t n = 0;
    int w = 0;

    switch ((enum event_kind)e->kind) {
    case EVENT_COUNTRY_DOWN:
        w = snprintf(buf, size, "cause %s, routes %u/%u %s",
                     event_cause_name((enum event_cause)e->cause), ev->routes_silent,
                     ev->routes_total, ev->kind == DOWN_KIND_COLLAPSE ? "down" : "silent");
        break;
    case EVENT_COUNTRY_UP:
        w = snprintf(buf, size, "down %s, routes %u/%u back", span_text(e->duration, span, 32),
                     rest(ev->routes_total, ev->routes_silent), ev->routes_total);
        break;
    case EVENT_ROUTE_DOWN:
        w = snprintf(buf, size, "was %.1f pkt/s, now in %d%% out %d%%", e->baseline_pps,
                     percent(ev->in_ratio), percent(ev->out_ratio));
        break;
    case EVENT_ROUTE_UP:
        w = snprintf(
            buf, size, "down %s, back at %d%% of %.1f pkt/s", span_text(e->duration, span, 32),
            percent(e->baseline_pps > 0 ? e->observed_pps / e->baseline_pps : 0), e->baseline_pps);
        break;
    case EVENT_SENSOR_BLIND:
        w = snprintf(buf, size, "sees %d%% of its usual traffic, %" PRIu64 " drops",
                     percent(ev->ctl_ratio), ev->drops);
        break;
    case EVENT_SENSOR_OK:
        w = snprintf(buf, size, "blind for %s", span_text(e->duration, span, 32));
        break;
    }
    n = w > 0 && (size_t)w < size ? (size_t)w : 0;
    if (ev->kind == DOWN_KIND_COLLAPSE && event_is_down((enum event_kind)e->kind) && n < size)
        n += (size_t)snprintf(buf + n, size - n, ", collapse to in %d%% out %d%% of expected",
                              percent(ev->residual_in), percent(ev->residual_out));
    if (ev->one_way && n < size)
        n += (size_t)snprintf(buf + n, size - n, ", one way (nothing comes back)");
    if (ev->surge_before && e->kind != EVENT_COUNTRY_DOWN && n < size)
        n += (size_t)snprintf(buf + n, size - n, ", after an inbound surge");
    if (ev->sensors_total && n < size)
        snprintf(buf + n, size - n,
                 event_is_down((enum event_kind)e->kind) ? ", silent at %u/%u sensors"
                                                         : ", back at %u/%u sensors",
                 event_is_down((enum event_kind)e->kind)
                     ? ev->sensors_silent
                     : rest(ev->sensors_total, ev->sensors_silent),
                 ev->sensors_total);
}

const char *event_text(const struct event *e, char *buf, size_t size)
{
    char when[32], since[32], delay[32], began[96], sensor[RECORD_SENSOR_MAX + 8], more[256];
    char where[RECORD_CC_MAX + RECORD_NAME_MAX + 2];
    int64_t took;

    if (__builtin_sub_overflow(e->detected, e->since, &took)) /* times read back from Redis */
        took = e->detected > e->since ? INT64_MAX : 0;
    clock_text(e->detected, INT64_MIN, when, sizeof when);
    snprintf(began, sizeof began, "since %s (%s to detect)",
             clock_text(e->since, e->detected, since, sizeof since),
             span_text(took, delay, sizeof delay));
    snprintf(sensor, sizeof sensor, "sensor %s", e->sensor);
    details(e, more, sizeof more);
    if (e->country[0] && strcmp(e->country, "*") != 0)
        snprintf(where, sizeof where, "%s/%s", e->country, e->route);
    else
        snprintf(where, sizeof where, "%s", e->route);
    snprintf(buf, size, "%s  %-12s  %-8s  %-15s  %-34s  %s", when,
             event_kind_name((enum event_kind)e->kind), where, sensor, began, more);
    return buf;
}
