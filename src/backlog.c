/* backlog — bounded queue of flush units and the writer thread. See backlog.h. */
#include "backlog.h"

#include "log.h"
#include "text.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_MAX       32u
#define BACKOFF_BASE_MS 100u
#define BACKOFF_CAP_MS  5000u
#define ERRLEN          400
#define STALL_MS        10000u /* wait_when_full: a writer this long without progress is stuck */
#define LOST_LOG_MS     10000u /* at most one "connection lost" line per this */

const double backlog_flush_bounds[BACKLOG_FLUSH_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

struct backlog {
    struct redis *conn;
    struct backlog_config cfg;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t wake;     /* to the writer: work, stop */
    pthread_cond_t progress; /* from the writer: units done, state changed */
    /* guarded by mu */
    struct backlog_unit **ring;
    unsigned head, n;
    struct backlog_unit *inflight[BATCH_MAX];
    unsigned ninflight;
    size_t bytes;
    bool stop, tried, fatal, warned_drop;
    bool said_down; /* the outage was logged: say when it ends */
    char fatal_err[ERRLEN];
    struct backlog_stats st;
    /* writer thread only */
    char sha[48];
    uint64_t known; /* last sequence known to be applied */
    unsigned attempt;
    uint64_t retry_at, down_since;
    uint64_t progress_ms; /* (mu) the last time a unit was confirmed or a connection made */
    unsigned lose_every, sent_batches; /* test hook: BLACKOUT_TEST_LOSE_REPLY=N */
    struct log_limit lim_err, lim_lost;
};

unsigned backlog_batch_max(unsigned max_units)
{
    unsigned b = max_units / 2;
    return b == 0 ? 1 : b > BATCH_MAX ? BATCH_MAX : b;
}

struct backlog *backlog_new(struct redis *conn, const struct backlog_config *cfg)
{
    pthread_condattr_t ca;
    struct backlog *b = calloc(1, sizeof *b);
    const char *hook = getenv("BLACKOUT_TEST_LOSE_REPLY");
    uint64_t v;

    if (b && cfg->max_units >= 2)
        b->ring = calloc(cfg->max_units, sizeof *b->ring);
    if (!b || !b->ring) {
        free(b);
        redis_free(conn);
        return NULL;
    }
    b->conn = conn;
    b->cfg = *cfg;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->wake, &ca);
    pthread_cond_init(&b->progress, &ca);
    pthread_condattr_destroy(&ca);
    if (hook && text_parse_u64(hook, 1, 1000000, &v) == 0)
        b->lose_every = (unsigned)v;
    b->lim_err.interval_ms = 60000;
    b->lim_lost.interval_ms = LOST_LOG_MS;
    return b;
}

/* Waits on cv until the monotonic time at_ms (or a signal). */
static void wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t at_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(at_ms / 1000),
                          .tv_nsec = (long)(at_ms % 1000) * 1000000};
    pthread_cond_timedwait(cv, mu, &ts);
}

static void drop_oldest(struct backlog *b)
{
    struct backlog_unit *u = b->ring[b->head];
    b->head = (b->head + 1) % b->cfg.max_units;
    b->n--;
    b->bytes -= u->bytes;
    b->st.dropped_units++;
    b->st.dropped_bins += u->nbins;
    if (!b->warned_drop) {
        b->warned_drop = true;
        LOG(LOG_WARN,
            "Redis backlog full (%u bins): dropping the oldest bins; totals in Redis "
            "will miss them (counted in the summary)",
            b->cfg.max_units);
    }
    free(u);
}

static bool over(const struct backlog *b, const struct backlog_unit *u)
{
    return b->n + b->ninflight >= b->cfg.max_units || b->bytes + u->bytes > b->cfg.max_bytes;
}

void backlog_push(struct backlog *b, struct backlog_unit *u)
{
    pthread_mutex_lock(&b->mu);
    if (b->cfg.wait_when_full)
        while (over(b, u) && b->st.connected && !b->stop && !b->fatal &&
               log_now_ms() - b->progress_ms < STALL_MS)
            wait_until(&b->progress, &b->mu, log_now_ms() + 100);
    while (over(b, u) && b->n > 0)
        drop_oldest(b);
    if (b->n + b->ninflight >= b->cfg.max_units) { /* everything is being written */
        b->st.dropped_units++;
        b->st.dropped_bins += u->nbins;
        free(u);
    } else {
        b->ring[(b->head + b->n) % b->cfg.max_units] = u;
        b->n++;
        b->bytes += u->bytes;
    }
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->mu);
}

/* ---- writer ---- */

/* A reply's type, for messages. */
static const char *reply_kind(const struct redis_reply *x)
{
    static const char *const names[] = {"a string", "an array", "an integer",
                                        "nil",      "a status", "an error"};
    unsigned t = (unsigned)redis_reply_type(x);
    return t < sizeof names / sizeof names[0] ? names[t] : "something else";
}

/* True when the SCRIPT LOAD reply is a script hash (40 hexadecimal digits). */
static bool script_hash(const struct redis_reply *x)
{
    size_t n;
    const char *s = redis_reply_str(x, &n);

    if (redis_reply_type(x) != BO_REDIS_R_STRING || n != 40)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Connects and loads the script. Returns BO_REDIS_OK, BO_REDIS_EIO or BO_REDIS_EFATAL. */
static int writer_connect(struct backlog *b, char *err, size_t errlen)
{
    const char *argv[3] = {"SCRIPT", "LOAD", b->cfg.script};
    size_t lens[3] = {6, 4, strlen(b->cfg.script)};
    struct redis_reply *x;
    size_t n;

    int rc = redis_connect(b->conn, err, errlen);
    if (rc != BO_REDIS_OK)
        return rc;
    rc = redis_call(b->conn, 3, argv, lens, &x, err, errlen);
    b->st.commands++;
    b->st.bytes += redis_command_bytes(3, lens);
    if (rc == BO_REDIS_EREPLY) {
        redis_disconnect(b->conn);
        return strncmp(err, "NOPERM", 6) == 0 ? BO_REDIS_EFATAL : BO_REDIS_EIO;
    }
    if (rc != BO_REDIS_OK)
        return rc;
    if (!script_hash(x)) {
        snprintf(err, errlen,
                 "SCRIPT LOAD answered with %s, not a script hash (not a Redis server?)",
                 reply_kind(x));
        redis_reply_free(x);
        redis_disconnect(b->conn);
        return BO_REDIS_EIO;
    }
    const char *s = redis_reply_str(x, &n);
    snprintf(b->sha, sizeof b->sha, "%.*s", (int)n, s);
    redis_reply_free(x);
    return BO_REDIS_OK;
}

static void fill_unit(struct backlog *b, struct backlog_unit *u, uint64_t prev, bool first)
{
    u->argv[0] = u->use_eval ? "EVAL" : "EVALSHA";
    u->argv[1] = u->use_eval ? b->cfg.script : b->sha;
    snprintf(u->prev, sizeof u->prev, "%llu", (unsigned long long)prev);
    snprintf(u->first, sizeof u->first, "%d", first ? 1 : 0);
    u->argv[u->idx_prev] = u->prev;
    u->argv[u->idx_first] = u->first;
    for (int i = 0; i < 2; i++)
        u->lens[i] = strlen(u->argv[i]);
    u->lens[u->idx_prev] = strlen(u->prev);
    u->lens[u->idx_first] = 1;
}

/* What one reply says about its unit. OUT_BROKEN: not an answer the script can give (a
 * server that is not Redis, or a reply out of step); the connection is not to be trusted. */
enum outcome { OUT_APPLIED, OUT_DUPLICATE, OUT_RETRY, OUT_BROKEN };

/* True when x is what the flush script returns: {status 0..2, commands >= 0, lost 0..1}. */
static bool script_reply(const struct redis_reply *x)
{
    if (redis_reply_type(x) != BO_REDIS_R_ARRAY || redis_reply_len(x) != 3)
        return false;
    for (size_t i = 0; i < 3; i++)
        if (redis_reply_type(redis_reply_at(x, i)) != BO_REDIS_R_INTEGER)
            return false;
    long long status = redis_reply_int(redis_reply_at(x, 0));
    long long cmds = redis_reply_int(redis_reply_at(x, 1));
    long long lost = redis_reply_int(redis_reply_at(x, 2));
    return status >= 0 && status <= 2 && cmds >= 0 && (lost == 0 || lost == 1);
}

static enum outcome judge(struct backlog *b, struct backlog_unit *u, struct redis_reply *x,
                          uint64_t *script_cmds, bool *lost, bool *refused, char *err,
                          size_t errlen)
{
    char text[201];
    size_t n;
    const char *s = redis_reply_str(x, &n);

    if (redis_reply_type(x) == BO_REDIS_R_ERROR) {
        if (n >= 8 && strncmp(s, "NOSCRIPT", 8) == 0) {
            u->use_eval = true;
        } else {
            *refused = true;
            redis_printable(s, n, text, sizeof text);
            snprintf(err, errlen, "flush refused: %s", text);
            log_limited(&b->lim_err, LOG_WARN, "Redis refused a flush (keeping it, retrying): %s",
                        text);
        }
        return OUT_RETRY;
    }
    if (!script_reply(x)) {
        *refused = true;
        snprintf(err, errlen,
                 "the flush script answered with %s, not its result (not a Redis "
                 "server?)",
                 reply_kind(x));
        return OUT_BROKEN; /* logged as a lost connection */
    }
    long long status = redis_reply_int(redis_reply_at(x, 0));
    *script_cmds += (uint64_t)redis_reply_int(redis_reply_at(x, 1));
    *lost = redis_reply_int(redis_reply_at(x, 2)) != 0;
    return status == 1 ? OUT_APPLIED : status == 0 ? OUT_DUPLICATE : OUT_RETRY;
}

/* The test hook: the round trip is sent, the server answers, the answer is never read. */
static bool lose_replies(struct backlog *b)
{
    if (!b->lose_every || ++b->sent_batches % b->lose_every != 0)
        return false;
    redis_wait_readable(b->conn, 2000);
    redis_disconnect(b->conn);
    return true;
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A round trip whose every reply was read, into the flush histogram (mu held). */
static void time_round_trip(struct backlog_stats *st, double seconds)
{
    unsigned i = 0;
    while (i < BACKLOG_FLUSH_BUCKETS && seconds > backlog_flush_bounds[i])
        i++;
    st->flush_rounds[i]++;
    st->flush_seconds += seconds;
}

/* Sends the batch in one round trip and reads every reply. Returns how many units, from
 * the first, are confirmed; `retry` tells whether an error asks for a backoff. */
static unsigned write_batch(struct backlog *b, unsigned count, bool *retry, char *err,
                            size_t errlen)
{
    uint64_t prev = b->known, cmds = 0, bytes = 0, script_cmds = 0;
    unsigned confirmed = 0, applied = 0, dups = 0, errors = 0, replies = 0;
    bool in_order = true, lost = false;
    double t0 = mono_seconds();

    for (unsigned i = 0; i < count; i++) {
        struct backlog_unit *u = b->inflight[i];
        fill_unit(b, u, prev, i == 0);
        prev = u->seq;
        if (redis_append(b->conn, u->argc, u->argv, u->lens) != BO_REDIS_OK)
            break;
        cmds++;
        bytes += redis_command_bytes(u->argc, u->lens);
    }
    *retry = cmds < count;
    if (cmds == 0 || redis_send(b->conn, err, errlen) != BO_REDIS_OK || lose_replies(b))
        goto out;
    for (unsigned i = 0; i < cmds; i++) {
        struct redis_reply *x;
        bool l = false, refused = false;
        if (redis_read(b->conn, &x, err, errlen) != BO_REDIS_OK) {
            *retry = true;
            break;
        }
        enum outcome o = judge(b, b->inflight[i], x, &script_cmds, &l, &refused, err, errlen);
        redis_reply_free(x);
        replies++;
        errors += refused;
        lost |= l;
        if (o == OUT_BROKEN) {
            *retry = true;
            redis_disconnect(b->conn); /* later replies cannot be trusted either */
            break;
        }
        if (o == OUT_RETRY || !in_order) {
            in_order = false;
            *retry = true;
            continue;
        }
        confirmed++;
        applied += o == OUT_APPLIED;
        dups += o == OUT_DUPLICATE;
        b->known = b->inflight[i]->seq;
    }
out:
    pthread_mutex_lock(&b->mu);
    b->st.commands += cmds;
    b->st.bytes += bytes;
    b->st.script_commands += script_cmds;
    b->st.flushes += applied;
    b->st.duplicates += dups;
    b->st.data_lost += lost;
    b->st.errors += errors;
    if (cmds > 0 && replies == cmds)
        time_round_trip(&b->st, mono_seconds() - t0);
    pthread_mutex_unlock(&b->mu);
    if (lost)
        LOG(LOG_WARN, "Redis lost earlier data of this sensor run (restarted without its data?): "
                      "counters start again from here");
    return confirmed;
}

/* Moves the oldest queued units into the batch being written (mu held). */
static void take_batch(struct backlog *b)
{
    unsigned max = backlog_batch_max(b->cfg.max_units);

    while (b->ninflight < max && b->n > 0) {
        b->inflight[b->ninflight++] = b->ring[b->head];
        b->head = (b->head + 1) % b->cfg.max_units;
        b->n--;
    }
}

/* Frees the first k units of the batch (mu held). */
static void retire(struct backlog *b, unsigned k)
{
    for (unsigned i = 0; i < k; i++) {
        b->bytes -= b->inflight[i]->bytes;
        free(b->inflight[i]);
    }
    memmove(b->inflight, b->inflight + k, (b->ninflight - k) * sizeof *b->inflight);
    b->ninflight -= k;
}

/* Logs a connection attempt's outcome and keeps the counters (mu held). */
static void after_connect(struct backlog *b, int rc, const char *err)
{
    uint64_t now = log_now_ms();

    if (rc == BO_REDIS_EFATAL) {
        b->fatal = true;
        snprintf(b->fatal_err, sizeof b->fatal_err, "%s", err);
    } else if (rc != BO_REDIS_OK && !b->down_since) {
        b->down_since = now;
        b->lim_err.last_ms = now;
        b->said_down = true;
        LOG(LOG_WARN, "%s; keeping closed bins in the backlog (up to %u) and retrying", err,
            b->cfg.max_units);
    } else if (rc != BO_REDIS_OK) {
        b->said_down |=
            log_limited(&b->lim_err, LOG_WARN, "%s (%u bins waiting)", err, b->n + b->ninflight);
    } else {
        if (b->tried)
            b->st.reconnects++;
        if (b->down_since && b->said_down)
            LOG(LOG_WARN, "Redis reachable again after %.1f s; %u bins waiting",
                (double)(now - b->down_since) / 1000, b->n + b->ninflight);
        b->down_since = 0;
        b->said_down = false;
    }
}

/* One connect-if-needed and write of the current batch, then the bookkeeping. */
static void writer_step(struct backlog *b)
{
    char err[ERRLEN] = "";
    bool retry = false, lost_conn = false;
    unsigned confirmed = 0, count = b->ninflight;
    int rc = BO_REDIS_OK;

    pthread_mutex_unlock(&b->mu);
    bool connect = !redis_connected(b->conn);
    if (connect)
        rc = writer_connect(b, err, sizeof err);
    if (rc == BO_REDIS_OK && count > 0) {
        confirmed = write_batch(b, count, &retry, err, sizeof err);
        lost_conn = !redis_connected(b->conn);
    }
    pthread_mutex_lock(&b->mu);
    if (connect)
        after_connect(b, rc, err);
    if ((rc != BO_REDIS_OK || retry) && err[0])
        snprintf(b->st.last_error, sizeof b->st.last_error, "%s", err);
    if (lost_conn) {
        b->down_since = log_now_ms();
        b->said_down =
            log_limited(&b->lim_lost, LOG_WARN, "%s; the flush will be retried (%u bins waiting)",
                        err[0] ? err : "Redis connection lost", b->n + b->ninflight);
    }
    if (confirmed || (connect && rc == BO_REDIS_OK))
        b->progress_ms = log_now_ms();
    retire(b, confirmed);
    if (rc != BO_REDIS_OK || retry)
        b->retry_at =
            log_now_ms() + redis_backoff_ms(b->attempt++, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
    else
        b->attempt = 0;
    b->tried = true;
    b->st.connected = redis_connected(b->conn);
    pthread_cond_broadcast(&b->progress);
}

static void *writer_main(void *arg)
{
    struct backlog *b = arg;

    pthread_mutex_lock(&b->mu);
    while (!b->stop && !b->fatal) {
        if (b->tried && b->n + b->ninflight == 0) {
            pthread_cond_wait(&b->wake, &b->mu);
            continue;
        }
        if (log_now_ms() < b->retry_at) {
            wait_until(&b->wake, &b->mu, b->retry_at);
            continue;
        }
        take_batch(b);
        writer_step(b);
    }
    b->st.connected = false;
    pthread_cond_broadcast(&b->progress);
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

int backlog_start(struct backlog *b, char *err, size_t errlen)
{
    if (pthread_create(&b->thread, NULL, writer_main, b) != 0) {
        snprintf(err, errlen, "cannot start the Redis writer thread");
        return -1;
    }
    b->started = true;
    pthread_mutex_lock(&b->mu);
    while (!b->tried && !b->fatal)
        pthread_cond_wait(&b->progress, &b->mu);
    bool fatal = b->fatal;
    if (fatal)
        snprintf(err, errlen, "%s", b->fatal_err);
    pthread_mutex_unlock(&b->mu);
    return fatal ? -1 : 0;
}

uint64_t backlog_drain(struct backlog *b, uint64_t timeout_ms)
{
    uint64_t deadline = log_now_ms() + timeout_ms;

    pthread_mutex_lock(&b->mu);
    b->retry_at = 0; /* try at once */
    pthread_cond_signal(&b->wake);
    while (b->n + b->ninflight > 0 && !b->fatal && log_now_ms() < deadline)
        wait_until(&b->progress, &b->mu, deadline);
    uint64_t pending = b->n + b->ninflight;
    pthread_mutex_unlock(&b->mu);
    return pending;
}

bool backlog_failed(struct backlog *b, char *err, size_t errlen)
{
    pthread_mutex_lock(&b->mu);
    bool fatal = b->fatal;
    if (fatal)
        snprintf(err, errlen, "%s", b->fatal_err);
    pthread_mutex_unlock(&b->mu);
    return fatal;
}

static void count_pending(struct backlog_stats *st, const struct backlog_unit *u)
{
    st->pending_units++;
    st->pending_bins += u->nbins;
    st->pending_flows += u->nflows;
    st->pending_events += u->nevents;
    if (!u->nbins)
        return;
    if (st->pending_first_bin == INT64_MIN || u->bin_start < st->pending_first_bin)
        st->pending_first_bin = u->bin_start;
    if (u->bin_start > st->pending_last_bin)
        st->pending_last_bin = u->bin_start;
}

void backlog_stats(struct backlog *b, struct backlog_stats *st)
{
    pthread_mutex_lock(&b->mu);
    *st = b->st;
    st->pending_units = st->pending_bins = st->pending_flows = st->pending_events = 0;
    st->pending_first_bin = st->pending_last_bin = INT64_MIN;
    for (unsigned i = 0; i < b->ninflight; i++)
        count_pending(st, b->inflight[i]);
    for (unsigned i = 0; i < b->n; i++)
        count_pending(st, b->ring[(b->head + i) % b->cfg.max_units]);
    pthread_mutex_unlock(&b->mu);
}

void backlog_free(struct backlog *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_broadcast(&b->wake);
    pthread_mutex_unlock(&b->mu);
    if (b->started)
        pthread_join(b->thread, NULL);
    retire(b, b->ninflight);
    while (b->n > 0) {
        free(b->ring[b->head]);
        b->head = (b->head + 1) % b->cfg.max_units;
        b->n--;
    }
    free(b->ring);
    redis_free(b->conn);
    pthread_cond_destroy(&b->progress);
    pthread_cond_destroy(&b->wake);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
