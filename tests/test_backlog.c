/* Unit tests for the backlog: its writer thread against a scripted fake Redis on a unix
 * socket. The fake answers the handshake, SCRIPT LOAD and WAIT, and plays the flush
 * script's exactly-once rule on a run marker (apply a unit only when the marker is below
 * its sequence and, inside a round trip, equal to its `prev`), logging every sequence it
 * applies. Each test scripts a fault (a reply cut mid-batch, a server that refuses or
 * hangs, a marker that goes back) and checks what the writer did about it: every unit
 * applied once and in order, dropped only when the bound says so, and a prompt shutdown
 * with units still pending. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backlog.h"
#include "log.h"
#include "redis.h"

#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define APPLIED_MAX 4096
#define BUF_MAX     (1u << 20)
#define TIMEOUT_MS  300u /* the connection's command timeout */

/* ---- the fake server ---- */

struct fake {
    char dir[64], path[108];
    int lfd;
    pthread_t thread;
    pthread_mutex_t mu;
    /* the script, and what happened (mu) */
    bool stop;
    uint64_t marker;               /* the run marker: last sequence applied */
    uint64_t applied[APPLIED_MAX]; /* every sequence applied, in order */
    unsigned napplied;
    unsigned flushes;        /* EVALSHA/EVAL commands seen */
    unsigned connections;    /* accepted */
    int cut_after;           /* >= 0: after this many flush replies, half a reply and close */
    bool hang;               /* flushes get no reply */
    const char *flush_error; /* every flush gets this error reply */
    const char *select_error;
    unsigned noscript; /* this many EVALSHA get NOSCRIPT */
    long long acks;    /* the WAIT reply */
    unsigned waits;    /* WAIT commands seen */
    unsigned redirect; /* this many flushes get READONLY */
    unsigned sadds;    /* SADD commands seen (the registration) */
    bool sadd_error;   /* SADD gets an error reply */
    /* connection state (server thread only) */
    char *in, *out;
    size_t nin, nout;
};

struct arg {
    const char *p;
    size_t n;
};

static bool arg_is(const struct arg *a, const char *s)
{
    return a->n == strlen(s) && strncasecmp(a->p, s, a->n) == 0;
}

static uint64_t arg_u64(const struct arg *a)
{
    char b[32];
    size_t n = a->n < sizeof b - 1 ? a->n : sizeof b - 1;
    memcpy(b, a->p, n);
    b[n] = '\0';
    return strtoull(b, NULL, 10);
}

static void out_add(struct fake *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(f->out + f->nout, BUF_MAX - f->nout, fmt, ap);
    va_end(ap);
    if (n > 0 && f->nout + (size_t)n < BUF_MAX)
        f->nout += (size_t)n;
}

/* One command of a RESP array of bulk strings at in[0..n). Returns the bytes it takes, 0
 * when incomplete. */
static size_t parse_cmd(const char *in, size_t n, struct arg *argv, int *argc, int max)
{
    const char *p = in, *end = in + n, *nl;
    long count;

    nl = n ? memchr(p, '\n', n) : NULL;
    if (n == 0 || *p != '*' || !nl)
        return 0;
    count = strtol(p + 1, NULL, 10);
    p = nl + 1;
    *argc = 0;
    for (long i = 0; i < count; i++) {
        nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        if (!nl || *p != '$')
            return 0;
        size_t len = strtoul(p + 1, NULL, 10);
        p = nl + 1;
        if ((size_t)(end - p) < len + 2)
            return 0;
        if (*argc < max)
            argv[(*argc)++] = (struct arg){p, len};
        p += len + 2;
    }
    return (size_t)(p - in);
}

/* The flush script's rule: EVALSHA sha 1 key seq prev first. Returns the status. */
static int play_flush(struct fake *f, const struct arg *argv, int argc, bool *lost)
{
    if (argc < 7)
        return -1;
    uint64_t seq = arg_u64(&argv[4]), prev = arg_u64(&argv[5]);
    bool first = arg_is(&argv[6], "1");
    *lost = false;
    if (f->marker >= seq)
        return 0;
    if (!first && f->marker != prev)
        return 2;
    *lost = first && f->marker < prev;
    f->marker = seq;
    if (f->napplied < APPLIED_MAX)
        f->applied[f->napplied++] = seq;
    return 1;
}

/* Answers one command (mu held). Returns false when the connection is to be closed after
 * what is in the output (a cut). */
static bool answer(struct fake *f, const struct arg *argv, int argc, unsigned *replies)
{
    bool lost;

    if (arg_is(&argv[0], "SELECT") && f->select_error)
        out_add(f, "-%s\r\n", f->select_error);
    else if (arg_is(&argv[0], "SELECT") || arg_is(&argv[0], "CLIENT") || arg_is(&argv[0], "AUTH"))
        out_add(f, "+OK\r\n");
    else if (arg_is(&argv[0], "SCRIPT"))
        out_add(f, "$40\r\n0123456789abcdef0123456789abcdef01234567\r\n");
    else if (arg_is(&argv[0], "WAIT")) {
        f->waits++;
        out_add(f, ":%lld\r\n", f->acks);
    } else if (arg_is(&argv[0], "SADD")) {
        f->sadds++;
        out_add(f, f->sadd_error ? "-ERR no index here\r\n" : ":1\r\n");
    } else if (arg_is(&argv[0], "EVALSHA") || arg_is(&argv[0], "EVAL")) {
        f->flushes++;
        if (f->hang)
            return true;
        if (f->redirect > 0) {
            f->redirect--;
            out_add(f, "-READONLY You can't write against a read only replica.\r\n");
            return true;
        }
        if (f->flush_error) {
            out_add(f, "-%s\r\n", f->flush_error);
            return true;
        }
        if (arg_is(&argv[0], "EVALSHA") && f->noscript > 0) {
            f->noscript--;
            out_add(f, "-NOSCRIPT No matching script. Please use EVAL.\r\n");
            return true;
        }
        int st = play_flush(f, argv, argc, &lost);
        if (f->cut_after >= 0 && *replies == (unsigned)f->cut_after) {
            f->cut_after = -1; /* once */
            out_add(f, "*3\r\n:");
            return false;
        }
        out_add(f, "*3\r\n:%d\r\n:1\r\n:%d\r\n", st, lost ? 1 : 0);
        (*replies)++;
    } else {
        out_add(f, "-ERR unknown command\r\n");
    }
    return true;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Handles what is buffered: answers each whole command; after a cut, applies the rest of
 * the round trip without answering. Returns false when the connection is to be closed. */
static bool serve_buffer(struct fake *f, int fd, unsigned *replies, bool *cut)
{
    struct arg argv[16];
    int argc;
    size_t used = 0, k;

    pthread_mutex_lock(&f->mu);
    for (;;) {
        k = parse_cmd(f->in + used, f->nin - used, argv, &argc, 16);
        if (k <= 0)
            break;
        used += k;
        bool lost;
        if (*cut && argc > 0 && (arg_is(&argv[0], "EVALSHA") || arg_is(&argv[0], "EVAL")))
            play_flush(f, argv, argc, &lost);
        else if (!*cut && argc > 0 && !answer(f, argv, argc, replies))
            *cut = true;
    }
    pthread_mutex_unlock(&f->mu);
    memmove(f->in, f->in + used, f->nin - used);
    f->nin -= used;
    bool ok = write_all(fd, f->out, f->nout);
    f->nout = 0;
    return ok && !*cut;
}

static bool stopping(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    bool s = f->stop;
    pthread_mutex_unlock(&f->mu);
    return s;
}

static void serve(struct fake *f, int fd)
{
    unsigned replies = 0;
    bool cut = false;

    f->nin = f->nout = 0;
    while (!stopping(f)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, cut ? 30 : 20);
        if (n == 0 && cut)
            return; /* the rest of the round trip has arrived: close */
        if (n <= 0)
            continue;
        ssize_t r = read(fd, f->in + f->nin, BUF_MAX - f->nin);
        if (r <= 0)
            return;
        f->nin += (size_t)r;
        if (!serve_buffer(f, fd, &replies, &cut) && !cut)
            return;
    }
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;

    while (!stopping(f)) {
        struct pollfd p = {.fd = f->lfd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&f->mu);
        f->connections++;
        pthread_mutex_unlock(&f->mu);
        serve(f, fd);
        close(fd);
    }
    return NULL;
}

static struct fake *fake_new(void)
{
    struct fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/blackout-backlog.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/redis.sock", f->dir);
    f->in = malloc(BUF_MAX);
    f->out = malloc(BUF_MAX);
    f->cut_after = -1;
    f->acks = 1;
    f->lfd = -1;
    pthread_mutex_init(&f->mu, NULL);
    return f;
}

/* Starts listening (a fake made but not started refuses connections). */
static void fake_start(struct fake *f)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, f->path, strlen(f->path) + 1);
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_free(struct fake *f)
{
    if (f->lfd >= 0) {
        pthread_mutex_lock(&f->mu);
        f->stop = true;
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thread, NULL);
        close(f->lfd);
    }
    unlink(f->path);
    rmdir(f->dir);
    pthread_mutex_destroy(&f->mu);
    free(f->in);
    free(f->out);
    free(f);
}

/* Every sequence 1..n applied once, in order. */
static void assert_applied_in_order(struct fake *f, unsigned n)
{
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->napplied, n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(f->applied[i], i + 1);
    pthread_mutex_unlock(&f->mu);
}

/* ---- units and backlogs ---- */

/* A unit as the sink makes it, in one block: EVALSHA sha 1 key seq prev first. */
static struct backlog_unit *make_unit(uint64_t seq, int64_t bin)
{
    const int argc = 7;
    size_t total = sizeof(struct backlog_unit) + argc * (sizeof(char *) + sizeof(size_t)) + 24;
    struct backlog_unit *u = calloc(1, total);
    assert_non_null(u);
    u->argv = (const char **)(u + 1);
    u->lens = (size_t *)(u->argv + argc);
    char *num = (char *)(u->lens + argc);
    snprintf(num, 24, "%" PRIu64, seq);
    u->argv[2] = "1";
    u->argv[3] = "k";
    u->argv[4] = num;
    for (int i = 2; i < 5; i++)
        u->lens[i] = strlen(u->argv[i]);
    u->argc = argc;
    u->idx_prev = 5;
    u->idx_first = 6;
    u->seq = seq;
    u->bin_start = bin;
    u->nbins = 1;
    u->bytes = total;
    return u;
}

static const char *const register_argv[] = {"SADD", "index", "s1"};

static struct backlog *backlog_with(struct fake *f, unsigned max_units, bool wait_when_full,
                                    unsigned min_replicas)
{
    char url[160], err[256];
    struct redis_url u;
    struct backlog_config c = {.max_units = max_units,
                               .max_bytes = (size_t)1 << 30,
                               .wait_when_full = wait_when_full,
                               .stall_ms = 300,
                               .script = "return 1",
                               .min_replicas = min_replicas,
                               .wait_ms = 50,
                               .register_argc = min_replicas ? 3 : 0,
                               .register_argv = register_argv};

    snprintf(url, sizeof url, "unix://%s", f->path);
    assert_int_equal(redis_url_parse(url, &u, err, sizeof err), 0);
    struct backlog *b = backlog_new(redis_new(&u, TIMEOUT_MS, "test"), &c);
    assert_non_null(b);
    return b;
}

static struct backlog *backlog_at(struct fake *f, unsigned max_units, bool wait_when_full)
{
    return backlog_with(f, max_units, wait_when_full, 0);
}

static void fake_set(struct fake *f, uint64_t marker, long long acks)
{
    pthread_mutex_lock(&f->mu);
    f->marker = marker;
    f->acks = acks;
    pthread_mutex_unlock(&f->mu);
}

static void push_range(struct backlog *b, uint64_t from, uint64_t to)
{
    for (uint64_t s = from; s <= to; s++)
        backlog_push(b, make_unit(s, (int64_t)s * 10));
}

static struct backlog_stats stats(struct backlog *b)
{
    struct backlog_stats st;
    backlog_stats(b, &st);
    return st;
}

/* ---- tests ---- */

/* A stream of units is applied once each, in order, in round trips of several. */
static void confirmation_order(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    fake_start(f);
    struct backlog *b = backlog_at(f, 512, false);

    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    push_range(b, 1, 300);
    assert_int_equal(backlog_drain(b, 10000), 0);
    assert_applied_in_order(f, 300);
    struct backlog_stats st = stats(b);
    assert_int_equal(st.flushes, 300);
    assert_int_equal(st.duplicates, 0);
    assert_int_equal(st.dropped_units, 0);
    assert_int_equal(st.pending_units, 0);
    assert_int_equal(st.data_lost, 0);
    assert_true(st.connected);
    assert_int_equal(st.pending_first_bin, INT64_MIN);
    /* one SCRIPT LOAD, one command per unit (unless a reply was late on a loaded machine) */
    if (st.reconnects == 0)
        assert_int_equal(st.commands, 301);
    backlog_free(b);
    fake_free(f);
}

/* The server applies a whole round trip but its replies stop after the fifth, inside the
 * sixth: the writer reconnects, sends the rest again and finds them applied. */
static void reply_cut_mid_batch(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    fake_start(f);
    struct backlog *b = backlog_at(f, 64, false);

    push_range(b, 1, 20); /* queued before the writer starts: one round trip of 20 */
    pthread_mutex_lock(&f->mu);
    f->cut_after = 5;
    pthread_mutex_unlock(&f->mu);
    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    assert_int_equal(backlog_drain(b, 10000), 0);
    assert_applied_in_order(f, 20);
    struct backlog_stats st = stats(b);
    assert_int_equal(st.flushes, 5);
    assert_int_equal(st.duplicates, 15);
    assert_int_equal(st.reconnects, 1);
    assert_int_equal(st.data_lost, 0);
    assert_non_null(strstr(st.last_error, "redis.sock"));
    backlog_free(b);
    fake_free(f);
}

/* With Redis away, the backlog keeps max_units units: the oldest queued ones go, counted;
 * once Redis is there the survivors are applied in order. */
static void overflow(void **state)
{
    char err[256];
    struct fake *f = fake_new(); /* not listening yet */
    struct backlog *b = backlog_at(f, 8, false);

    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    push_range(b, 1, 20);
    struct backlog_stats st = stats(b);
    assert_false(st.connected);
    assert_int_equal(st.pending_units, 8);
    assert_int_equal(st.dropped_units, 12);
    assert_int_equal(st.dropped_bins, 12);
    assert_int_equal(st.pending_last_bin, 200); /* the newest stays */
    assert_non_null(strstr(st.last_error, "redis.sock"));
    fake_start(f);
    assert_int_equal(backlog_drain(b, 10000), 0);
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->napplied, 8);
    for (unsigned i = 1; i < f->napplied; i++)
        assert_true(f->applied[i] > f->applied[i - 1]);
    assert_int_equal(f->applied[7], 20);
    pthread_mutex_unlock(&f->mu);
    assert_int_equal(stats(b).data_lost, 0);
    backlog_free(b);
    fake_free(f);
}

/* wait_when_full (a replay): while the writer makes progress the pusher waits rather than
 * drop, however small the bound. */
static void full_waits_for_progress(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    fake_start(f);
    struct backlog *b = backlog_at(f, 4, true);

    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    push_range(b, 1, 200);
    assert_int_equal(backlog_drain(b, 10000), 0);
    assert_int_equal(stats(b).dropped_units, 0);
    assert_applied_in_order(f, 200);
    backlog_free(b);
    fake_free(f);
}

/* A writer that is connected but makes no progress (every flush refused) is stuck: after
 * stall_ms the pusher stops waiting and the oldest units go. The refusals are counted and
 * the last one kept. */
static void stall_detection(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    f->flush_error = "OOM command not allowed when used memory > 'maxmemory'.";
    fake_start(f);
    struct backlog *b = backlog_at(f, 4, true);

    uint64_t t0 = log_now_ms(); /* the writer's progress (its connection) comes later */
    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    push_range(b, 1, 6);
    uint64_t waited = log_now_ms() - t0;
    assert_true(waited >= 300);
    assert_true(waited < 5000);
    struct backlog_stats st = stats(b);
    assert_true(st.connected);
    assert_true(st.dropped_units >= 1);
    assert_true(st.errors >= 1);
    assert_non_null(strstr(st.last_error, "OOM"));
    assert_int_equal(st.pending_last_bin, 60);
    backlog_free(b);
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->napplied, 0);
    pthread_mutex_unlock(&f->mu);
    fake_free(f);
}

/* Shutdown with units pending: the server takes the round trip and never answers. drain
 * gives up at its timeout and says how many are left; free returns within about one
 * command timeout and frees every unit (the leak checker sees to that). */
static void shutdown_pending(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    f->hang = true;
    fake_start(f);
    struct backlog *b = backlog_at(f, 64, false);

    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    push_range(b, 1, 10);
    assert_int_equal(backlog_drain(b, 200), 10);
    struct backlog_stats st = stats(b);
    assert_int_equal(st.pending_units, 10);
    assert_int_equal(st.pending_bins, 10);
    assert_int_equal(st.pending_first_bin, 10);
    assert_int_equal(st.pending_last_bin, 100);
    uint64_t t0 = log_now_ms();
    backlog_free(b);
    assert_true(log_now_ms() - t0 < 3 * TIMEOUT_MS + 500);
    fake_free(f);

    /* and with Redis never reachable at all */
    f = fake_new();
    b = backlog_at(f, 64, false);
    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    push_range(b, 1, 10);
    assert_int_equal(backlog_drain(b, 100), 10);
    backlog_free(b);
    backlog_free(NULL);
    fake_free(f);
}

/* A server that refuses us (SELECT) stops the writer for good: start says why. */
static void refused_at_start(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    f->select_error = "ERR DB index is out of range";
    fake_start(f);
    struct backlog *b = backlog_at(f, 64, false);

    assert_int_equal(backlog_start(b, err, sizeof err), -1);
    assert_non_null(strstr(err, "DB index is out of range"));
    assert_true(backlog_failed(b, err, sizeof err));
    push_range(b, 1, 3);
    assert_int_equal(backlog_drain(b, 100), 3);
    backlog_free(b);
    fake_free(f);
}

/* NOSCRIPT (the script cache was flushed): the unit goes again as EVAL, nothing lost. */
static void noscript_falls_back_to_eval(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    f->noscript = 1;
    fake_start(f);
    struct backlog *b = backlog_at(f, 64, false);

    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    push_range(b, 1, 5);
    assert_int_equal(backlog_drain(b, 10000), 0);
    assert_applied_in_order(f, 5);
    assert_int_equal(stats(b).errors, 0);
    backlog_free(b);
    fake_free(f);
}

/* The run marker goes back (a server that lost its data): the next unit is applied and the
 * loss counted. */
static void marker_lost(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    fake_start(f);
    struct backlog *b = backlog_at(f, 64, false);

    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    push_range(b, 1, 5);
    assert_int_equal(backlog_drain(b, 10000), 0);
    pthread_mutex_lock(&f->mu);
    f->marker = 0;
    pthread_mutex_unlock(&f->mu);
    push_range(b, 6, 8);
    assert_int_equal(backlog_drain(b, 10000), 0);
    struct backlog_stats st = stats(b);
    assert_int_equal(st.data_lost, 1);
    assert_int_equal(st.flushes, 8);
    backlog_free(b);
    fake_free(f);
}

/* --min-replicas 1: a round trip ends with WAIT; while the replicas lag (WAIT answers 0)
 * the units stay, applied once by the master and found applied when sent again. */
static void wait_for_replicas(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    f->acks = 0;
    fake_start(f);
    struct backlog *b = backlog_with(f, 64, false, 1);

    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    assert_true(stats(b).connected); /* the registration (SADD) does not wait for replicas */
    push_range(b, 1, 5);
    assert_int_equal(backlog_drain(b, 300), 5);
    struct backlog_stats st = stats(b);
    assert_true(st.replica_waits >= 1);
    assert_int_equal(st.errors, 0);
    assert_non_null(strstr(st.last_error, "0 of 1 replicas"));
    fake_set(f, 5, 1);
    assert_int_equal(backlog_drain(b, 10000), 0);
    assert_applied_in_order(f, 5);
    st = stats(b);
    assert_true(st.duplicates >= 5);
    assert_int_equal(st.resent, 0);
    assert_int_equal(st.data_lost, 0);
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->sadds, 1);
    assert_true(f->waits >= 2);
    pthread_mutex_unlock(&f->mu);
    backlog_free(b);
    fake_free(f);
}

/* A failover: the old master applied units 1..5 but no replica confirmed them; the new
 * master's marker is at 3 (it got 1..3 by replication). 4 and 5 are sent again from the
 * backlog and counted as resent; nothing is lost. */
static void failover_resends(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    fake_start(f);
    struct backlog *b = backlog_with(f, 64, false, 1);

    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    fake_set(f, 0, 0);
    push_range(b, 1, 5);
    assert_int_equal(backlog_drain(b, 300), 5);
    fake_set(f, 3, 1); /* the promoted replica */
    assert_int_equal(backlog_drain(b, 10000), 0);
    struct backlog_stats st = stats(b);
    assert_int_equal(st.resent, 2);
    assert_int_equal(st.data_lost, 0);
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->marker, 5);
    assert_int_equal(f->applied[f->napplied - 2], 4); /* applied again, in order */
    assert_int_equal(f->applied[f->napplied - 1], 5);
    pthread_mutex_unlock(&f->mu);
    backlog_free(b);
    fake_free(f);
}

/* A new master lacks units the replicas had confirmed (more replicas lost than WAIT asked
 * for): the backlog no longer holds them, so that is data lost, said once. */
static void failover_beyond_backlog(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    fake_start(f);
    struct backlog *b = backlog_with(f, 64, false, 1);

    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    push_range(b, 1, 5);
    assert_int_equal(backlog_drain(b, 10000), 0);
    fake_set(f, 2, 1);
    push_range(b, 6, 7);
    assert_int_equal(backlog_drain(b, 10000), 0);
    struct backlog_stats st = stats(b);
    assert_int_equal(st.data_lost, 1);
    assert_int_equal(st.resent, 0);
    assert_int_equal(st.flushes, 7);
    backlog_free(b);
    fake_free(f);
}

/* READONLY (the master became a replica): a redirect, not an error; the writer connects
 * again and the units go through. */
static void redirect_reconnects(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    f->redirect = 2;
    fake_start(f);
    struct backlog *b = backlog_at(f, 64, false);

    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    push_range(b, 1, 3);
    assert_int_equal(backlog_drain(b, 10000), 0);
    assert_applied_in_order(f, 3);
    struct backlog_stats st = stats(b);
    assert_int_equal(st.redirects, 2);
    assert_int_equal(st.errors, 0);
    assert_true(st.reconnects >= 1);
    assert_true(st.backlog_peak >= 1 && st.backlog_peak <= 3);
    backlog_free(b);
    fake_free(f);
}

/* The registration (a cluster sensor's SADD to the index) failing holds nothing up: the
 * units go, the failure is tried again later (not at every round trip). */
static void registration_failure(void **state)
{
    char err[256];
    struct fake *f = fake_new();
    f->sadd_error = true;
    fake_start(f);
    struct backlog *b = backlog_with(f, 64, false, 1);

    assert_int_equal(backlog_start(b, err, sizeof err), 0);
    for (uint64_t s = 1; s <= 5; s++) {
        push_range(b, s, s);
        assert_int_equal(backlog_drain(b, 10000), 0);
    }
    assert_applied_in_order(f, 5);
    pthread_mutex_lock(&f->mu);
    assert_int_equal(f->sadds, 1);
    pthread_mutex_unlock(&f->mu);
    backlog_free(b);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(confirmation_order),
        cmocka_unit_test(reply_cut_mid_batch),
        cmocka_unit_test(overflow),
        cmocka_unit_test(full_waits_for_progress),
        cmocka_unit_test(stall_detection),
        cmocka_unit_test(shutdown_pending),
        cmocka_unit_test(refused_at_start),
        cmocka_unit_test(noscript_falls_back_to_eval),
        cmocka_unit_test(marker_lost),
        cmocka_unit_test(wait_for_replicas),
        cmocka_unit_test(failover_resends),
        cmocka_unit_test(failover_beyond_backlog),
        cmocka_unit_test(redirect_reconnects),
        cmocka_unit_test(registration_failure),
    };
    log_threshold = LOG_ERR - 1; /* the writer's warnings are expected here */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
