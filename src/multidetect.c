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

#define CHUNK_MAX     1000  /* bins per pair and read */
#define CHUNK_MIN     16    /* ... however many pairs a sensor has */
#define CHUNK_CELLS   64000 /* pairs x bins per read */
#define FEED_PAIRS    4096  /* pairs of one sensor read */
#define COUNTRIES_MAX 1024  /* countries combined */
#define EVENTS_MAX    (2 * COMBINE_ROUTES_MAX + 4)
#define SINK_BACKLOG  1000 /* units: one per round */

/* A bin read and not yet fed; its pairs' counters are in feed.qr. */
struct qbin {
    int64_t start;
    unsigned len;
    bool partial, after_jump;
};

/* One pair's counters in a queued bin. */
struct qcell {
    struct detect_route_bin rb;
    bool present; /* the pair has a member for this start */
};

/* One country at one sensor: its routes (pairs of the feed), its detector, and where they
 * are in the country's combiner. */
struct fcountry {
    unsigned mc; /* index in multi.countries */
    unsigned nroutes;
    unsigned pair[DETECT_ROUTES_MAX]; /* the feed's pair of route r */
    int cr[DETECT_ROUTES_MAX];        /* route r in the combiner (-1: not in it) */
    int cs;                           /* the sensor in the combiner (-1: not in it) */
    struct detect *det;               /* made at the sensor's first bin (the bin length) */
    unsigned det_routes;              /* the routes det was made with (the first ones) */
    int64_t fed_end;                  /* end of the last bin fed to det, INT64_MIN before */
};

/* One sensor: its pairs, a detector per country, the bins read ahead. */
struct feed {
    char name[QUERY_NAME_MAX];
    struct query_pair *pairs; /* [cap] */
    unsigned npairs, cap;
    struct fcountry *fc;
    unsigned nfc;
    bool *present;  /* [cap]: pairs present in the last bin fed */
    unsigned chunk; /* bins per pair and read */
    unsigned len;
    int64_t next;    /* the next read starts here */
    int64_t fed_end; /* end of the last bin fed, INT64_MIN before */
    int64_t newest;  /* end of the newest bin read, INT64_MIN before */
    bool caught_up;  /* the last read reached the newest bin written */
    bool warned_len, warned_old, warned_full;
    struct qbin *q;       /* [qcap] */
    struct qcell *qr;     /* [slot * cap + pair] */
    size_t qcap, head, n; /* queued: q[head .. head+n) */
};

/* A country: the combiner of its sensors' views (made with the first detector). */
struct mcountry {
    char cc[RECORD_CC_MAX];
    struct combine *cb;
};

struct multi {
    const struct options *o;
    struct redis *r;
    struct sink *sink;
    struct feed *feeds;
    unsigned nfeeds;
    struct mcountry *countries;
    unsigned ncountries;
    int64_t from, to;
    int64_t last_step; /* end of the last step combined */
    bool live;         /* --follow: history read, events are raised from now on */
    bool output_failed;
    uint64_t events, unraised, steps;
    struct json j;
    struct log_limit io_log;
    char err[600];
};

/* One member read back, for the merge of a sensor's pairs. */
struct row {
    unsigned pair;
    struct sink_bin_row b;
};

/* ---- sensors, countries and pairs ---- */

static void feed_free(struct feed *f)
{
    for (unsigned i = 0; f->fc && i < f->nfc; i++)
        detect_free(f->fc[i].det);
    free(f->fc);
    free(f->pairs);
    free(f->present);
    free(f->q);
    free(f->qr);
}

/* The index of a country, added (without a combiner yet) when new. Returns -1 when there
 * are COUNTRIES_MAX already. */
static int country_index(struct multi *m, const char *cc)
{
    for (unsigned i = 0; i < m->ncountries; i++)
        if (strcmp(m->countries[i].cc, cc) == 0)
            return (int)i;
    if (m->ncountries == COUNTRIES_MAX)
        return -1;
    struct mcountry *c = &m->countries[m->ncountries];
    text_copy(c->cc, sizeof c->cc, cc);
    c->cb = NULL;
    return (int)m->ncountries++;
}

/* Room for `cap` pairs: the queue laid out again (rows cap wide), a read size that keeps a
 * read within CHUNK_CELLS. Returns 0, or -1 when out of memory (the feed unchanged). */
static int feed_layout(struct feed *f, unsigned cap)
{
    unsigned chunk = CHUNK_CELLS / cap;
    chunk = chunk > CHUNK_MAX ? CHUNK_MAX : chunk < CHUNK_MIN ? CHUNK_MIN : chunk;
    size_t qcap = 2 * (size_t)chunk > f->n ? 2 * (size_t)chunk : f->n;
    struct query_pair *pairs = realloc(f->pairs, cap * sizeof *pairs);
    if (pairs)
        f->pairs = pairs;
    bool *present = pairs ? calloc(cap, sizeof *present) : NULL;
    struct qbin *q = present ? calloc(qcap, sizeof *q) : NULL;
    struct qcell *qr = q ? calloc(qcap * cap, sizeof *qr) : NULL;
    if (!qr) {
        free(present);
        free(q);
        return -1;
    }
    for (size_t i = 0; i < f->n; i++) {
        q[i] = f->q[f->head + i];
        memcpy(&qr[i * cap], &f->qr[(f->head + i) * f->cap], f->npairs * sizeof *qr);
    }
    if (f->present)
        memcpy(present, f->present, f->npairs * sizeof *present);
    free(f->present);
    free(f->q);
    free(f->qr);
    f->present = present;
    f->q = q;
    f->qr = qr;
    f->qcap = qcap;
    f->head = 0;
    f->cap = cap;
    f->chunk = chunk;
    return 0;
}

/* With --from: the bins of a sensor's country before it teach its new detector (a warm
 * restart), so it decides from the first bin read. */
static void warm_detector(struct multi *m, struct feed *f, struct fcountry *fc, struct detect *d)
{
    char keybuf[DETECT_ROUTES_MAX][600], err[400], t[32];
    const char *keys[DETECT_ROUTES_MAX];
    struct history_stats st;
    const char *cc = m->countries[fc->mc].cc;

    for (unsigned r = 0; r < fc->nroutes; r++) {
        sink_pair_key(keybuf[r], sizeof keybuf[r], m->o->redis_prefix, f->name, "bins", cc,
                      f->pairs[fc->pair[r]].route);
        keys[r] = keybuf[r];
    }
    if (history_warm(d, m->r, keys, m->from, &st, err, sizeof err) < 0)
        LOG(LOG_WARN, "sensor %s, %s: no warm start (%s): its detector learns", f->name, cc, err);
    else if (st.bins)
        LOG(LOG_INFO, "sensor %s, %s: %" PRIu64 " bins before --from teach its detector (from %s)",
            f->name, cc, st.bins, query_iso_time(st.first, t, sizeof t));
}

/* The detector of a country at a sensor over its routes now (they may have grown: the
 * former detector's state carries over; a first one is warmed with --from). Its combiner is
 * made with the first detector of the country. Returns 0, or -1 when out of memory (logged;
 * the country is left out). */
static int make_detector(struct multi *m, struct feed *f, struct fcountry *fc)
{
    struct detect_config c;
    const char *names[DETECT_ROUTES_MAX];
    int from[DETECT_ROUTES_MAX];
    unsigned had = fc->det ? fc->det_routes : 0;
    struct mcountry *mc = &m->countries[fc->mc];

    detect_defaults(&c, f->len);
    c.warmup = (unsigned)m->o->warmup;
    c.horizon = (unsigned)m->o->horizon;
    c.alarms_per_month = m->o->false_alarms;
    c.down_below = m->o->down_below;
    c.up_above = m->o->up_above;
    for (unsigned r = 0; r < fc->nroutes; r++) {
        names[r] = f->pairs[fc->pair[r]].route;
        from[r] = r < had ? (int)r : -1;
    }
    struct detect *d = detect_new(&c, fc->nroutes, names, f->name);
    if (d && fc->det && detect_take_over(d, fc->det, from) < 0)
        LOG(LOG_WARN, "sensor %s, %s: its routes start learning again", f->name, mc->cc);
    else if (d && !fc->det && m->o->from)
        warm_detector(m, f, fc, d);
    if (!mc->cb) {
        const struct combine_config cc = {.bin = c.bin, .coincide = c.coincide};
        mc->cb = combine_new(&cc, m->o->id, mc->cc);
    }
    if (!d || !mc->cb) {
        detect_free(d);
        LOG(LOG_ERR, "sensor %s, country %s left out: out of memory", f->name, mc->cc);
        return -1;
    }
    detect_free(fc->det);
    fc->det = d;
    fc->det_routes = fc->nroutes;
    fc->cs = combine_sensor(mc->cb, f->name);
    for (unsigned r = 0; r < fc->nroutes; r++)
        fc->cr[r] = combine_route(mc->cb, names[r]);
    if (fc->cs < 0)
        LOG(LOG_WARN, "sensor %s left out of %s: more than %d sensors", f->name, mc->cc,
            COMBINE_SENSORS_MAX);
    return 0;
}

/* The feed's country of code cc, added when new. Returns NULL (logged) when it cannot be. */
static struct fcountry *feed_country(struct multi *m, struct feed *f, const char *cc)
{
    for (unsigned i = 0; i < f->nfc; i++)
        if (strcmp(m->countries[f->fc[i].mc].cc, cc) == 0)
            return &f->fc[i];
    int mc = country_index(m, cc);
    struct fcountry *fc = mc < 0 ? NULL : realloc(f->fc, (f->nfc + 1) * sizeof *fc);
    if (!fc) {
        LOG(LOG_WARN, "sensor %s: country %s left out (more than %d countries, or out of memory)",
            f->name, cc, COUNTRIES_MAX);
        return NULL;
    }
    f->fc = fc;
    fc = &f->fc[f->nfc++];
    memset(fc, 0, sizeof *fc);
    fc->mc = (unsigned)mc;
    fc->cs = -1;
    fc->fed_end = INT64_MIN;
    return fc;
}

/* Adds the pairs of `got` the feed does not have yet; the detectors of the countries that
 * gained routes are made again (their state carries over). */
static void add_pairs(struct multi *m, struct feed *f, const struct query_pairs *got)
{
    bool grown[COUNTRIES_MAX] = {false};

    for (size_t i = 0; i < got->n; i++) {
        const struct query_pair *p = &got->v[i];
        unsigned k;
        for (k = 0; k < f->npairs && (strcmp(f->pairs[k].cc, p->cc) != 0 ||
                                      strcmp(f->pairs[k].route, p->route) != 0);
             k++)
            ;
        if (k < f->npairs)
            continue;
        struct fcountry *fc = feed_country(m, f, p->cc);
        if (!fc)
            continue;
        if (fc->nroutes == DETECT_ROUTES_MAX || strlen(p->route) >= RECORD_NAME_MAX ||
            (f->npairs == f->cap &&
             (f->cap == FEED_PAIRS ||
              feed_layout(f, f->cap > FEED_PAIRS / 2 ? FEED_PAIRS : 2 * f->cap) < 0))) {
            LOG(LOG_WARN, "sensor %s: %s/%.40s left out (too many routes or too long a name)",
                f->name, p->cc, p->route);
            continue;
        }
        f->pairs[f->npairs] = *p;
        fc->pair[fc->nroutes++] = f->npairs++;
        grown[fc - f->fc] = true;
    }
    for (unsigned i = 0; f->len && i < f->nfc; i++)
        if (grown[i] && f->fc[i].det)
            make_detector(m, f, &f->fc[i]);
}

/* Reads the sensor's pairs (the countries --country takes) and adds the new ones. Returns
 * 0, or -1 on a Redis error (m->err). */
static int refresh_pairs(struct multi *m, struct feed *f)
{
    struct query_pairs got;

    if (query_sensor_pairs(m->r, m->o, f->name, &got, m->err, sizeof m->err) < 0)
        return -1;
    add_pairs(m, f, &got);
    free(got.v);
    return 0;
}

/* A feed for sensor name. Returns 0, 1 when it cannot be added (logged), or -1 on a Redis
 * error (m->err). */
static int add_feed(struct multi *m, const char *name)
{
    struct feed *f = &m->feeds[m->nfeeds];

    if (strlen(name) >= RECORD_SENSOR_MAX) {
        LOG(LOG_WARN, "sensor '%.60s' left out (a name too long)", name);
        return 1;
    }
    memset(f, 0, sizeof *f);
    text_copy(f->name, sizeof f->name, name);
    f->next = m->from;
    f->fed_end = f->newest = INT64_MIN;
    if (feed_layout(f, 4) < 0) {
        feed_free(f);
        snprintf(m->err, sizeof m->err, "out of memory");
        return -1;
    }
    if (refresh_pairs(m, f) < 0) {
        feed_free(f);
        return -1;
    }
    if (f->npairs == 0 && !m->o->countries) /* perhaps a writer of events only (a detect) */
        LOG(m->o->sensors.n ? LOG_WARN : LOG_INFO,
            "sensor %s has no pairs in Redis: nothing to read", name);
    else if (f->npairs == 0)
        LOG(LOG_INFO, "sensor %s has no pairs of %s in Redis", name, m->o->countries);
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

/* --sensor, else every sensor that writes bins (new ones join when following, and so do
 * the new pairs of the sensors read). */
static int list_sensors(struct multi *m)
{
    char key[300];
    struct query_names all = {0};
    const struct strlist *given = &m->o->sensors;
    int rc = 0;

    for (unsigned i = 0; i < m->nfeeds && rc == 0; i++)
        rc = refresh_pairs(m, &m->feeds[i]);
    if (given->n) {
        for (unsigned i = 0; i < given->n && rc >= 0; i++)
            if (!have_feed(m, given->v[i]) && m->nfeeds < COMBINE_SENSORS_MAX)
                rc = add_feed(m, given->v[i]);
        return rc < 0 ? -1 : 0;
    }
    snprintf(key, sizeof key, "%ssensors", m->o->redis_prefix);
    if (rc < 0 || query_set_members(m->r, key, &all, m->err, sizeof m->err) < 0)
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
    return x->pair < y->pair ? -1 : x->pair > y->pair;
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
        memmove(f->qr, f->qr + f->head * f->cap, f->n * f->cap * sizeof *f->qr);
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
            if (f->n == f->qcap)
                break;
            q = &f->q[f->n++];
            *q = (struct qbin){.start = b->start, .len = f->len};
            memset(&f->qr[(f->n - 1) * f->cap], 0, f->cap * sizeof *f->qr);
        }
        q->partial = q->partial || (b->flags & 1);
        q->after_jump = q->after_jump || (b->flags & 2);
        struct qcell *cell = &f->qr[(f->n - 1) * f->cap + rows[i].pair];
        cell->present = true;
        route_bin(f, b, &cell->rb);
        f->newest = q->start + q->len;
    }
}

/* Every pair of the sensor in one MULTI/EXEC: ZRANGEBYSCORE from f->next, f->chunk each
 * (redis_transaction: in a cluster, on the node of the sensor's slot, again while it moves). */
static int read_pairs(struct multi *m, struct feed *f, struct redis_reply **exec)
{
    enum { ARGS = 7, KEY = 400 };
    char from[32], to[32], chunk[24], why[300];
    char(*keys)[KEY] = malloc(f->npairs * sizeof *keys);
    const char *(*argv)[ARGS] = malloc(f->npairs * sizeof *argv);
    size_t(*lens)[ARGS] = malloc(f->npairs * sizeof *lens);
    struct redis_cmd *cmds = malloc(f->npairs * sizeof *cmds);
    int rc = BO_REDIS_EIO;

    snprintf(m->err, sizeof m->err, "out of memory");
    if (!keys || !argv || !lens || !cmds)
        goto out;
    snprintf(from, sizeof from, "%" PRId64, f->next);
    if (m->to == INT64_MAX)
        snprintf(to, sizeof to, "+inf");
    else
        snprintf(to, sizeof to, "(%" PRId64, m->to);
    snprintf(chunk, sizeof chunk, "%u", f->chunk);
    for (unsigned p = 0; p < f->npairs; p++) {
        sink_pair_key(keys[p], KEY, m->o->redis_prefix, f->name, "bins", f->pairs[p].cc,
                      f->pairs[p].route);
        const char *a[ARGS] = {"ZRANGEBYSCORE", keys[p], from, to, "LIMIT", "0", chunk};
        for (int i = 0; i < ARGS; i++) {
            argv[p][i] = a[i];
            lens[p][i] = strlen(a[i]);
        }
        cmds[p] = (struct redis_cmd){.argc = ARGS, .argv = argv[p], .lens = lens[p]};
    }
    rc = redis_transaction(m->r, f->npairs, cmds, exec, why, sizeof why);
    if (rc == BO_REDIS_EREPLY)
        snprintf(m->err, sizeof m->err, "Redis refused reading %s: %s", f->name, why);
    else if (rc != BO_REDIS_OK)
        snprintf(m->err, sizeof m->err, "%s", why);
out:
    free(keys);
    free(argv);
    free(lens);
    free(cmds);
    return rc;
}

/* The rows of a MULTI/EXEC reply; *upto lowers to the last start of a pair that has more
 * to read (a later bin of another pair may not be complete). Returns how many. */
static size_t parse_rows(struct feed *f, const struct redis_reply *x, struct row *rows, size_t cap,
                         int64_t *upto, int64_t *last)
{
    size_t nrows = 0;

    for (unsigned p = 0; p < f->npairs; p++) {
        const struct redis_reply *list = redis_reply_at(x, p);
        size_t n = redis_reply_len(list);
        for (size_t i = 0; i < n && nrows < cap; i++) {
            size_t len;
            const char *s = redis_reply_str(redis_reply_at(list, i), &len);
            if (sink_parse_bin(s, len, &rows[nrows].b) == 0 && rows[nrows].b.len > 0) {
                rows[nrows].pair = p;
                *last = rows[nrows].b.start > *last ? rows[nrows].b.start : *last;
                nrows++;
            }
        }
        if (n >= f->chunk) {
            size_t k;
            const char *s = redis_reply_str(redis_reply_at(list, n - 1), &k);
            struct sink_bin_row b;
            if (sink_parse_bin(s, k, &b) == 0 && b.start < *upto)
                *upto = b.start;
        }
    }
    return nrows;
}

/* Reads the sensor's next chunk into its queue, unless enough is queued. Returns BO_REDIS_OK
 * or an error code with m->err. */
static int read_feed(struct multi *m, struct feed *f)
{
    struct redis_reply *x;
    int64_t upto = INT64_MAX, last = INT64_MIN;
    size_t cap = (size_t)f->chunk * f->npairs;

    if (f->npairs == 0 || f->n > f->chunk / 2) {
        f->caught_up = f->npairs == 0 || f->caught_up;
        return BO_REDIS_OK;
    }
    int rc = read_pairs(m, f, &x);
    if (rc != BO_REDIS_OK)
        return rc;
    struct row *rows = malloc(cap * sizeof *rows);
    if (!rows) {
        redis_reply_free(x);
        snprintf(m->err, sizeof m->err, "out of memory");
        return BO_REDIS_EIO;
    }
    size_t nrows = parse_rows(f, x, rows, cap, &upto, &last);
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

/* A sensor's own event (logged with -v); blindness warned of once per sensor, by its first
 * country's detector. */
static void log_sensor_event(const struct feed *f, const struct fcountry *fc, const char *cc,
                             struct event *e)
{
    char line[512];
    bool own = e->kind == EVENT_SENSOR_BLIND || e->kind == EVENT_SENSOR_OK;

    if (own && fc != f->fc)
        return;
    text_copy(e->country, sizeof e->country, own ? "*" : cc);
    if (e->kind == EVENT_SENSOR_BLIND)
        LOG(LOG_WARN, "sensor %s is blind since %" PRId64 ": it does not count until it sees again",
            f->name, e->since);
    else if (own)
        LOG(LOG_WARN, "sensor %s sees again", f->name);
    LOG(LOG_INFO, "%s", event_text(e, line, sizeof line));
}

/* Feeds the sensor's oldest queued bin to the detector of each of its countries (made when
 * the first bin tells the bin length) that has a pair in it: a country none of whose pairs
 * has a member for this start has no data here (not watched then), not silence. */
static void feed_one(struct multi *m, struct feed *f)
{
    struct qbin *q = &f->q[f->head];
    const struct qcell *cells = &f->qr[f->head * f->cap];
    struct detect_route_bin rb[DETECT_ROUTES_MAX];
    struct event ev[EVENTS_MAX];

    for (unsigned c = 0; c < f->nfc; c++) {
        struct fcountry *fc = &f->fc[c];
        bool any = false;
        for (unsigned r = 0; r < fc->nroutes; r++) {
            rb[r] = cells[fc->pair[r]].rb;
            any = any || cells[fc->pair[r]].present;
        }
        if (!any || (!fc->det && make_detector(m, f, fc) < 0))
            continue;
        struct detect_bin b = {.start = q->start,
                               .len = q->len,
                               .partial = q->partial,
                               .after_jump = q->after_jump ||
                                             (fc->fed_end != INT64_MIN && q->start > fc->fed_end),
                               .nroutes = fc->nroutes,
                               .routes = rb};
        unsigned n = detect_feed(fc->det, &b, ev, EVENTS_MAX);
        for (unsigned i = 0; i < n; i++)
            log_sensor_event(f, fc, m->countries[fc->mc].cc, &ev[i]);
        fc->fed_end = q->start + q->len;
    }
    for (unsigned p = 0; p < f->npairs; p++)
        f->present[p] = cells[p].present;
    f->fed_end = q->start + q->len;
    f->head++;
    f->n--;
}

static void log_notes(const struct mcountry *mc)
{
    const struct combine_note *notes;
    char t[32];
    unsigned n = combine_notes(mc->cb, &notes);

    for (unsigned i = 0; i < n; i++) {
        const char *s = combine_sensor_name(mc->cb, notes[i].sensor);
        const char *r = combine_route_name(mc->cb, notes[i].route);
        query_iso_time(notes[i].since, t, sizeof t);
        if (notes[i].kind == COMBINE_ALONE_DOWN)
            LOG(LOG_WARN,
                "sensor %s lost route %s/%s at %s, %u other sensor(s) still see it: a problem "
                "at %s, not a route outage",
                s, mc->cc, r, t, notes[i].others_up, s);
        else
            LOG(LOG_WARN, "sensor %s sees route %s/%s again (lost at %s)", s, mc->cc, r, t);
    }
}

/* One sensor's votes on its countries' routes: those with a member in its last bin. */
static void vote(struct multi *m, const struct feed *f)
{
    struct detect_route_status st;

    for (unsigned c = 0; c < f->nfc; c++) {
        const struct fcountry *fc = &f->fc[c];
        struct combine *cb = m->countries[fc->mc].cb;
        if (!fc->det || fc->cs < 0 || !cb)
            continue;
        for (unsigned r = 0; r < fc->nroutes; r++) {
            if (!f->present[fc->pair[r]] || fc->cr[r] < 0)
                continue;
            detect_route_status(fc->det, r, &st);
            combine_vote(cb, (unsigned)fc->cs, (unsigned)fc->cr[r], &st);
        }
    }
}

/* The sensors' votes at the end of a step, every country's combiner; a sensor without a
 * bin ending here is silent. */
static void combine_at(struct multi *m, int64_t t)
{
    struct event ev[EVENTS_MAX];

    for (unsigned i = 0; i < m->nfeeds; i++) {
        const struct feed *f = &m->feeds[i];
        if (f->fed_end != INT64_MIN && t - f->fed_end < (int64_t)f->len)
            vote(m, f);
    }
    for (unsigned c = 0; c < m->ncountries; c++) {
        if (!m->countries[c].cb)
            continue;
        unsigned n = combine_step(m->countries[c].cb, t, ev, EVENTS_MAX);
        for (unsigned i = 0; i < n; i++)
            raise_event(m, &ev[i]);
        log_notes(&m->countries[c]);
    }
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
        if (t > m->last_step && m->ncountries > 0) {
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

/* The combined states of every country (Pstate "ID/CC/R", P{ID}:state:CC:R, and "*" for the
 * country) and this round's events, as one unit. */
static void write_states(struct multi *m)
{
    struct detect_route_status st;

    if (m->o->follow && !m->live)
        return;
    for (unsigned c = 0; c < m->ncountries; c++) {
        const struct mcountry *mc = &m->countries[c];
        if (!mc->cb)
            continue;
        for (unsigned r = 0; r < combine_nroutes(mc->cb); r++) {
            combine_route_status(mc->cb, r, &st);
            sink_route_state(m->sink, mc->cc, combine_route_name(mc->cb, r),
                             detect_state_name(st.state), st.since, st.baseline_pps,
                             st.observed_pps);
        }
        combine_country_status(mc->cb, &st);
        sink_route_state(m->sink, mc->cc, "*", detect_state_name(st.state), st.since,
                         st.baseline_pps, st.observed_pps);
    }
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
    if (config_redis_url(o, &c.url, m->err, sizeof m->err) < 0)
        return -1;
    c.min_replicas = config_min_replicas(o, &c.url);
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
    for (unsigned c = 0; m->countries && c < m->ncountries; c++)
        combine_free(m->countries[c].cb);
    free(m->countries);
    sink_free(m->sink);
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
    m.countries = calloc(COUNTRIES_MAX, sizeof *m.countries);
    m.r = m.feeds && m.countries ? query_open(o, "blackout-detect", m.err, sizeof m.err) : NULL;
    if (!m.r || start_sink(&m) < 0) {
        log_write(LOG_ERR, "%s", m.feeds && m.countries ? m.err : "out of memory");
        return finish(&m, 1);
    }
    return finish(&m, run_rounds(&m));
}
