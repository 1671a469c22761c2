/* metrics — the Prometheus endpoint. See metrics.h. */
#include "metrics.h"

#include "text.h"
#include "version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#define CONN_LIMIT   32 /* connections served at once */
#define CONN_TIMEOUT 10 /* seconds an idle connection is kept */
#define TEXT_START   (64u << 10)

struct metrics {
    pthread_mutex_t mu;
    struct metrics_snapshot snaps[3];
    struct metrics_snapshot *back;  /* the publisher's */
    struct metrics_snapshot *ready; /* (mu) the latest published */
    struct metrics_snapshot *front; /* the reader's */
    bool fresh;                     /* (mu) ready was published after the reader took one */
    uint64_t published;             /* (mu) snapshots published */
    bool taken;                     /* the reader holds a published snapshot in front */
    struct MHD_Daemon *daemon;
    struct metrics_text text; /* the reader's */
    char url[METRICS_ADDR_TEXT + 32];
};

/* ---- the listen address ---- */

static int parse_port(const char *s, uint16_t *port)
{
    uint64_t v;
    if (text_parse_u64(s, 0, 65535, &v) < 0)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int metrics_parse_addr(const char *s, struct metrics_addr *a, char *err, size_t errlen)
{
    char host[INET6_ADDRSTRLEN];
    const char *port;
    uint16_t p;

    memset(a, 0, sizeof *a);
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        size_t n = end ? (size_t)(end - s - 1) : 0;
        if (!end || n == 0 || n >= sizeof host || end[1] != ':')
            goto bad;
        memcpy(host, s + 1, n);
        host[n] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(s, ':');
        size_t n = colon ? (size_t)(colon - s) : 0;
        if (!colon || n == 0 || n >= sizeof host || memchr(s, ':', n))
            goto bad;
        memcpy(host, s, n);
        host[n] = '\0';
        port = colon + 1;
    }
    if (parse_port(port, &p) < 0)
        goto bad;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)a->sa;
    struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)a->sa;
    if (s[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(p);
        a->len = sizeof *v6;
        a->family = AF_INET6;
        snprintf(a->text, sizeof a->text, "[%s]:%u", host, p);
        return 0;
    }
    if (s[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(p);
        a->len = sizeof *v4;
        a->family = AF_INET;
        snprintf(a->text, sizeof a->text, "%s:%u", host, p);
        return 0;
    }
bad:
    snprintf(err, errlen,
             "'%.64s' is not ADDR:PORT (a numeric IPv4 address or [IPv6] address, a port from "
             "0 to 65535: 127.0.0.1:9469, [::1]:9469)",
             s);
    return -1;
}

int metrics_check_addr(const char *s, char *err, size_t errlen)
{
    struct metrics_addr a;
    return metrics_parse_addr(s, &a, err, errlen);
}

/* ---- snapshots and the triple buffer ---- */

static void snapshot_clear(struct metrics_snapshot *s)
{
    struct metrics_row *rows = s->rows;
    struct metrics_count *control = s->control;
    unsigned max = s->max_rows;

    memset(s, 0, sizeof *s);
    s->rows = rows;
    s->control = control;
    s->max_rows = max;
}

struct metrics *metrics_new(unsigned max_rows)
{
    struct metrics *m = calloc(1, sizeof *m);

    if (!m)
        return NULL;
    for (int i = 0; i < 3; i++) {
        m->snaps[i].max_rows = max_rows;
        m->snaps[i].rows = calloc(max_rows ? max_rows : 1, sizeof *m->snaps[i].rows);
        m->snaps[i].control = calloc(max_rows ? max_rows : 1, sizeof *m->snaps[i].control);
        if (!m->snaps[i].rows || !m->snaps[i].control)
            goto err;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->back = &m->snaps[0];
    m->ready = &m->snaps[1];
    m->front = &m->snaps[2];
    return m;
err:
    for (int i = 0; i < 3; i++) {
        free(m->snaps[i].rows);
        free(m->snaps[i].control);
    }
    free(m);
    return NULL;
}

struct metrics_snapshot *metrics_back(struct metrics *m)
{
    snapshot_clear(m->back);
    return m->back;
}

struct metrics_row *metrics_add_row(struct metrics_snapshot *s)
{
    if (s->nrows == s->max_rows) {
        s->refused++;
        return NULL;
    }
    struct metrics_row *r = &s->rows[s->nrows++];
    memset(r, 0, sizeof *r);
    return r;
}

struct metrics_count *metrics_add_control(struct metrics_snapshot *s)
{
    if (s->ncontrol == s->max_rows) {
        s->refused++;
        return NULL;
    }
    struct metrics_count *c = &s->control[s->ncontrol++];
    memset(c, 0, sizeof *c);
    return c;
}

void metrics_publish(struct metrics *m)
{
    pthread_mutex_lock(&m->mu);
    m->back->seq = ++m->published;
    struct metrics_snapshot *t = m->ready;
    m->ready = m->back;
    m->back = t;
    m->fresh = true;
    pthread_mutex_unlock(&m->mu);
}

const struct metrics_snapshot *metrics_take(struct metrics *m)
{
    pthread_mutex_lock(&m->mu);
    if (m->fresh) {
        struct metrics_snapshot *t = m->front;
        m->front = m->ready;
        m->ready = t;
        m->fresh = false;
        m->taken = true;
    }
    pthread_mutex_unlock(&m->mu);
    return m->taken ? m->front : NULL;
}

/* ---- the exposition ---- */

static void text_reserve(struct metrics_text *t, size_t more)
{
    if (t->failed || t->len + more < t->cap)
        return;
    size_t cap = t->cap ? t->cap : TEXT_START;
    while (cap <= t->len + more)
        cap *= 2;
    char *b = cap <= METRICS_TEXT_MAX ? realloc(t->buf, cap) : NULL;
    if (!b) {
        t->failed = true;
        return;
    }
    t->buf = b;
    t->cap = cap;
}

static void put(struct metrics_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct metrics_text *t, const char *fmt, ...)
{
    va_list ap;
    char line[512];

    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line) {
        t->failed = true;
        return;
    }
    text_reserve(t, (size_t)n + 1);
    if (t->failed)
        return;
    memcpy(t->buf + t->len, line, (size_t)n + 1);
    t->len += (size_t)n;
}

/* A label value: backslash, double quote and newline escaped. */
static void put_value(struct metrics_text *t, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            put(t, "\\\\");
        else if (*v == '"')
            put(t, "\\\"");
        else if (*v == '\n')
            put(t, "\\n");
        else
            put(t, "%c", *v);
    }
}

struct label {
    const char *name, *value;
};

#define NLABELS(a) (sizeof(a) / sizeof(a)[0])

static void put_series(struct metrics_text *t, const char *name, const char *suffix,
                       const struct label *l, size_t n)
{
    put(t, "%s%s{", name, suffix);
    for (size_t i = 0; i < n; i++) {
        put(t, "%s%s=\"", i ? "," : "", l[i].name);
        put_value(t, l[i].value);
        put(t, "\"");
    }
    put(t, "}");
}

/* A sample's value: an exact integer (counters) or a float (rates, ratios). */
struct value {
    bool integer;
    uint64_t u;
    double d;
};

static void sample(struct metrics_text *t, const char *name, const char *suffix,
                   const struct label *l, size_t n, struct value v)
{
    put_series(t, name, suffix, l, n);
    if (v.integer)
        put(t, " %" PRIu64 "\n", v.u);
    else
        put(t, " %.10g\n", v.d);
}

static struct value integer(uint64_t u)
{
    return (struct value){.integer = true, .u = u};
}

static struct value real(double d)
{
    return (struct value){.d = d};
}

/* ---- families with a sample per (country, route) row ---- */

enum rows { ROWS_NONE, ROWS_COUNTED, ROWS_JUDGED };      /* which rows have samples */
enum split { SPLIT_NONE, SPLIT_DIRECTION, SPLIT_STATE }; /* and how many each, by what */

static const unsigned split_width[] = {
    [SPLIT_NONE] = 1, [SPLIT_DIRECTION] = 2, [SPLIT_STATE] = METRICS_NSTATES};
static const char *const dir_names[2] = {"in", "out"};
static const char *const state_names[METRICS_NSTATES] = {"learning", "up", "down", "unknown"};

/* The value of row r for direction or state k; false: no sample. */
typedef bool (*row_value_fn)(const struct metrics_row *r, unsigned k, struct value *v);

static bool v_packets(const struct metrics_row *r, unsigned k, struct value *v)
{
    *v = integer(r->pkts[k]);
    return true;
}

static bool v_bytes(const struct metrics_row *r, unsigned k, struct value *v)
{
    *v = integer(r->bytes[k]);
    return true;
}

static bool v_flows(const struct metrics_row *r, unsigned k, struct value *v)
{
    (void)k;
    *v = integer(r->flows);
    return true;
}

static bool v_state(const struct metrics_row *r, unsigned k, struct value *v)
{
    *v = integer(r->state == k); /* one-hot */
    return true;
}

static bool v_expected(const struct metrics_row *r, unsigned k, struct value *v)
{
    (void)k;
    *v = real(r->expected_pps);
    return true;
}

static bool v_observed(const struct metrics_row *r, unsigned k, struct value *v)
{
    (void)k;
    *v = real(r->observed_pps);
    return true;
}

/* no sample while nothing is expected that way */
static bool v_residual(const struct metrics_row *r, unsigned k, struct value *v)
{
    *v = real(r->expected_dir_pps[k] > 0 ? r->observed_dir_pps[k] / r->expected_dir_pps[k] : 0);
    return r->expected_dir_pps[k] > 0;
}

/* ---- families with samples per sensor ---- */

typedef void (*sampler_fn)(struct metrics_text *t, const char *name,
                           const struct metrics_snapshot *s);

static void counts(struct metrics_text *t, const char *name, const char *sensor, const char *label,
                   const struct metrics_count *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct label l[] = {{"sensor", sensor}, {label, c[i].name}};
        sample(t, name, "", l, NLABELS(l), integer(c[i].n));
    }
}

static void s_control(struct metrics_text *t, const char *name, const struct metrics_snapshot *s)
{
    counts(t, name, s->sensor, "route", s->control, s->ncontrol);
}

static void s_drops(struct metrics_text *t, const char *name, const struct metrics_snapshot *s)
{
    counts(t, name, s->sensor, "interface", s->ifaces, s->nifaces);
}

static void s_decode(struct metrics_text *t, const char *name, const struct metrics_snapshot *s)
{
    counts(t, name, s->sensor, "status", s->decode, s->ndecode);
}

static void sensor_value(struct metrics_text *t, const char *name, const struct metrics_snapshot *s,
                         bool present, struct value v)
{
    const struct label l[] = {{"sensor", s->sensor}};
    if (present)
        sample(t, name, "", l, NLABELS(l), v);
}

static void s_blind(struct metrics_text *t, const char *name, const struct metrics_snapshot *s)
{
    sensor_value(t, name, s, true, integer(s->blind));
}

static void s_backlog(struct metrics_text *t, const char *name, const struct metrics_snapshot *s)
{
    sensor_value(t, name, s, s->redis, integer(s->backlog_bins));
}

static void s_flush(struct metrics_text *t, const char *name, const struct metrics_snapshot *s)
{
    const struct metrics_histogram *h = &s->flush;
    const struct label l[] = {{"sensor", s->sensor}};
    uint64_t below = 0;
    char le[32];

    if (!s->redis)
        return;
    for (unsigned i = 0; i <= h->nbounds; i++) {
        below += h->counts[i]; /* buckets are cumulative */
        if (i < h->nbounds)
            snprintf(le, sizeof le, "%.10g", h->bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        const struct label b[] = {{"sensor", s->sensor}, {"le", le}};
        sample(t, name, "_bucket", b, NLABELS(b), integer(below));
    }
    sample(t, name, "_sum", l, NLABELS(l), real(h->sum));
    sample(t, name, "_count", l, NLABELS(l), integer(below));
}

static void s_connected(struct metrics_text *t, const char *name, const struct metrics_snapshot *s)
{
    sensor_value(t, name, s, s->redis, integer(s->redis_connected));
}

static void s_last_bin(struct metrics_text *t, const char *name, const struct metrics_snapshot *s)
{
    sensor_value(t, name, s, s->have_bin, real((double)s->last_bin_end));
}

static void s_build(struct metrics_text *t, const char *name, const struct metrics_snapshot *s)
{
    const struct label l[] = {{"sensor", s->sensor}, {"version", BLACKOUT_VERSION}};
    sample(t, name, "", l, NLABELS(l), integer(1));
}

/* Every family, once: name, type and help; then either which rows have samples, how many
 * each and their value, or the sampler of a family per sensor. */
static const struct family {
    const char *name, *type, *help;
    uint8_t rows, split; /* enum rows, enum split */
    row_value_fn value;
    sampler_fn samples;
} families[] = {
    {"blackout_packets_total", "counter",
     "Country packets in closed bins per route and direction (in: toward the country); the "
     "summary's totals",
     ROWS_COUNTED, SPLIT_DIRECTION, v_packets, NULL},
    {"blackout_bytes_total", "counter",
     "Wire bytes of country packets in closed bins per route and direction", ROWS_COUNTED,
     SPLIT_DIRECTION, v_bytes, NULL},
    {"blackout_flows_total", "counter", "Country flows (conversations) seen per route",
     ROWS_COUNTED, SPLIT_NONE, v_flows, NULL},
    {"blackout_control_packets_total", "counter",
     "Packets that are not country traffic (the control series) per route", ROWS_NONE, SPLIT_NONE,
     NULL, s_control},
    {"blackout_capture_drops_total", "counter",
     "Frames lost before the sensor saw them (ring full, interface) per capture interface, as of "
     "the last closed bin",
     ROWS_NONE, SPLIT_NONE, NULL, s_drops},
    {"blackout_decode_packets_total", "counter", "Packets read, by decoder status", ROWS_NONE,
     SPLIT_NONE, NULL, s_decode},
    {"blackout_route_state", "gauge",
     "Detector state of the route, one-hot (route \"*\": the country; unknown while the sensor "
     "is blind)",
     ROWS_JUDGED, SPLIT_STATE, v_state, NULL},
    {"blackout_route_expected_pps", "gauge",
     "Packets per second the detector expects on the route, both directions", ROWS_JUDGED,
     SPLIT_NONE, v_expected, NULL},
    {"blackout_route_observed_pps", "gauge",
     "Packets per second on the route in the last closed bin, both directions", ROWS_JUDGED,
     SPLIT_NONE, v_observed, NULL},
    {"blackout_route_residual", "gauge",
     "Observed over expected packets per second on the route in the last closed bin, per "
     "direction",
     ROWS_JUDGED, SPLIT_DIRECTION, v_residual, NULL},
    {"blackout_sensor_blind", "gauge",
     "1 while the sensor is blind (its control series collapsed or drops spiked), else 0",
     ROWS_NONE, SPLIT_NONE, NULL, s_blind},
    {"blackout_redis_backlog_bins", "gauge", "Closed bins waiting to be written to Redis",
     ROWS_NONE, SPLIT_NONE, NULL, s_backlog},
    {"blackout_redis_flush_seconds", "histogram",
     "Duration of one pipelined round trip of flush units to Redis", ROWS_NONE, SPLIT_NONE, NULL,
     s_flush},
    {"blackout_redis_connected", "gauge", "1 while the Redis writer is connected, else 0",
     ROWS_NONE, SPLIT_NONE, NULL, s_connected},
    {"blackout_last_bin_end_seconds", "gauge",
     "End of the last closed bin (packet time, seconds since the epoch)", ROWS_NONE, SPLIT_NONE,
     NULL, s_last_bin},
    {"blackout_build_info", "gauge", "The running version (always 1)", ROWS_NONE, SPLIT_NONE, NULL,
     s_build},
};

/* The samples of a family with one per row (and direction or state). */
static void row_samples(struct metrics_text *t, const struct family *f,
                        const struct metrics_snapshot *s)
{
    struct value v;

    for (unsigned i = 0; i < s->nrows; i++) {
        const struct metrics_row *r = &s->rows[i];
        if (f->rows == ROWS_COUNTED ? !r->counted : !r->judged)
            continue;
        for (unsigned k = 0; k < split_width[f->split]; k++) {
            const struct label l[] = {
                {"sensor", s->sensor},
                {"country", r->country},
                {"route", r->route},
                {f->split == SPLIT_STATE ? "state" : "direction",
                 f->split == SPLIT_STATE ? state_names[k] : dir_names[k]},
            };
            if (f->value(r, k, &v))
                sample(t, f->name, "", l, f->split == SPLIT_NONE ? 3 : 4, v);
        }
    }
}

#define NFAMILIES (sizeof families / sizeof families[0])

const char *metrics_family_name(unsigned i)
{
    return i < NFAMILIES ? families[i].name : NULL;
}

int metrics_render(const struct metrics_snapshot *s, struct metrics_text *t)
{
    t->len = 0;
    t->failed = false;
    for (size_t i = 0; i < NFAMILIES; i++) {
        const struct family *f = &families[i];
        put(t, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
        if (f->rows != ROWS_NONE)
            row_samples(t, f, s);
        else
            f->samples(t, f->name, s);
    }
    return t->failed ? -1 : 0;
}

void metrics_text_free(struct metrics_text *t)
{
    free(t->buf);
    memset(t, 0, sizeof *t);
}

/* ---- the server ---- */

static enum MHD_Result answer(struct MHD_Connection *c, unsigned code, const char *type,
                              const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
    enum MHD_Result ok = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result plain(struct MHD_Connection *c, unsigned code, const char *body)
{
    return answer(c, code, "text/plain; charset=utf-8", body, strlen(body));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct metrics *m = cls;

    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
        return plain(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
    if (strcmp(url, "/metrics") != 0)
        return plain(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
    const struct metrics_snapshot *s = metrics_take(m);
    if (!s)
        return plain(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no snapshot yet\n");
    if (metrics_render(s, &m->text) < 0)
        return plain(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "the exposition does not fit\n");
    return answer(c, MHD_HTTP_OK, METRICS_CONTENT_TYPE, m->text.buf, m->text.len);
}

/* A bound, listening socket. Returns it, or -1 with errno set. */
static int listen_on(const struct metrics_addr *a)
{
    int one = 1;
    int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a->family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)(const void *)a->sa, a->len) == 0 &&
        listen(fd, CONN_LIMIT) == 0)
        return fd;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* The URL with the port actually bound. */
static void set_url(struct metrics *m, int fd, const struct metrics_addr *a)
{
    struct sockaddr_storage ss = {0};
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
        port = ntohs(v6->sin6_port);
    } else if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
        port = ntohs(v4->sin_port);
    }
    snprintf(m->url, sizeof m->url,
             a->family == AF_INET6 ? "http://[%s]:%u/metrics" : "http://%s:%u/metrics", host, port);
}

int metrics_listen(struct metrics *m, const char *addr, char *err, size_t errlen)
{
    struct metrics_addr a;
    char why[200];

    if (metrics_parse_addr(addr, &a, why, sizeof why) < 0) {
        snprintf(err, errlen, "--metrics %s", why);
        return -1;
    }
    int fd = listen_on(&a);
    if (fd < 0) {
        snprintf(err, errlen, "--metrics %s: cannot listen: %s", a.text, strerror(errno));
        return -1;
    }
    set_url(m, fd, &a);
    m->daemon = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD, 0, NULL, NULL, on_request, m,
                                 MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned)CONN_TIMEOUT, MHD_OPTION_END);
    if (!m->daemon) {
        close(fd);
        m->url[0] = '\0';
        snprintf(err, errlen, "--metrics %s: cannot start the HTTP server (libmicrohttpd)", a.text);
        return -1;
    }
    return 0;
}

const char *metrics_url(const struct metrics *m)
{
    return m->url;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    if (m->daemon)
        MHD_stop_daemon(m->daemon); /* closes the listening socket */
    pthread_mutex_destroy(&m->mu);
    for (int i = 0; i < 3; i++) {
        free(m->snaps[i].rows);
        free(m->snaps[i].control);
    }
    metrics_text_free(&m->text);
    free(m);
}
