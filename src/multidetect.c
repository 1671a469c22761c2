/* multidetect — `blackout detect` over bins in Redis. See multidetect.h. */
#include "multidetect.h"

#include "combine.h"
#include "detect.h"
#include "history.h"
#include "json.h"
#include "log.h"
#include "query.h"
#include "records.h"
#include "redis.h"
#include "sink.h"
#include "stop.h"
#include "text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK        1000 /* bins per route and read */
#define CHUNK_TEXT   "1000"
#define EVENTS_MAX   (2 * COMBINE_ROUTES_MAX + 4)
#define SINK_BACKLOG 1000 /* units: one per round */

/* A bin read and not yet fed; its routes' counters are in feed.qr. */
struct qbin {
    int64_t start;
    unsigned len;
    bool partial, after_jump;
    uint64_t present; /* bit r: route r has a member for this start */
};

/* One sensor: its routes, its detector, the bins read ahead. */
struct feed {
    char name[QUERY_NAME_MAX];
    int cs; /* its index in the combiner (-1: not in it) */
    unsigned nroutes;
    char routes[DETECT_ROUTES_MAX][RECORD_NAME_MAX];
    const char *names[DETECT_ROUTES_MAX];
    int cr[DETECT_ROUTES_MAX]; /* route indices in the combiner (-1: not in it) */
    struct detect *det;        /* made at the first bin, which tells the bin length */
    unsigned len;
    uint64_t present; /* routes present in the last bin fed */
    int64_t next;     /* the next read starts here */
    int64_t fed_end;  /* end of the last bin fed, INT64_MIN before */
    int64_t newest;   /* end of the newest bin read, INT64_MIN before */
    bool caught_up;   /* the last read reached the newest bin written */
    bool warned_len, warned_old;
    struct qbin *q;
    struct detect_route_bin *qr; /* [slot * nroutes + route] */
    size_t head, n;              /* queued: q[head .. head+n) */
};

struct multi {
    const struct options *o;
    struct redis *r;
    struct combine *cb;
    struct sink *sink;
    struct feed *feeds;
    unsigned nfeeds;
    int64_t from, to;
    int64_t last_step; /* end of the last step combined */
    bool live;         /* --follow: history read, events are raised from now on */
    bool output_failed;
    uint64_t events, unraised, steps;
    struct json j;
    struct log_limit io_log;
    char err[600];
};

/* One member read back, for the merge of a sensor's routes. */
struct row {
    unsigned route;
    struct sink_bin_row b;
};

/* ---- sensors and routes ---- */

static void feed_free(struct feed *f)
{
    detect_free(f->det);
    free(f->q);
    free(f->qr);
}

/* A feed for sensor name with its routes from P{S}:routes. Returns 0, 1 when it cannot be
 * added (logged), or -1 on a Redis error (m->err). */
static int add_feed(struct multi *m, const char *name)
{
    char key[600];
    struct query_names routes;
    struct feed *f = &m->feeds[m->nfeeds];

    if (sink_key(key, sizeof key, m->o->redis_prefix, name, "routes", NULL) < 0 ||
        strlen(name) >= RECORD_SENSOR_MAX) {
        LOG(LOG_WARN, "sensor '%.60s' left out (a name too long)", name);
        return 1;
    }
    if (query_set_members(m->r, key, &routes, m->err, sizeof m->err) < 0)
        return -1;
    memset(f, 0, sizeof *f);
    text_copy(f->name, sizeof f->name, name);
    f->cs = -1;
    f->next = m->from;
    f->fed_end = f->newest = INT64_MIN;
    for (size_t i = 0; i < routes.n; i++) {
        if (f->nroutes == DETECT_ROUTES_MAX ||
            text_copy(f->routes[f->nroutes], RECORD_NAME_MAX, routes.v[i]) < 0) {
            LOG(LOG_WARN, "sensor %s: route '%.40s' left out (too many routes or too long a name)",
                name, routes.v[i]);
            continue;
        }
        f->names[f->nroutes] = f->routes[f->nroutes];
        f->nroutes++;
    }
    free(routes.v);
    f->q = calloc(2 * CHUNK, sizeof *f->q);
    f->qr = calloc((size_t)2 * CHUNK * (f->nroutes ? f->nroutes : 1), sizeof *f->qr);
    if (!f->q || !f->qr) {
        feed_free(f);
        snprintf(m->err, sizeof m->err, "out of memory");
        return -1;
    }
    if (f->nroutes == 0)
        LOG(LOG_WARN, "sensor %s has no routes in Redis: nothing to read", name);
    m->nfeeds++;
    return 0;
}

static bool have_feed(const struct multi *m, const char *name)
{
    for (unsigned i = 0; i < m->nfeeds; i++)
        if (strcmp(m->feeds[i].name, name) == 0)
            return true;
    return false;
}

/* --sensor, else every sensor that writes bins (new ones join when following). */
static int list_sensors(struct multi *m)
{
    char key[300];
    struct query_names all = {0};
    const struct strlist *given = &m->o->sensors;
    int rc = 0;

    if (given->n) {
        for (unsigned i = 0; i < given->n && rc >= 0; i++)
            if (!have_feed(m, given->v[i]) && m->nfeeds < COMBINE_SENSORS_MAX)
                rc = add_feed(m, given->v[i]);
        return rc < 0 ? -1 : 0;
    }
    snprintf(key, sizeof key, "%ssensors", m->o->redis_prefix);
    if (query_set_members(m->r, key, &all, m->err, sizeof m->err) < 0)
        return -1;
    for (size_t i = 0; i < all.n && rc >= 0; i++)
        if (strcmp(all.v[i], m->o->id) != 0 && !have_feed(m, all.v[i]) &&
            m->nfeeds < COMBINE_SENSORS_MAX)
            rc = add_feed(m, all.v[i]);
    free(all.v);
    return rc < 0 ? -1 : 0;
}

/* ---- reading bins ---- */

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->b.start != y->b.start)
        return x->b.start < y->b.start ? -1 : 1;
    return x->route < y->route ? -1 : x->route > y->route;
}

/* The detector's counters of a member; members of older versions carry no conversation
 * starts: their new flows stand in for both directions. */
static void route_bin(struct feed *f, const struct sink_bin_row *b, struct detect_route_bin *rb)
{
    history_route_bin(b, rb);
    if (!b->has_starts) {
        if (!f->warned_old)
            LOG(LOG_WARN,
                "sensor %s: bins without conversation starts (an older version): "
                "new flows stand in for them",
                f->name);
        f->warned_old = true;
    }
}

/* Appends rows (sorted by start) up to start `upto` to the feed's queue. */
static void enqueue(struct feed *f, const struct row *rows, size_t n, int64_t upto)
{
    if (f->head > 0) { /* room at the end */
        memmove(f->q, f->q + f->head, f->n * sizeof *f->q);
        memmove(f->qr, f->qr + f->head * f->nroutes, f->n * f->nroutes * sizeof *f->qr);
        f->head = 0;
    }
    for (size_t i = 0; i < n && rows[i].b.start <= upto; i++) {
        const struct sink_bin_row *b = &rows[i].b;
        if (f->len == 0)
            f->len = (unsigned)b->len;
        if (b->len != f->len) {
            if (!f->warned_len)
                LOG(LOG_WARN, "sensor %s: bins of %" PRIu64 " s after bins of %u s: left out",
                    f->name, b->len, f->len);
            f->warned_len = true;
            continue;
        }
        struct qbin *q = f->n ? &f->q[f->n - 1] : NULL;
        if (!q || q->start != b->start) {
            if (f->n == 2 * CHUNK)
                break;
            q = &f->q[f->n++];
            *q = (struct qbin){.start = b->start, .len = f->len};
            memset(&f->qr[(f->n - 1) * f->nroutes], 0, f->nroutes * sizeof *f->qr);
        }
        q->partial = q->partial || (b->flags & 1);
        q->after_jump = q->after_jump || (b->flags & 2);
        q->present |= 1ull << rows[i].route;
        route_bin(f, b, &f->qr[(f->n - 1) * f->nroutes + rows[i].route]);
        f->newest = q->start + q->len;
    }
}

/* Every route of the sensor in one MULTI/EXEC: ZRANGEBYSCORE from f->next, CHUNK each. */
static int read_routes(struct multi *m, struct feed *f, struct redis_reply **exec)
{
    char from[32], to[32], key[600];
    const char *argv[8] = {"ZRANGEBYSCORE", key, from, to, "LIMIT", "0", CHUNK_TEXT};
    size_t lens[8];
    struct redis_reply *x;
    int rc = BO_REDIS_OK;

    snprintf(from, sizeof from, "%" PRId64, f->next);
    if (m->to == INT64_MAX)
        snprintf(to, sizeof to, "+inf");
    else
        snprintf(to, sizeof to, "(%" PRId64, m->to);
    const char *multi[] = {"MULTI"}, *exec_cmd[] = {"EXEC"};
    size_t one[] = {5}, four[] = {4};
    redis_append(m->r, 1, multi, one);
    for (unsigned r = 0; r < f->nroutes; r++) {
        sink_key(key, sizeof key, m->o->redis_prefix, f->name, "bins", f->routes[r]);
        for (int i = 0; i < 7; i++)
            lens[i] = strlen(argv[i]);
        redis_append(m->r, 7, argv, lens);
    }
    rc = redis_append(m->r, 1, exec_cmd, four);
    for (unsigned i = 0; rc == BO_REDIS_OK && i < f->nroutes + 1; i++) { /* OK, QUEUED... */
        rc = redis_read(m->r, &x, m->err, sizeof m->err);
        if (rc == BO_REDIS_OK && redis_reply_type(x) == BO_REDIS_R_ERROR) {
            size_t n;
            const char *s = redis_reply_str(x, &n);
            snprintf(m->err, sizeof m->err, "Redis refused reading %s: %.*s", f->name,
                     (int)(n > 200 ? 200 : n), s);
            rc = BO_REDIS_EREPLY;
        }
        redis_reply_free(x);
    }
    if (rc == BO_REDIS_OK)
        rc = redis_read(m->r, exec, m->err, sizeof m->err);
    if (rc == BO_REDIS_OK && redis_reply_len(*exec) != f->nroutes) {
        snprintf(m->err, sizeof m->err, "Redis did not run the reads of %s", f->name);
        redis_reply_free(*exec);
        rc = BO_REDIS_EREPLY;
    }
    return rc;
}

/* Reads the sensor's next chunk into its queue, unless enough is queued. Returns BO_REDIS_OK
 * or an error code with m->err. */
static int read_feed(struct multi *m, struct feed *f)
{
    struct redis_reply *x;
    int64_t upto = INT64_MAX, last = INT64_MIN;
    size_t nrows = 0, cap = (size_t)CHUNK * f->nroutes;

    if (f->nroutes == 0 || f->n > CHUNK / 2) {
        f->caught_up = f->nroutes == 0 || f->caught_up;
        return BO_REDIS_OK;
    }
    int rc = read_routes(m, f, &x);
    if (rc != BO_REDIS_OK)
        return rc;
    struct row *rows = malloc(cap * sizeof *rows);
    if (!rows) {
        redis_reply_free(x);
        snprintf(m->err, sizeof m->err, "out of memory");
        return BO_REDIS_EIO;
    }
    for (unsigned r = 0; r < f->nroutes; r++) {
        const struct redis_reply *list = redis_reply_at(x, r);
        size_t n = redis_reply_len(list);
        for (size_t i = 0; i < n && nrows < cap; i++) {
            size_t len;
            const char *s = redis_reply_str(redis_reply_at(list, i), &len);
            if (sink_parse_bin(s, len, &rows[nrows].b) == 0 && rows[nrows].b.len > 0) {
                rows[nrows].route = r;
                last = rows[nrows].b.start > last ? rows[nrows].b.start : last;
                nrows++;
            }
        }
        if (n >= CHUNK) { /* more to read: a later bin of another route may not be complete */
            size_t k;
            const char *s = redis_reply_str(redis_reply_at(list, n - 1), &k);
            struct sink_bin_row b;
            if (sink_parse_bin(s, k, &b) == 0 && b.start < upto)
                upto = b.start;
        }
    }
    redis_reply_free(x);
    qsort(rows, nrows, sizeof *rows, row_cmp);
    enqueue(f, rows, nrows, upto);
    free(rows);
    f->caught_up = upto == INT64_MAX;
    if (upto != INT64_MAX)
        f->next = upto + 1;
    else if (last != INT64_MIN)
        f->next = last + 1;
    return BO_REDIS_OK;
}

/* ---- steps ---- */

static void print_event(struct multi *m, const struct event *e)
{
    char line[512];

    if (m->o->json) {
        json_reset(&m->j);
        event_json(e, &m->j);
        json_print_line(&m->j);
    } else if (!m->o->quiet) {
        printf("%s\n", event_text(e, line, sizeof line));
    }
    if (fflush(stdout) != 0 && !m->output_failed) {
        m->output_failed = true;
        LOG(LOG_ERR, "cannot write to stdout");
    }
}

/* A combined event: printed and written, unless it belongs to the history read at start. */
static void raise_event(struct multi *m, const struct event *e)
{
    if (m->o->follow && !m->live) {
        m->unraised++;
        return;
    }
    m->events++;
    print_event(m, e);
    sink_event(m->sink, e);
}

static void log_sensor_event(const struct feed *f, const struct event *e)
{
    char line[512];
    bool blind = e->kind == EVENT_SENSOR_BLIND || e->kind == EVENT_SENSOR_OK;

    if (blind && e->kind == EVENT_SENSOR_BLIND)
        LOG(LOG_WARN, "sensor %s is blind since %" PRId64 ": it does not count until it sees again",
            f->name, e->since);
    else if (blind)
        LOG(LOG_WARN, "sensor %s sees again", f->name);
    LOG(LOG_INFO, "%s", event_text(e, line, sizeof line));
}

/* With --from: the sensor's bins before it teach its detector (a warm restart), so it
 * decides from the first bin read. */
static void warm_detector(struct multi *m, struct feed *f)
{
    char keybuf[DETECT_ROUTES_MAX][600], err[400], t[32];
    const char *keys[DETECT_ROUTES_MAX];
    struct history_stats st;

    for (unsigned r = 0; r < f->nroutes; r++) {
        sink_key(keybuf[r], sizeof keybuf[r], m->o->redis_prefix, f->name, "bins", f->routes[r]);
        keys[r] = keybuf[r];
    }
    if (history_warm(f->det, m->r, keys, m->from, &st, err, sizeof err) < 0)
        LOG(LOG_WARN, "sensor %s: no warm start (%s): its detector learns", f->name, err);
    else if (st.bins)
        LOG(LOG_INFO, "sensor %s: %" PRIu64 " bins before --from teach its detector (from %s)",
            f->name, st.bins, query_iso_time(st.first, t, sizeof t));
}

/* The sensor's detector, made when its first bin tells the bin length (with --from, warmed
 * by the bins before it); the combiner is made with the first sensor's, and learns the
 * sensor and its routes. */
static void start_detector(struct multi *m, struct feed *f)
{
    struct detect_config c;

    detect_defaults(&c, f->len);
    c.warmup = (unsigned)m->o->warmup;
    c.horizon = (unsigned)m->o->horizon;
    c.alarms_per_month = m->o->false_alarms;
    c.down_below = m->o->down_below;
    c.up_above = m->o->up_above;
    f->det = detect_new(&c, f->nroutes, f->names, f->name);
    if (f->det && m->o->from)
        warm_detector(m, f);
    if (!m->cb) {
        const struct combine_config cc = {.bin = c.bin, .coincide = c.coincide};
        m->cb = combine_new(&cc, m->o->id);
    }
    if (!f->det || !m->cb) {
        LOG(LOG_ERR, "sensor %s left out: out of memory", f->name);
        return;
    }
    f->cs = combine_sensor(m->cb, f->name);
    for (unsigned r = 0; r < f->nroutes; r++)
        f->cr[r] = combine_route(m->cb, f->routes[r]);
    if (f->cs < 0)
        LOG(LOG_WARN, "sensor %s left out: more than %d sensors", f->name, COMBINE_SENSORS_MAX);
}

/* Feeds the sensor's oldest queued bin to its detector. */
static void feed_one(struct multi *m, struct feed *f)
{
    struct qbin *q = &f->q[f->head];
    struct event ev[EVENTS_MAX];

    if (!f->det)
        start_detector(m, f);
    struct detect_bin b = {.start = q->start,
                           .len = q->len,
                           .partial = q->partial,
                           .after_jump =
                               q->after_jump || (f->fed_end != INT64_MIN && q->start > f->fed_end),
                           .nroutes = f->nroutes,
                           .routes = &f->qr[f->head * f->nroutes]};
    unsigned n = f->det ? detect_feed(f->det, &b, ev, EVENTS_MAX) : 0;
    for (unsigned i = 0; i < n; i++)
        log_sensor_event(f, &ev[i]);
    f->present = q->present;
    f->fed_end = q->start + q->len;
    f->head++;
    f->n--;
}

static void log_notes(struct multi *m)
{
    const struct combine_note *notes;
    char t[32];
    unsigned n = combine_notes(m->cb, &notes);

    for (unsigned i = 0; i < n; i++) {
        const char *s = combine_sensor_name(m->cb, notes[i].sensor);
        const char *r = combine_route_name(m->cb, notes[i].route);
        query_iso_time(notes[i].since, t, sizeof t);
        if (notes[i].kind == COMBINE_ALONE_DOWN)
            LOG(LOG_WARN,
                "sensor %s lost route %s at %s, %u other sensor(s) still see it: a problem at "
                "%s, not a route outage",
                s, r, t, notes[i].others_up, s);
        else
            LOG(LOG_WARN, "sensor %s sees route %s again (lost at %s)", s, r, t);
    }
}

/* The sensors' votes at the end of a step; a sensor without a bin ending here is silent. */
static void combine_at(struct multi *m, int64_t t)
{
    struct detect_route_status st;
    struct event ev[EVENTS_MAX];

    for (unsigned i = 0; i < m->nfeeds; i++) {
        const struct feed *f = &m->feeds[i];
        if (!f->det || f->cs < 0 || f->fed_end == INT64_MIN || t - f->fed_end >= (int64_t)f->len)
            continue;
        for (unsigned r = 0; r < f->nroutes; r++) {
            if (!(f->present & (1ull << r)) || f->cr[r] < 0)
                continue;
            detect_route_status(f->det, r, &st);
            combine_vote(m->cb, (unsigned)f->cs, (unsigned)f->cr[r], &st);
        }
    }
    unsigned n = combine_step(m->cb, t, ev, EVENTS_MAX);
    for (unsigned i = 0; i < n; i++)
        raise_event(m, &ev[i]);
    log_notes(m);
    m->steps++;
}

/* Feeds every queued bin that ends by `frontier`, in time order across sensors, combining
 * after each bin end. Bins that end before the last step combined (a sensor catching up)
 * are fed without a step. */
static void process(struct multi *m, int64_t frontier)
{
    for (;;) {
        int64_t t = INT64_MAX;
        for (unsigned i = 0; i < m->nfeeds; i++) {
            const struct feed *f = &m->feeds[i];
            if (f->n && f->q[f->head].start + f->q[f->head].len < t)
                t = f->q[f->head].start + f->q[f->head].len;
        }
        if (t == INT64_MAX || t > frontier)
            return;
        for (unsigned i = 0; i < m->nfeeds; i++) {
            struct feed *f = &m->feeds[i];
            if (f->n && f->q[f->head].start + f->q[f->head].len == t)
                feed_one(m, f);
        }
        if (t > m->last_step && m->cb) {
            combine_at(m, t);
            m->last_step = t;
        }
    }
}

/* How far every sensor's bins are known: without --follow, up to the slowest sensor that
 * has more to read; with --follow, up to the slowest sensor that still writes (one more
 * than three bins or polls behind the newest has stopped, and holds nobody back). */
static int64_t frontier(const struct multi *m)
{
    int64_t newest = INT64_MIN, edge = INT64_MAX;

    for (unsigned i = 0; i < m->nfeeds; i++)
        newest = m->feeds[i].newest > newest ? m->feeds[i].newest : newest;
    for (unsigned i = 0; i < m->nfeeds; i++) {
        const struct feed *f = &m->feeds[i];
        int64_t lag = 3 * (int64_t)(f->len > m->o->poll ? f->len : m->o->poll);
        bool holds =
            m->o->follow ? f->newest != INT64_MIN && f->newest >= newest - lag : !f->caught_up;
        if (holds && f->newest < edge)
            edge = f->newest;
    }
    return edge == INT64_MAX ? newest : edge;
}

/* The combined states (Pstate "ID/ROUTE", P{ID}:state:ROUTE) and this round's events, as
 * one unit. */
static void write_states(struct multi *m)
{
    struct detect_route_status st;

    if ((m->o->follow && !m->live) || !m->cb)
        return;
    for (unsigned r = 0; r < combine_nroutes(m->cb); r++) {
        combine_route_status(m->cb, r, &st);
        sink_route_state(m->sink, combine_route_name(m->cb, r), detect_state_name(st.state),
                         st.since, st.baseline_pps, st.observed_pps);
    }
    combine_country_status(m->cb, &st);
    sink_route_state(m->sink, "*", detect_state_name(st.state), st.since, st.baseline_pps,
                     st.observed_pps);
    sink_send(m->sink);
}

/* ---- the subcommand ---- */

/* One round: the sensors (new ones join when following), a chunk of each sensor's bins,
 * the steps they allow, the states. Sets *done when everything has been read and fed. */
static int round_trip(struct multi *m, bool *done)
{
    bool caught_up = true, empty = true;

    if ((m->nfeeds == 0 || m->o->follow) && list_sensors(m) < 0)
        return BO_REDIS_EIO;
    for (unsigned i = 0; i < m->nfeeds; i++) {
        int rc = read_feed(m, &m->feeds[i]);
        if (rc != BO_REDIS_OK)
            return rc;
        caught_up = caught_up && m->feeds[i].caught_up;
        empty = empty && m->feeds[i].n == 0;
    }
    process(m, frontier(m));
    for (unsigned i = 0; i < m->nfeeds; i++)
        empty = empty && m->feeds[i].n == 0;
    if (m->o->follow && caught_up && !m->live) {
        m->live = true;
        LOG(LOG_INFO,
            "history read (%" PRIu64 " steps, %" PRIu64 " events in it not raised): "
            "following",
            m->steps, m->unraised);
    }
    write_states(m);
    *done = caught_up && empty;
    return BO_REDIS_OK;
}

static int check_usage(struct multi *m, char *err, size_t errlen)
{
    const struct options *o = m->o;

    m->from = 0;
    m->to = INT64_MAX;
    if (o->nargs > 0)
        snprintf(err, errlen, "detect takes no arguments ('%.40s')", o->args[0]);
    else if (o->from && query_parse_time(o->from, &m->from) < 0)
        snprintf(err, errlen, "--from: bad time '%.40s' (epoch seconds or 2025-06-07T10:00:00Z)",
                 o->from);
    else if (o->to && query_parse_time(o->to, &m->to) < 0)
        snprintf(err, errlen, "--to: bad time '%.40s' (epoch seconds or 2025-06-07T10:00:00Z)",
                 o->to);
    else if (o->to && o->follow)
        snprintf(err, errlen, "--to and --follow do not go together");
    else if (!o->id[0] || strlen(o->id) >= RECORD_SENSOR_MAX)
        snprintf(err, errlen, "--id must have 1 to %d characters", RECORD_SENSOR_MAX - 1);
    else
        return 0;
    return -1;
}

static int start_sink(struct multi *m)
{
    const struct options *o = m->o;
    struct sink_config c = {
        .timeout_ms = (unsigned)o->redis_timeout,
        .prefix = o->redis_prefix,
        .sensor = o->id,
        .backlog = SINK_BACKLOG,
        .backlog_bytes = (size_t)64 << 20,
        .wait_when_full = true,
        .retention = o->retention,
        .stream_maxlen = o->stream_maxlen,
        .alerts_maxlen = o->stream_maxlen / 10 > 1000 ? o->stream_maxlen / 10 : 1000,
        .heartbeat_ttl = 3 * o->poll > 60 ? 3 * o->poll : 60,
    };
    if (redis_url_parse(o->redis, &c.url, m->err, sizeof m->err) < 0)
        return -1;
    m->sink = sink_new(&c, m->err, sizeof m->err);
    memset(&c.url, 0, sizeof c.url);
    return m->sink ? 0 : -1;
}

/* Reads until done (or, following, until stopped). Returns the exit status. */
static int run_rounds(struct multi *m)
{
    bool done = false;

    while (!stop_requested() && !m->output_failed) {
        int rc = round_trip(m, &done);
        if (rc == BO_REDIS_EIO && m->o->follow) {
            rc = query_reconnect(m->r, &m->io_log, m->err, sizeof m->err);
            if (rc == BO_REDIS_OK || rc == BO_REDIS_EIO)
                continue;
        }
        if (rc != BO_REDIS_OK) {
            log_write(LOG_ERR, "%s", m->err);
            return 1;
        }
        if (!m->o->follow && m->nfeeds == 0) {
            log_write(LOG_ERR, "no sensor has written bins under the prefix '%s'",
                      m->o->redis_prefix);
            return 1;
        }
        if (done && !m->o->follow)
            break;
        if (done)
            stop_sleep_ms(m->o->poll * 1000);
    }
    return 0;
}

static int finish(struct multi *m, int rc)
{
    struct backlog_stats st;
    char where[300];

    if (m->sink && sink_close(m->sink, m->o->flush_timeout * 1000) > 0) {
        sink_stats(m->sink, &st);
        log_write(LOG_ERR,
                  "%" PRIu64 " events not written to Redis at %s within --flush-timeout %" PRIu64
                  " s; last error: %s",
                  st.pending_events, sink_where(m->sink, where, sizeof where), m->o->flush_timeout,
                  st.last_error[0] ? st.last_error : "no answer");
        rc = 1;
    }
    LOG(LOG_INFO, "%u sensors, %" PRIu64 " steps, %" PRIu64 " events", m->nfeeds, m->steps,
        m->events);
    if (m->output_failed)
        rc = 1;
    for (unsigned i = 0; m->feeds && i < m->nfeeds; i++)
        feed_free(&m->feeds[i]);
    free(m->feeds);
    sink_free(m->sink);
    combine_free(m->cb);
    redis_free(m->r);
    json_free(&m->j);
    return rc;
}

int multidetect_run(const struct options *o)
{
    struct multi m = {.o = o, .last_step = INT64_MIN, .io_log = {.interval_ms = 10000}};

    json_init(&m.j);
    if (check_usage(&m, m.err, sizeof m.err) < 0) {
        log_write(LOG_ERR, "%s", m.err);
        return 2;
    }
    if (stop_install() < 0) {
        log_write(LOG_ERR, "cannot install signal handlers: %s", strerror(errno));
        return 1;
    }
    m.feeds = calloc(COMBINE_SENSORS_MAX, sizeof *m.feeds);
    m.r = query_open(o, "blackout-detect", m.err, sizeof m.err);
    if (!m.feeds || !m.r || start_sink(&m) < 0) {
        log_write(LOG_ERR, "%s", m.feeds ? m.err : "out of memory");
        return finish(&m, 1);
    }
    return finish(&m, run_rounds(&m));
}
