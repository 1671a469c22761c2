/* metrics — the Prometheus endpoint: GET /metrics in the text exposition format 0.0.4.
 *
 * Beside the pipeline, not in it, and the only module that includes microhttpd.h. The
 * capture loop (or replay) fills a snapshot of the sensor's state (observe.h builds it from
 * struct sensor) and publishes it once per closed bin or tick; libmicrohttpd's own thread
 * answers every request from the latest published snapshot. The packet thread never waits
 * for a request, nor a request for the packet thread.
 *
 * Three snapshots (a triple buffer), each owned by one side at a time:
 *   back   the publisher's: filled at leisure, without a lock
 *   ready  the latest published one, not yet taken by the reader
 *   front  the reader's: rendered at leisure, without a lock
 * metrics_publish swaps back and ready and marks ready fresh; metrics_take swaps front and
 * ready when ready is fresh. Both hold the mutex only for that pointer swap, so neither side
 * ever waits for the other's filling or rendering, and a request always renders a complete
 * snapshot: the latest published (or the one it rendered before, when nothing new came).
 *
 * Locks and threads: `mu` guards `ready`, `fresh` and `published` (struct metrics, in
 * metrics.c). `back` belongs to the publishing thread (the capture loop); `front` and the
 * render buffer to the reading thread, which is libmicrohttpd's single internal polling
 * thread (it handles every connection in turn) or, in tests, the caller of metrics_take.
 * Everything else is set before the server starts and read-only after. The server's thread
 * inherits the signal mask of the thread that calls metrics_listen: call it with the
 * process's signals blocked (live.c does, after proc_signals_init).
 *
 * HTTP: GET /metrics answers 200 (Content-Type text/plain; version=0.0.4), or 503 before
 * the first snapshot; any other path 404; any other method (HEAD, POST ...) 405 with
 * `Allow: GET`. The listener binds exactly the address it is given (no default). */
#ifndef BLACKOUT_METRICS_H
#define BLACKOUT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_NAME_MAX     64 /* a label value: sensor id, route, interface, status */
#define METRICS_COUNTRY_MAX  8
#define METRICS_IFACES_MAX   32
#define METRICS_DECODE_MAX   16
#define METRICS_BUCKETS_MAX  16
#define METRICS_TEXT_MAX     (8u << 20) /* the longest exposition served */
#define METRICS_ADDR_TEXT    64         /* "[ffff:...]:65535" */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The detector states of blackout_route_state (a blind sensor's routes are `unknown`). */
enum metrics_state { METRICS_LEARNING, METRICS_UP, METRICS_DOWN, METRICS_UNKNOWN, METRICS_NSTATES };

/* One (country, route): its cumulative traffic and its detector state. The route "*" is the
 * country as a whole (state only). [0] is `in` (toward the country), [1] `out`. */
struct metrics_row {
    char country[METRICS_COUNTRY_MAX];
    char route[METRICS_NAME_MAX];
    bool counted; /* has traffic totals (pkts, bytes, flows) */
    uint64_t pkts[2], bytes[2], flows;
    bool judged;   /* has a detector state (below) */
    uint8_t state; /* enum metrics_state */
    double expected_pps, observed_pps;
    double expected_dir_pps[2], observed_dir_pps[2];
};

/* A named counter: control packets of a route, drops of an interface, packets of a decoder
 * status. */
struct metrics_count {
    char name[METRICS_NAME_MAX];
    uint64_t n;
};

struct metrics_histogram {
    unsigned nbounds;
    double bounds[METRICS_BUCKETS_MAX];       /* upper bounds, increasing */
    uint64_t counts[METRICS_BUCKETS_MAX + 1]; /* per bucket, not cumulative; [nbounds]: above all */
    double sum;
};

/* What one scrape shows. rows and control have room for max_rows entries (metrics_new);
 * metrics_add_row and metrics_add_control refuse more and count it in `refused`. */
struct metrics_snapshot {
    char sensor[METRICS_NAME_MAX];
    unsigned nrows, ncontrol, max_rows;
    struct metrics_row *rows;
    struct metrics_count *control; /* per route */
    unsigned nifaces, ndecode;
    struct metrics_count ifaces[METRICS_IFACES_MAX];
    struct metrics_count decode[METRICS_DECODE_MAX];
    bool blind;
    bool redis; /* a Redis writer exists: the blackout_redis_* families have samples */
    bool redis_connected;
    uint64_t backlog_bins;
    struct metrics_histogram flush;
    bool have_bin; /* a bin has closed: last_bin_end is set */
    int64_t last_bin_end;
    uint64_t refused;
    uint64_t seq; /* set by metrics_publish: 1 for the first snapshot published */
};

/* A parsed listen address. */
struct metrics_addr {
    unsigned char sa[128]; /* struct sockaddr_storage */
    unsigned len;
    int family;
    char text[METRICS_ADDR_TEXT]; /* as given, normalised: "127.0.0.1:9469", "[::1]:9469" */
};

/* Parses "IPV4:PORT" or "[IPV6]:PORT" (numeric addresses only; port 0 to 65535, 0 = any free
 * port). Returns 0, or -1 with one line in err. */
int metrics_parse_addr(const char *s, struct metrics_addr *a, char *err, size_t errlen);

/* The same as a config check (exit 2 on a bad address). */
int metrics_check_addr(const char *s, char *err, size_t errlen);

struct metrics;

/* Three snapshots with room for max_rows rows each. Returns NULL when out of memory. */
struct metrics *metrics_new(unsigned max_rows);

/* Binds addr, listens and starts the server thread. Returns 0, or -1 with one line in err
 * ("--metrics 127.0.0.1:9469: cannot listen: Address already in use"). */
int metrics_listen(struct metrics *m, const char *addr, char *err, size_t errlen);

/* The URL served, for messages ("http://127.0.0.1:9469/metrics"), the port resolved when 0
 * was asked for; "" before metrics_listen. */
const char *metrics_url(const struct metrics *m);

/* ---- publisher side (one thread) ---- */

/* The snapshot to fill, emptied (no rows, counts zero). Valid until metrics_publish. */
struct metrics_snapshot *metrics_back(struct metrics *m);

/* A new row or control entry in s, zeroed; NULL when s is full (counted in s->refused). */
struct metrics_row *metrics_add_row(struct metrics_snapshot *s);
struct metrics_count *metrics_add_control(struct metrics_snapshot *s);

/* Makes the back snapshot the one requests see. Holds the lock for a pointer swap. */
void metrics_publish(struct metrics *m);

/* ---- reader side (one thread: the server's, or a test's) ---- */

/* The latest published snapshot, or NULL before the first. Valid until the next call. */
const struct metrics_snapshot *metrics_take(struct metrics *m);

/* A growable text buffer with a hard maximum (METRICS_TEXT_MAX). */
struct metrics_text {
    char *buf;
    size_t len, cap;
    bool failed; /* out of memory or over the maximum */
};

/* Renders s as the exposition (every family's # HELP and # TYPE, then its samples) into t,
 * replacing what t held. Returns 0, or -1 when it does not fit. */
int metrics_render(const struct metrics_snapshot *s, struct metrics_text *t);
void metrics_text_free(struct metrics_text *t);

/* The name of family i in exposition order, NULL past the last (tests, documentation). */
const char *metrics_family_name(unsigned i);

/* Stops the server (waiting for its thread) and frees everything. metrics_free(NULL) is
 * safe. */
void metrics_free(struct metrics *m);

#endif
