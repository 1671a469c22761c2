/* alert — the alerts stream consumer. See alert.h. */
#include "alert.h"

#include "log.h"
#include "query.h"
#include "records.h"
#include "redis.h"
#include "sink.h"
#include "stop.h"
#include "text.h"
#include "webhook.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define BATCH         "100"  /* entries per read */
#define BLOCK_MS      5000u  /* longest XREAD BLOCK */
#define RETRY_BASE_MS 1000u  /* first retry of a failed --exec */
#define RETRY_CAP_MS  60000u /* longest wait between retries */
#define NOGROUP_TRIES 3      /* without a group or --follow: attempts of a failing --exec */
#define FIELD_MAX     128
#define POLL_MS       250u   /* a cluster: the streams are polled this often when idle */
#define LIST_MS       10000u /* a cluster: the sensor index is read again this often */
#define STREAMS_MAX   4096

/* One stream entry, its fields copied out of the reply (json points into it). */
struct alert_entry {
    char id[ALERT_ID_MAX];
    bool gone; /* trimmed from the stream while pending: no data */
    const char *json;
    size_t json_len;
    char event[FIELD_MAX], country[FIELD_MAX], route[FIELD_MAX], sensor[FIELD_MAX],
        since[FIELD_MAX], detected[FIELD_MAX], cause[FIELD_MAX];
};

/* One alerts stream: Palerts, or in a cluster one per sensor (sink.h). */
struct stream {
    char key[300];
    bool ready;                /* its group made, or its cursor resolved */
    char cursor[ALERT_ID_MAX]; /* no group: the last entry read */
    uint64_t pending_due;      /* group: when to try the pending entries again (0: never) */
    unsigned attempt;          /* consecutive failed tries of the pending entries */
};

struct consumer {
    const struct options *o;
    struct redis *r;
    struct webhook *hook; /* --webhook, else NULL */
    bool group;
    bool split;          /* a cluster: the streams of the sensors in Psensors, polled */
    struct stream *strm; /* [STREAMS_MAX], nstreams used */
    size_t nstreams;
    struct stream *s; /* the stream being read */
    uint64_t listed_ms;
    uint64_t unhandled; /* without --follow: alerts left for another run */
    struct log_limit fail_log, io_log;
    char err[600];
};

/* What handling one entry gave. */
enum handled { DONE, FAILED, FATAL /* stdout is gone */ };

/* How a step of a loop ended. */
enum step {
    ST_OK,
    ST_STOP,      /* SIGINT or SIGTERM */
    ST_IO,        /* the connection to Redis was lost (--follow reconnects) */
    ST_ERR,       /* Redis refused a command or us */
    ST_OUTPUT,    /* stdout could not be written */
    ST_UNHANDLED, /* no group, no --follow: an alert could not be handled */
};

/* ---- pure helpers ---- */

/* "MS-SEQ" → the two numbers. */
static int parse_id(const char *s, uint64_t *ms, uint64_t *seq)
{
    char num[24];
    const char *dash = strchr(s, '-');
    size_t n = dash ? (size_t)(dash - s) : 0;

    if (!dash || n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, s, n);
    num[n] = '\0';
    return text_parse_u64(num, 0, UINT64_MAX, ms) < 0 ||
                   text_parse_u64(dash + 1, 0, UINT64_MAX, seq) < 0
               ? -1
               : 0;
}

/* The ID just before MS-SEQ ("0-0" before the first). */
static void id_before(uint64_t ms, uint64_t seq, char *id, size_t size)
{
    if (seq > 0)
        snprintf(id, size, "%" PRIu64 "-%" PRIu64, ms, seq - 1);
    else if (ms > 0)
        snprintf(id, size, "%" PRIu64 "-%" PRIu64, ms - 1, UINT64_MAX);
    else
        snprintf(id, size, "0-0");
}

int alert_start_id(const char *since, char *id, size_t size)
{
    uint64_t ms, seq;
    int64_t t;

    if (!since || !since[0]) {
        snprintf(id, size, "0-0");
        return 0;
    }
    if (strcmp(since, "$") == 0) {
        snprintf(id, size, "$");
        return 0;
    }
    if (parse_id(since, &ms, &seq) == 0) {
        id_before(ms, seq, id, size);
        return 0;
    }
    if (query_parse_time(since, &t) < 0 || t < 0 || t > INT64_MAX / 1000)
        return -1;
    id_before((uint64_t)t * 1000, 0, id, size);
    return 0;
}

char **alert_env(char *const *env, const char *const (*pairs)[2], size_t npairs)
{
    size_t n = 0, bytes = 0;

    for (; env && env[n]; n++)
        bytes += strlen(env[n]) + 1;
    for (size_t i = 0; i < npairs; i++)
        if (pairs[i][1])
            bytes += strlen(pairs[i][0]) + strlen(pairs[i][1]) + 2;
    char **out = malloc((n + npairs + 1) * sizeof *out + bytes);
    if (!out)
        return NULL;
    char *p = (char *)(out + n + npairs + 1), *end = p + bytes;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < npairs && !replaced; j++) {
            size_t len = strlen(pairs[j][0]);
            replaced = strncmp(env[i], pairs[j][0], len) == 0 && env[i][len] == '=';
        }
        if (replaced)
            continue;
        size_t len = strlen(env[i]) + 1;
        out[k++] = memcpy(p, env[i], len);
        p += len;
    }
    for (size_t j = 0; j < npairs; j++) {
        if (!pairs[j][1])
            continue;
        out[k++] = p;
        p += snprintf(p, (size_t)(end - p), "%s=%s", pairs[j][0], pairs[j][1]) + 1;
    }
    out[k] = NULL;
    return out;
}

/* ---- entries ---- */

static void field_copy(const struct redis_reply *v, char *buf, size_t size)
{
    size_t n;
    const char *s = redis_reply_str(v, &n);
    /* a field is text: cut at a NUL so it stays one C string */
    const char *nul = memchr(s, '\0', n);
    if (nul)
        n = (size_t)(nul - s);
    if (n >= size)
        n = size - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

/* An entry of an XREAD/XRANGE reply: [id, [field, value, ...]] (the fields nil when the
 * entry was trimmed while pending). Returns 0, or -1 when it is not an entry. */
static int parse_entry(const struct redis_reply *x, struct alert_entry *e)
{
    const struct redis_reply *id = redis_reply_at(x, 0), *f = redis_reply_at(x, 1);
    struct {
        const char *name;
        char *buf;
    } fields[] = {{"event", e->event},      {"country", e->country}, {"route", e->route},
                  {"sensor", e->sensor},    {"since", e->since},     {"cause", e->cause},
                  {"detected", e->detected}};

    memset(e, 0, sizeof *e);
    if (!id || redis_reply_type(id) != BO_REDIS_R_STRING)
        return -1;
    field_copy(id, e->id, sizeof e->id);
    e->gone = !f || redis_reply_type(f) != BO_REDIS_R_ARRAY;
    for (size_t i = 0; !e->gone && i + 1 < redis_reply_len(f); i += 2) {
        size_t n, m;
        const char *name = redis_reply_str(redis_reply_at(f, i), &n);
        const char *val = redis_reply_str(redis_reply_at(f, i + 1), &m);
        if (n == 4 && memcmp(name, "json", 4) == 0) {
            e->json = val;
            e->json_len = m;
        }
        for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
            if (n == strlen(fields[k].name) && memcmp(name, fields[k].name, n) == 0)
                field_copy(redis_reply_at(f, i + 1), fields[k].buf, FIELD_MAX);
    }
    e->gone = e->gone || !e->json;
    return 0;
}

/* The entries of a read: XREAD/XREADGROUP reply [[key, [entries]]], or XRANGE [entries]. */
static const struct redis_reply *entries_of(const struct redis_reply *x, bool xrange)
{
    if (!x || redis_reply_type(x) != BO_REDIS_R_ARRAY)
        return NULL;
    return xrange ? x : redis_reply_at(redis_reply_at(x, 0), 1);
}

/* ---- output and --exec ---- */

static enum handled print_entry(const struct consumer *c, const struct alert_entry *e)
{
    struct event ev;
    char line[512];

    if (c->o->json)
        printf("%.*s\n", (int)e->json_len, e->json);
    else if (event_from_json(e->json, e->json_len, &ev) == 0)
        printf("%s\n", event_text(&ev, line, sizeof line));
    else
        printf("%s  %s  %s/%s  sensor %s  (event JSON unreadable)\n", e->id, e->event, e->country,
               e->route, e->sensor);
    return fflush(stdout) == 0 ? DONE : FATAL;
}

/* Writes the JSON line to the command's stdin (it may not read it: EPIPE is fine). */
static void feed_stdin(int fd, const struct alert_entry *e)
{
    const char *p = e->json;
    size_t left = e->json_len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    if (left == 0)
        (void)!write(fd, "\n", 1);
    close(fd);
}

/* Waits for the command, killing its process group after the timeout. Returns its wait
 * status, or -1. */
static int wait_child(pid_t pid, uint64_t timeout_ms)
{
    uint64_t end = log_now_ms() + timeout_ms;
    int status;

    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return status;
        if (w < 0 && errno != EINTR)
            return -1;
        if (log_now_ms() >= end) {
            kill(-pid, SIGKILL);
            return waitpid(pid, &status, 0) == pid ? status : -1;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static int spawn(const struct consumer *c, char **envp, int in[2], pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t def;
    char sh[] = "/bin/sh", flag[] = "-c";
    char *argv[] = {sh, flag, (char *)c->o->exec, NULL};

    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addclose(&fa, in[0]);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(pid, "/bin/sh", &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc;
}

/* Runs --exec for one entry. Returns DONE (exit 0) or FAILED, with why in c->err. */
static enum handled run_exec(struct consumer *c, const struct alert_entry *e)
{
    const char *const pairs[][2] = {
        {"BLACKOUT_ID", e->id},
        {"BLACKOUT_EVENT", e->event},
        {"BLACKOUT_COUNTRY", e->country},
        {"BLACKOUT_ROUTE", e->route},
        {"BLACKOUT_SENSOR", e->sensor},
        {"BLACKOUT_SINCE", e->since},
        {"BLACKOUT_DETECTED", e->detected},
        {"BLACKOUT_CAUSE", e->cause[0] ? e->cause : NULL},
    };
    int in[2];
    pid_t pid;

    char **envp = alert_env(environ, pairs, sizeof pairs / sizeof pairs[0]);
    if (!envp || pipe(in) != 0) {
        snprintf(c->err, sizeof c->err, "cannot start the --exec command: %s",
                 envp ? strerror(errno) : "out of memory");
        free(envp);
        return FAILED;
    }
    fcntl(in[1], F_SETFD, FD_CLOEXEC);
    int rc = spawn(c, envp, in, &pid);
    free(envp);
    close(in[0]);
    if (rc != 0) {
        close(in[1]);
        snprintf(c->err, sizeof c->err, "cannot start /bin/sh: %s", strerror(rc));
        return FAILED;
    }
    feed_stdin(in[1], e);
    int st = wait_child(pid, c->o->exec_timeout * 1000);
    if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return DONE;
    if (st >= 0 && WIFEXITED(st))
        snprintf(c->err, sizeof c->err, "the --exec command exited %d", WEXITSTATUS(st));
    else if (st >= 0 && WIFSIGNALED(st))
        snprintf(c->err, sizeof c->err, "the --exec command was killed by signal %d%s",
                 WTERMSIG(st), WTERMSIG(st) == SIGKILL ? " (--exec-timeout?)" : "");
    else
        snprintf(c->err, sizeof c->err, "the --exec command could not be waited for");
    return FAILED;
}

/* POSTs the alert to --webhook. Returns DONE (a 2xx answer) or FAILED, with why in c->err. */
static enum handled run_webhook(struct consumer *c, const struct alert_entry *e)
{
    return webhook_post(c->hook, e->id, e->json, e->json_len, c->err, sizeof c->err) == 0 ? DONE
                                                                                          : FAILED;
}

/* Prints the entry, or hands it to --exec or --webhook: the one place that says whether an
 * alert was handled (so acknowledged) or stays pending for a retry. */
static enum handled handle(struct consumer *c, const struct alert_entry *e)
{
    if (!query_country_wanted(c->o, e->country))
        return DONE; /* another country's: not this consumer's (with a group, acknowledged) */
    if (e->gone) {
        LOG(LOG_WARN, "alert %s was trimmed from %s before it was handled: skipped", e->id,
            c->s->key);
        return DONE;
    }
    if (!c->o->exec && !c->hook)
        return print_entry(c, e);
    enum handled h = c->hook ? run_webhook(c, e) : run_exec(c, e);
    if (h == DONE)
        LOG(LOG_INFO, "alert %s (%s %s/%s %s) handled", e->id, e->event, e->country, e->route,
            e->sensor);
    return h;
}

/* ---- Redis ---- */

/* Sends a command and waits for its reply (block_ms: the server may hold it that long),
 * giving up early when a stop is requested. Returns ST_OK with *out, or ST_STOP, ST_IO,
 * ST_ERR with c->err. */
static enum step call(struct consumer *c, int argc, const char *const *argv, uint64_t block_ms,
                      struct redis_reply **out)
{
    size_t lens[QUERY_ARGS_MAX];
    char why[300];

    *out = NULL;
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    int rc = redis_call_wait(c->r, argc, (const char **)argv, lens, block_ms, stop_requested, out,
                             why, sizeof why);
    if (rc == BO_REDIS_OK)
        return ST_OK;
    if (rc == BO_REDIS_ESTOP)
        return ST_STOP;
    if (rc == BO_REDIS_EREPLY) {
        snprintf(c->err, sizeof c->err, "Redis refused %s on %.200s: %s", argv[0], c->s->key, why);
        return ST_ERR;
    }
    snprintf(c->err, sizeof c->err, "%s", why);
    return ST_IO;
}

static enum step ack(struct consumer *c, const char *id)
{
    const char *argv[] = {"XACK", c->s->key, c->o->group, id};
    struct redis_reply *x;
    enum step st = call(c, 4, argv, 0, &x);
    redis_reply_free(x);
    return st == ST_STOP ? ST_OK : st; /* the reply will not be read: it is sent */
}

static enum step make_group(struct consumer *c)
{
    char start[ALERT_ID_MAX];
    struct redis_reply *x;

    alert_start_id(c->o->since, start, sizeof start);
    const char *argv[] = {"XGROUP", "CREATE", c->s->key, c->o->group, start, "MKSTREAM"};
    enum step st = call(c, 6, argv, 0, &x);
    redis_reply_free(x);
    if (st == ST_ERR && strstr(c->err, "BUSYGROUP"))
        return ST_OK; /* it exists: it keeps its own position */
    if (st == ST_OK)
        LOG(LOG_INFO, "created consumer group %s on %s after %s", c->o->group, c->s->key, start);
    return st;
}

/* Without a group, "$" means the last entry now, so nothing written later is missed. */
static enum step resolve_cursor(struct consumer *c)
{
    struct redis_reply *x;

    alert_start_id(c->o->since, c->s->cursor, sizeof c->s->cursor);
    if (strcmp(c->s->cursor, "$") != 0)
        return ST_OK;
    const char *argv[] = {"XREVRANGE", c->s->key, "+", "-", "COUNT", "1"};
    enum step st = call(c, 6, argv, 0, &x);
    snprintf(c->s->cursor, sizeof c->s->cursor, "0-0");
    if (st == ST_OK && redis_reply_len(x) > 0)
        field_copy(redis_reply_at(redis_reply_at(x, 0), 0), c->s->cursor, sizeof c->s->cursor);
    redis_reply_free(x);
    return st;
}

/* ---- with a group ---- */

static uint64_t retry_ms(const struct consumer *c)
{
    return redis_backoff_ms(c->s->attempt, RETRY_BASE_MS, RETRY_CAP_MS);
}

static void note_failure(struct consumer *c, const struct alert_entry *e, uint64_t wait_ms)
{
    char when[48];
    if (wait_ms)
        snprintf(when, sizeof when, "retried in %" PRIu64 " s", (wait_ms + 999) / 1000);
    else
        snprintf(when, sizeof when, "tried again on the next run");
    log_limited(&c->fail_log, LOG_WARN, "alert %s (%s %s/%s, sensor %s): %s; %s%s", e->id, e->event,
                e->country, e->route, e->sensor, c->err, c->group ? "left pending, " : "", when);
}

/* The entries of one read, each handled, then acknowledged. *failed counts those that
 * stay pending; *last is the last ID read. */
static enum step group_entries(struct consumer *c, const struct redis_reply *list, char *last,
                               unsigned *failed)
{
    struct alert_entry e;

    for (size_t i = 0; list && i < redis_reply_len(list); i++) {
        if (parse_entry(redis_reply_at(list, i), &e) < 0)
            continue;
        snprintf(last, ALERT_ID_MAX, "%s", e.id);
        enum handled h = handle(c, &e);
        if (h == FATAL)
            return ST_OUTPUT;
        if (h == FAILED) {
            (*failed)++;
            note_failure(c, &e, c->o->follow ? retry_ms(c) : 0);
            continue;
        }
        enum step st = ack(c, e.id);
        if (st != ST_OK)
            return st;
    }
    return ST_OK;
}

/* A failed entry stays pending; the pending entries are tried again after a backoff. */
static void schedule_retry(struct consumer *c, unsigned failed, bool scan_done)
{
    struct stream *s = c->s;

    if (!c->o->follow) {
        c->unhandled += failed;
        s->pending_due = 0;
    } else if (scan_done) {
        s->pending_due = failed ? log_now_ms() + retry_ms(c) : 0;
        s->attempt = failed ? s->attempt + 1 : 0;
    } else if (failed && !s->pending_due) {
        s->pending_due = log_now_ms() + retry_ms(c);
    }
}

/* This consumer's pending entries (delivered, not acknowledged), all of them, once. */
static enum step group_pending(struct consumer *c)
{
    char cursor[ALERT_ID_MAX] = "0";
    unsigned failed = 0;
    size_t n;

    do {
        const char *argv[] = {"XREADGROUP", "GROUP",   c->o->group, c->o->consumer, "COUNT",
                              BATCH,        "STREAMS", c->s->key,   cursor};
        struct redis_reply *x;
        enum step st = call(c, 9, argv, 0, &x);
        if (st != ST_OK)
            return st;
        const struct redis_reply *list = entries_of(x, false);
        n = list ? redis_reply_len(list) : 0;
        st = group_entries(c, list, cursor, &failed);
        redis_reply_free(x);
        if (st != ST_OK)
            return st;
    } while (n > 0 && !stop_requested());
    schedule_retry(c, failed, true);
    return ST_OK;
}

/* New entries; blocks up to block_ms until one comes or the pending entries are due. */
static enum step group_new(struct consumer *c, uint64_t block_ms, size_t *got)
{
    char block[24], last[ALERT_ID_MAX];
    uint64_t wait = block_ms, now = log_now_ms(), due = c->s->pending_due;
    unsigned failed = 0;
    struct redis_reply *x;

    if (wait && due && due < now + wait)
        wait = due > now ? due - now : 1;
    snprintf(block, sizeof block, "%" PRIu64, wait);
    /* one at a time: consumers of a group share new alerts, and a consumer that dies holds
     * at most one unacknowledged */
    const char *argv[] = {"XREADGROUP", "GROUP", c->o->group, c->o->consumer, "COUNT", "1",
                          "BLOCK",      block,   "STREAMS",   c->s->key,      ">"};
    const char *once[] = {"XREADGROUP", "GROUP",   c->o->group, c->o->consumer, "COUNT", "1",
                          "STREAMS",    c->s->key, ">"};
    enum step st = wait ? call(c, 11, argv, wait, &x) : call(c, 9, once, 0, &x);
    *got = 0;
    if (st != ST_OK)
        return st;
    const struct redis_reply *list = entries_of(x, false);
    *got = list ? redis_reply_len(list) : 0;
    st = group_entries(c, list, last, &failed);
    redis_reply_free(x);
    schedule_retry(c, failed, false);
    return st;
}

/* One step on the current stream: its group made (then its own pending entries first: a
 * restart gets them), the pending entries when due, then new ones. */
static enum step group_step(struct consumer *c, uint64_t block_ms, size_t *got)
{
    enum step st = ST_OK;

    *got = 0;
    if (!c->s->ready) {
        st = make_group(c);
        c->s->ready = st == ST_OK;
        c->s->pending_due = log_now_ms();
    }
    if (st == ST_OK && c->s->pending_due && log_now_ms() >= c->s->pending_due)
        st = group_pending(c);
    return st == ST_OK ? group_new(c, block_ms, got) : st;
}

/* ---- without a group ---- */

/* One entry, its --exec retried in place (there is no pending list to leave it in):
 * following, until it succeeds; otherwise NOGROUP_TRIES times. */
static enum step plain_entry(struct consumer *c, const struct alert_entry *e)
{
    for (unsigned attempt = 0;; attempt++) {
        enum handled h = handle(c, e);
        if (h != FAILED)
            return h == DONE ? ST_OK : ST_OUTPUT;
        uint64_t wait = redis_backoff_ms(attempt, RETRY_BASE_MS, RETRY_CAP_MS);
        if ((!c->o->follow && attempt + 1 >= NOGROUP_TRIES) || stop_requested()) {
            size_t n = strlen(c->err);
            snprintf(c->err + n, sizeof c->err - n, "; alert %s not handled: go on with --since %s",
                     e->id, e->id);
            return stop_requested() ? ST_STOP : ST_UNHANDLED;
        }
        note_failure(c, e, wait);
        stop_sleep_ms(wait);
    }
}

/* One XREAD of the current stream (blocking up to block_ms), its entries handled. */
static enum step plain_step(struct consumer *c, uint64_t block_ms, size_t *got)
{
    char block[24];
    enum step st = c->s->ready ? ST_OK : resolve_cursor(c);
    struct redis_reply *x;
    struct alert_entry e;

    *got = 0;
    c->s->ready = st == ST_OK;
    if (st != ST_OK)
        return st;
    snprintf(block, sizeof block, "%" PRIu64, block_ms);
    const char *argv[] = {"XREAD", "COUNT",   BATCH,     "BLOCK",
                          block,   "STREAMS", c->s->key, c->s->cursor};
    const char *once[] = {"XREAD", "COUNT", BATCH, "STREAMS", c->s->key, c->s->cursor};
    st = block_ms ? call(c, 8, argv, block_ms, &x) : call(c, 6, once, 0, &x);
    if (st != ST_OK)
        return st;
    const struct redis_reply *list = entries_of(x, false);
    size_t n = list ? redis_reply_len(list) : 0;
    for (size_t i = 0; i < n && st == ST_OK; i++) {
        if (parse_entry(redis_reply_at(list, i), &e) < 0)
            continue;
        st = plain_entry(c, &e);
        if (st == ST_OK)
            snprintf(c->s->cursor, sizeof c->s->cursor, "%s", e.id);
    }
    redis_reply_free(x);
    *got = n;
    return st;
}

/* ---- the streams ---- */

/* A cluster: adds the stream of every sensor in the index not read yet (every LIST_MS). */
static enum step list_streams(struct consumer *c)
{
    char key[300];
    struct query_names names;

    if (!c->split || (c->listed_ms && log_now_ms() - c->listed_ms < LIST_MS))
        return ST_OK;
    sink_shared_key(key, sizeof key, c->o->redis_prefix, "", SINK_SENSORS, false);
    if (query_set_members(c->r, key, &names, c->err, sizeof c->err) < 0)
        return redis_connected(c->r) ? ST_ERR : ST_IO;
    c->listed_ms = log_now_ms();
    for (size_t i = 0; i < names.n && c->nstreams < STREAMS_MAX; i++) {
        if (sink_shared_key(key, sizeof key, c->o->redis_prefix, names.v[i], SINK_ALERTS, true) < 0)
            continue;
        size_t k;
        for (k = 0; k < c->nstreams && strcmp(c->strm[k].key, key) != 0; k++)
            ;
        if (k == c->nstreams) {
            memset(&c->strm[k], 0, sizeof c->strm[k]);
            text_copy(c->strm[k].key, sizeof c->strm[k].key, key);
            c->nstreams++;
        }
    }
    free(names.v);
    return ST_OK;
}

/* One step on every stream, without blocking; *got: the entries read. */
static enum step step_all(struct consumer *c, size_t *got)
{
    *got = 0;
    for (size_t i = 0; i < c->nstreams; i++) {
        size_t n;
        c->s = &c->strm[i];
        enum step st = c->group ? group_step(c, 0, &n) : plain_step(c, 0, &n);
        if (st != ST_OK)
            return st;
        *got += n;
    }
    return ST_OK;
}

/* Until done (without --follow: nothing new), stopped or failed. One stream: blocking reads;
 * the streams of a cluster: polled. */
static enum step run_loop(struct consumer *c)
{
    enum step st = ST_OK;

    while (st == ST_OK) {
        size_t got = 0;
        st = list_streams(c);
        if (st == ST_OK && !c->split) {
            c->s = &c->strm[0];
            uint64_t block = c->o->follow ? BLOCK_MS : 0;
            st = c->group ? group_step(c, block, &got) : plain_step(c, block, &got);
        } else if (st == ST_OK) {
            st = step_all(c, &got);
        }
        if (st == ST_OK && !c->o->follow && got == 0)
            break;
        if (st == ST_OK && c->split && got == 0) {
            stop_sleep_ms(POLL_MS);
            st = stop_requested() ? ST_STOP : ST_OK;
        }
    }
    return st;
}

/* ---- the subcommand ---- */

static int check_usage(const struct options *o, char *err, size_t errlen)
{
    char id[ALERT_ID_MAX];

    if (o->nargs > 0)
        snprintf(err, errlen, "alerts takes no arguments ('%.40s')", o->args[0]);
    else if (!o->group != !o->consumer)
        snprintf(err, errlen, "--group and --consumer go together");
    else if (alert_start_id(o->since, id, sizeof id) < 0)
        snprintf(err, errlen,
                 "--since: '%.60s' is neither an entry ID (1749254400000-0), '$', nor a time "
                 "(epoch seconds or 2025-06-07T10:00:00Z)",
                 o->since);
    else if (o->exec && !o->exec[0])
        snprintf(err, errlen, "--exec needs a command");
    else if (o->exec && o->webhook)
        snprintf(err, errlen,
                 "--exec and --webhook: one handler per consumer (run one consumer group each)");
    else if (!o->webhook && (o->webhook_headers.n || strcmp(o->webhook_format, "json") != 0))
        snprintf(err, errlen, "--webhook-header and --webhook-format need --webhook");
    else
        return 0;
    return -1;
}

static int exit_status(const struct consumer *c, enum step st)
{
    switch (st) {
    case ST_OK:
    case ST_STOP:
        break;
    case ST_OUTPUT:
        log_write(LOG_ERR, "cannot write to stdout");
        return 1;
    case ST_IO:
    case ST_ERR:
    case ST_UNHANDLED:
        log_write(LOG_ERR, "%s", c->err);
        return 1;
    }
    if (c->unhandled) {
        log_write(LOG_ERR,
                  "%" PRIu64 " alert(s) left pending in group %s (%s); they are tried again on "
                  "the next run",
                  c->unhandled, c->o->group, c->err);
        return 1;
    }
    return 0;
}

static struct webhook *open_webhook(const struct options *o, char *err, size_t errlen)
{
    const struct webhook_config wc = {
        .url = o->webhook,
        .headers = o->webhook_headers.v,
        .nheaders = o->webhook_headers.n,
        .timeout_s = (unsigned)o->webhook_timeout,
        .format =
            strcmp(o->webhook_format, "alertmanager") == 0 ? WEBHOOK_ALERTMANAGER : WEBHOOK_JSON,
    };
    return webhook_new(&wc, err, errlen);
}

int alert_run(const struct options *o)
{
    struct consumer c = {.o = o,
                         .group = o->group != NULL,
                         .fail_log = {.interval_ms = 10000},
                         .io_log = {.interval_ms = 10000}};
    enum step st = ST_ERR;

    if (check_usage(o, c.err, sizeof c.err) < 0) {
        log_write(LOG_ERR, "%s", c.err);
        return 2;
    }
    if (o->webhook)
        c.hook = open_webhook(o, c.err, sizeof c.err);
    if (o->webhook && !c.hook)
        goto out;
    if (stop_install() < 0) {
        snprintf(c.err, sizeof c.err, "cannot install signal handlers: %s", strerror(errno));
        goto out;
    }
    c.strm = calloc(STREAMS_MAX, sizeof *c.strm);
    c.r = c.strm ? query_open(o, "blackout-alerts", c.err, sizeof c.err) : NULL;
    if (!c.strm)
        snprintf(c.err, sizeof c.err, "out of memory");
    if (!c.r)
        goto out;
    c.split = redis_mode(c.r) == BO_REDIS_CLUSTER;
    c.s = &c.strm[0];
    if (!c.split) { /* one stream, Palerts */
        sink_shared_key(c.s->key, sizeof c.s->key, o->redis_prefix, "", SINK_ALERTS, false);
        c.nstreams = 1;
    }
    for (;;) {
        st = run_loop(&c);
        if (st != ST_IO || !o->follow)
            break;
        int rc = query_reconnect(c.r, &c.io_log, c.err, sizeof c.err);
        if (rc != BO_REDIS_OK) {
            st = rc == BO_REDIS_EFATAL ? ST_ERR : ST_STOP;
            break;
        }
    }
out:
    redis_free(c.r);
    free(c.strm);
    webhook_free(c.hook);
    return exit_status(&c, st);
}
