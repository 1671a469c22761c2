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
#define STALL_MS        10000u  /* default of stall_ms */
#define WAIT_MS         1000u   /* default of wait_ms */
#define REGISTER_MS     600000u /* the registration command is repeated this often */
#define LOST_LOG_MS     10000u  /* at most one "connection lost" line per this */

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
    uint64_t progress_ms; /* the last time a unit was confirmed or a connection made */
    uint64_t retry_at;    /* the writer's next attempt (monotonic ms) */
    unsigned attempt;     /* consecutive failures, for the backoff */
    uint64_t down_since;  /* when the outage began, 0 when connected */
    /* writer thread only, without the lock (see backlog.h) */
    char sha[48];
    uint64_t known;               /* last sequence known to be applied (and replicated) */
    char where[300];              /* the node written to, for "master moved" */
    uint64_t register_due;        /* when to run the registration command again */
    char wait_n[16], wait_ms[16]; /* WAIT min_replicas wait_ms */
    const char *wait_argv[3];
    size_t wait_lens[3];
    unsigned lose_every, sent_batches; /* test hook: BLACKOUT_TEST_LOSE_REPLY=N */
    struct log_limit lim_err, lim_lost, lim_wait;
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
    if (!b->cfg.stall_ms)
        b->cfg.stall_ms = STALL_MS;
    if (!b->cfg.wait_ms)
        b->cfg.wait_ms = WAIT_MS;
    snprintf(b->wait_n, sizeof b->wait_n, "%u", b->cfg.min_replicas);
    snprintf(b->wait_ms, sizeof b->wait_ms, "%u", b->cfg.wait_ms);
    b->wait_argv[0] = "WAIT";
    b->wait_argv[1] = b->wait_n;
    b->wait_argv[2] = b->wait_ms;
    for (int i = 0; i < 3; i++)
        b->wait_lens[i] = strlen(b->wait_argv[i]);
    b->lim_err.interval_ms = 60000;
    b->lim_lost.interval_ms = LOST_LOG_MS;
    b->lim_wait.interval_ms = LOST_LOG_MS;
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
               log_now_ms() - b->progress_ms < b->cfg.stall_ms)
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
        if (b->n + b->ninflight > b->st.backlog_peak)
            b->st.backlog_peak = b->n + b->ninflight;
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

static void count_sent(struct backlog *b, uint64_t cmds, uint64_t bytes)
{
    pthread_mutex_lock(&b->mu);
    b->st.commands += cmds;
    b->st.bytes += bytes;
    pthread_mutex_unlock(&b->mu);
}

/* The registration command, when due (after each connection, then every REGISTER_MS): an
 * idempotent write beside the flushes, so a failure is logged and tried again later, and
 * never holds the flushes up. */
static void writer_register(struct backlog *b)
{
    char err[ERRLEN];
    size_t lens[8];
    int argc = b->cfg.register_argc;
    uint64_t now = log_now_ms();

    if (argc <= 0 || argc > 8 || now < b->register_due || !redis_connected(b->conn))
        return;
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(b->cfg.register_argv[i]);
    int rc =
        redis_call(b->conn, argc, (const char **)b->cfg.register_argv, lens, NULL, err, sizeof err);
    count_sent(b, 1, redis_command_bytes(argc, lens));
    b->register_due = now + (rc == BO_REDIS_OK ? REGISTER_MS : LOST_LOG_MS);
    if (rc != BO_REDIS_OK)
        log_limited(&b->lim_err, LOG_WARN, "Redis: %s %s failed (tried again in %u s): %s",
                    b->cfg.register_argv[0], b->cfg.register_argv[1], LOST_LOG_MS / 1000, err);
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
    count_sent(b, 1, redis_command_bytes(3, lens));
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
    b->register_due = 0; /* a new connection, maybe a new node: register now */
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

/* What one round trip gave. */
struct trip {
    double t0; /* monotonic seconds when the round trip began */
    uint64_t cmds, bytes, script_cmds;
    unsigned applied, dups, resent, errors, redirects, replies;
    bool lost, retry, broken, wait_sent, short_wait;
};

static enum outcome judge(struct backlog *b, struct backlog_unit *u, struct redis_reply *x,
                          struct trip *t, char *err, size_t errlen)
{
    char text[201];
    size_t n;
    const char *s = redis_reply_str(x, &n);

    if (redis_reply_type(x) == BO_REDIS_R_ERROR) {
        redis_printable(s, n, text, sizeof text);
        if (n >= 8 && strncmp(s, "NOSCRIPT", 8) == 0) {
            u->use_eval = true;
        } else if (redis_reply_redirect(x)) {
            t->redirects++; /* connect again: the sentinels or the slot map say where */
            snprintf(err, errlen, "flush redirected: %s", text);
        } else {
            t->errors++;
            snprintf(err, errlen, "flush refused: %s", text);
            log_limited(&b->lim_err, LOG_WARN, "Redis refused a flush (keeping it, retrying): %s",
                        text);
        }
        return OUT_RETRY;
    }
    if (!script_reply(x)) {
        t->errors++;
        snprintf(err, errlen,
                 "the flush script answered with %s, not its result (not a Redis "
                 "server?)",
                 reply_kind(x));
        return OUT_BROKEN; /* logged as a lost connection */
    }
    long long status = redis_reply_int(redis_reply_at(x, 0));
    t->script_cmds += (uint64_t)redis_reply_int(redis_reply_at(x, 1));
    t->lost |= redis_reply_int(redis_reply_at(x, 2)) != 0;
    t->resent += status == 1 && u->applied; /* a master had it; this one lacked it */
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

/* Appends up to count units, then WAIT when replicas are wanted. Returns the units
 * appended. */
static unsigned append_batch(struct backlog *b, unsigned count, struct trip *t)
{
    uint64_t prev = b->known;
    unsigned k;

    for (k = 0; k < count; k++) {
        struct backlog_unit *u = b->inflight[k];
        fill_unit(b, u, prev, k == 0);
        prev = u->seq;
        if (redis_append(b->conn, u->argc, u->argv, u->lens) != BO_REDIS_OK)
            break;
        t->cmds++;
        t->bytes += redis_command_bytes(u->argc, u->lens);
    }
    if (k > 0 && b->cfg.min_replicas &&
        redis_append(b->conn, 3, b->wait_argv, b->wait_lens) == BO_REDIS_OK) {
        t->wait_sent = true;
        t->cmds++;
        t->bytes += redis_command_bytes(3, b->wait_lens);
    }
    return k;
}

/* Reads the replies of n units. Returns how many, from the first, are confirmed. */
static unsigned read_units(struct backlog *b, unsigned n, struct trip *t, char *err, size_t errlen)
{
    unsigned confirmed = 0;
    bool in_order = true;

    for (unsigned i = 0; i < n; i++) {
        struct redis_reply *x;
        if (redis_read(b->conn, &x, err, errlen) != BO_REDIS_OK) {
            t->retry = t->broken = true;
            break;
        }
        t->replies++;
        enum outcome o = judge(b, b->inflight[i], x, t, err, errlen);
        redis_reply_free(x);
        if (o == OUT_BROKEN) {
            t->retry = t->broken = true;
            redis_disconnect(b->conn); /* later replies cannot be trusted either */
            break;
        }
        if (o == OUT_RETRY || !in_order) {
            in_order = false;
            t->retry = true;
            continue;
        }
        confirmed++;
        t->applied += o == OUT_APPLIED;
        t->dups += o == OUT_DUPLICATE;
    }
    return confirmed;
}

/* WAIT's reply: true when enough replicas have what the round trip wrote. */
static bool read_wait(struct backlog *b, struct trip *t, char *err, size_t errlen)
{
    struct redis_reply *x;

    if (!t->wait_sent || t->broken || redis_read(b->conn, &x, err, errlen) != BO_REDIS_OK) {
        t->retry = true;
        return false;
    }
    t->replies++;
    long long acks = redis_reply_type(x) == BO_REDIS_R_INTEGER ? redis_reply_int(x) : -1;
    redis_reply_free(x);
    if (acks >= b->cfg.min_replicas)
        return true;
    t->retry = t->short_wait = true;
    snprintf(err, errlen, "%lld of %u replicas acknowledged the flush within %u ms", acks,
             b->cfg.min_replicas, b->cfg.wait_ms);
    log_limited(&b->lim_wait, LOG_WARN, "Redis: %s (--min-replicas); keeping it and retrying", err);
    return false;
}

/* Adds a round trip's counts (mu not held). */
static void account(struct backlog *b, const struct trip *t)
{
    pthread_mutex_lock(&b->mu);
    b->st.commands += t->cmds;
    b->st.bytes += t->bytes;
    b->st.script_commands += t->script_cmds;
    b->st.flushes += t->applied;
    b->st.duplicates += t->dups;
    b->st.resent += t->resent;
    b->st.data_lost += t->lost;
    b->st.errors += t->errors;
    b->st.redirects += t->redirects;
    b->st.replica_waits += t->short_wait;
    if (t->cmds > 0 && t->replies == t->cmds)
        time_round_trip(&b->st, mono_seconds() - t->t0);
    pthread_mutex_unlock(&b->mu);
    if (t->lost)
        LOG(LOG_WARN, "Redis lost earlier data of this sensor run (restarted without its data?): "
                      "counters start again from here");
    if (t->resent)
        LOG(LOG_WARN,
            "Redis: the master lacked %u flushes its predecessor had confirmed "
            "(a failover): sent again from the backlog",
            t->resent);
}

/* Sends the batch in one round trip (and WAIT) and reads every reply. Returns how many
 * units, from the first, are confirmed (and on enough replicas); `retry` tells whether an
 * error asks for a backoff. */
static unsigned write_batch(struct backlog *b, unsigned count, bool *retry, char *err,
                            size_t errlen)
{
    struct trip t = {.t0 = mono_seconds()};
    unsigned confirmed = 0, sent = append_batch(b, count, &t);

    t.retry = sent < count;
    if (sent == 0 || redis_send(b->conn, err, errlen) != BO_REDIS_OK || lose_replies(b)) {
        t.retry = true;
    } else {
        confirmed = read_units(b, sent, &t, err, errlen);
        if (b->cfg.min_replicas && !read_wait(b, &t, err, errlen)) {
            for (unsigned i = 0; i < confirmed; i++)
                b->inflight[i]->applied = true; /* kept: the next master may lack them */
            confirmed = 0;
        }
    }
    if (confirmed)
        b->known = b->inflight[confirmed - 1]->seq;
    account(b, &t);
    *retry = t.retry;
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

/* After a connection: says so when it is to another node than before (a failover, a slot
 * moved). */
static void note_node(struct backlog *b)
{
    char now[sizeof b->where];

    redis_where(b->conn, now, sizeof now);
    if (b->where[0] && strcmp(now, b->where) != 0) {
        LOG(LOG_WARN, "Redis: writing to %s now (was %s)", now, b->where);
        pthread_mutex_lock(&b->mu);
        b->st.master_changes++;
        pthread_mutex_unlock(&b->mu);
    }
    memcpy(b->where, now, sizeof b->where);
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
    if (connect && rc == BO_REDIS_OK)
        note_node(b);
    if (rc == BO_REDIS_OK)
        writer_register(b);
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
