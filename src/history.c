/* history — stored bins back into a detector (warm restart). See history.h. */
#include "history.h"

#include "redis.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_BINS 2048 /* bins of every route held at once while warming */
#define EVENTS_MAX  (2 * DETECT_ROUTES_MAX + 4)

/* One ZRANGEBYSCORE key [from, to) WITHSCORES LIMIT 0 HISTORY_CHUNK. */
static int read_chunk(struct redis *r, const char *key, int64_t from, int64_t to,
                      struct redis_reply **x, char *err, size_t errlen)
{
    char lo[32], hi[32], chunk[16];
    snprintf(lo, sizeof lo, "%" PRId64, from);
    snprintf(hi, sizeof hi, "(%" PRId64, to);
    snprintf(chunk, sizeof chunk, "%d", HISTORY_CHUNK);
    const char *argv[] = {"ZRANGEBYSCORE", key, lo, hi, "WITHSCORES", "LIMIT", "0", chunk};
    size_t lens[8];
    for (int i = 0; i < 8; i++)
        lens[i] = strlen(argv[i]);
    int rc = redis_call(r, 8, argv, lens, x, err, errlen);
    if (rc != BO_REDIS_OK)
        return -1;
    if (redis_reply_type(*x) != BO_REDIS_R_ARRAY || redis_reply_len(*x) % 2) {
        snprintf(err, errlen, "%.200s: not a sorted set of bins", key);
        redis_reply_free(*x);
        return -1;
    }
    return 0;
}

/* The score of a member (its bin start), or INT64_MIN. */
static int64_t score_of(const struct redis_reply *x)
{
    char buf[32], *end;
    size_t n;
    const char *s = redis_reply_str(x, &n);
    if (n == 0 || n >= sizeof buf)
        return INT64_MIN;
    memcpy(buf, s, n);
    buf[n] = '\0';
    double v = strtod(buf, &end);
    return *end == '\0' && v > -9.2e18 && v < 9.2e18 ? (int64_t)v : INT64_MIN;
}

long history_read(struct redis *r, const char *key, int64_t from, int64_t to, history_fn fn,
                  void *ctx, char *err, size_t errlen)
{
    long passed = 0;
    while (from < to) {
        struct redis_reply *x;
        if (read_chunk(r, key, from, to, &x, err, errlen) < 0)
            return -1;
        size_t n = redis_reply_len(x) / 2;
        int64_t last = from - 1;
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const char *s = redis_reply_str(redis_reply_at(x, 2 * i), &len);
            int64_t at = score_of(redis_reply_at(x, 2 * i + 1));
            struct sink_bin_row row;
            last = at > last ? at : last;
            if (sink_parse_bin(s, len, &row) == 0 && row.start >= from && row.start < to) {
                fn(ctx, &row);
                passed++;
            }
        }
        redis_reply_free(x);
        if (n < HISTORY_CHUNK)
            break;
        from = last + 1; /* one member per bin start: the next chunk starts after it */
    }
    return passed;
}

void history_route_bin(const struct sink_bin_row *b, struct detect_route_bin *rb)
{
    *rb = (struct detect_route_bin){.pkts = {b->c.pkts_in, b->c.pkts_out},
                                    .starts = {b->c.starts_in, b->c.starts_out},
                                    .ctl_pkts = b->c.ctl_pkts,
                                    .drops = b->c.drops};
    if (!b->has_starts)
        rb->starts[0] = rb->starts[1] = b->c.flows_new;
}

/* A window of every route's bins, filled by history_read. */
struct window {
    int64_t from;
    unsigned bin, nroutes, route;
    uint8_t *flags;                /* [slot]: 1 present, 2 partial, 4 after a jump */
    struct detect_route_bin *rows; /* [slot * nroutes + route] */
    struct history_stats *st;
};

static void window_put(void *ctx, const struct sink_bin_row *row)
{
    struct window *w = ctx;
    if (row->len != w->bin) {
        w->st->other_len++;
        return;
    }
    int64_t slot = (row->start - w->from) / (int64_t)w->bin;
    if (slot < 0 || slot >= WINDOW_BINS || (row->start - w->from) % (int64_t)w->bin)
        return;
    w->flags[slot] |= 1 | (row->flags & 1 ? 2 : 0) | (row->flags & 2 ? 4 : 0);
    history_route_bin(row, &w->rows[(size_t)slot * w->nroutes + w->route]);
}

/* Feeds the window's bins in time order; *fed_end is the end of the last bin fed. */
static void window_feed(struct detect *d, struct window *w, int64_t *fed_end)
{
    struct event ev[EVENTS_MAX];
    for (unsigned s = 0; s < WINDOW_BINS; s++) {
        if (!(w->flags[s] & 1))
            continue;
        int64_t start = w->from + (int64_t)s * w->bin;
        struct detect_bin b = {.start = start,
                               .len = w->bin,
                               .partial = w->flags[s] & 2,
                               .after_jump = (w->flags[s] & 4) ||
                                             (*fed_end != INT64_MIN && start != *fed_end),
                               .nroutes = w->nroutes,
                               .routes = &w->rows[(size_t)s * w->nroutes]};
        detect_feed(d, &b, ev, EVENTS_MAX);
        if (w->st->first == INT64_MIN)
            w->st->first = start;
        w->st->bins++;
        *fed_end = start + w->bin;
    }
}

int history_warm(struct detect *d, struct redis *r, const char *const *keys, int64_t before,
                 struct history_stats *st, char *err, size_t errlen)
{
    unsigned bin = detect_config_of(d)->bin, nroutes = detect_nroutes(d);
    int64_t span = (int64_t)WINDOW_BINS * bin, fed_end = INT64_MIN;
    struct window w = {.bin = bin, .nroutes = nroutes, .st = st};
    int rc = 0;

    memset(st, 0, sizeof *st);
    st->first = INT64_MIN;
    w.flags = malloc(WINDOW_BINS);
    w.rows = malloc((size_t)WINDOW_BINS * nroutes * sizeof *w.rows);
    if (!w.flags || !w.rows) {
        snprintf(err, errlen, "out of memory for the history");
        rc = -1;
    }
    int64_t from = before > HISTORY_SPAN ? before - HISTORY_SPAN : 0;
    from -= from % (int64_t)bin; /* aligned as the bins are */
    for (w.from = from; rc == 0 && w.from < before; w.from += span) {
        int64_t to = w.from + span < before ? w.from + span : before;
        memset(w.flags, 0, WINDOW_BINS);
        memset(w.rows, 0, (size_t)WINDOW_BINS * nroutes * sizeof *w.rows);
        for (w.route = 0; rc == 0 && w.route < nroutes; w.route++)
            rc = history_read(r, keys[w.route], w.from, to, window_put, &w, err, errlen) < 0;
        if (rc == 0)
            window_feed(d, &w, &fed_end);
    }
    free(w.flags);
    free(w.rows);
    return rc ? -1 : 0;
}
