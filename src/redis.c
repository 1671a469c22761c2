/* redis — URL parsing, connections to one server, a Sentinel master or a Cluster. See redis.h. */
#include "redis.h"

#include "text.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* ---- URL ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes n bytes of s with %XX escapes into out. Returns 0, or -1 (bad escape, a NUL, or
 * longer than size - 1). */
static int pct_decode(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= size)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* Parses s[0..n) as a decimal in [min, max]. */
static int parse_num(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *v)
{
    char buf[24];

    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return text_parse_u64(buf, min, max, v);
}

static int parse_userinfo(const char *s, size_t n, struct redis_url *u, char *err, size_t errlen)
{
    const char *colon = memchr(s, ':', n);

    if (!colon) {
        snprintf(err, errlen,
                 "bad Redis URL: the user information needs a ':' "
                 "(redis://:PASSWORD@host or redis://USER:PASSWORD@host)");
        return -1;
    }
    size_t ulen = (size_t)(colon - s);
    if (pct_decode(s, ulen, u->user, sizeof u->user) < 0 ||
        pct_decode(colon + 1, n - ulen - 1, u->pass, sizeof u->pass) < 0) {
        snprintf(err, errlen, "bad Redis URL: bad %%-escape or too long user or password");
        return -1;
    }
    u->has_pass = u->pass[0] != '\0';
    if (u->user[0] && !u->has_pass) {
        snprintf(err, errlen, "bad Redis URL: a user needs a password");
        return -1;
    }
    return 0;
}

static bool host_char(char c, bool v6)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return v6 ? c == ':' || c == '.' || c == '%' : c == '.' || c == '-' || c == '_';
}

/* One host[:port] (or [v6][:port]) at *s, up to ',' '/' or the end; *s moves past it. */
static int parse_host(const char **s, struct redis_host *h, unsigned def_port, char *err,
                      size_t errlen)
{
    const char *p = *s, *end;
    bool v6 = *p == '[';
    uint64_t v;

    if (v6)
        end = strchr(p + 1, ']');
    if (v6 && !end) {
        snprintf(err, errlen, "bad Redis URL: '[' without ']'");
        return -1;
    }
    const char *hs = v6 ? p + 1 : p;
    if (!v6)
        end = hs + strcspn(hs, ":/,");
    size_t hn = (size_t)(end - hs);
    for (size_t i = 0; i < hn; i++)
        if (!host_char(hs[i], v6))
            hn = 0;
    if (hn == 0 || hn >= sizeof h->host) {
        snprintf(err, errlen, "bad Redis URL: missing or bad host name");
        return -1;
    }
    memcpy(h->host, hs, hn);
    h->host[hn] = '\0';
    h->port = def_port;
    p = v6 ? end + 1 : end;
    if (*p == ':') {
        size_t pn = strcspn(p + 1, "/,");
        if (parse_num(p + 1, pn, 1, 65535, &v) < 0) {
            snprintf(err, errlen, "bad Redis URL: port must be 1 to 65535");
            return -1;
        }
        h->port = (unsigned)v;
        p += 1 + pn;
    }
    *s = p;
    return 0;
}

/* host[:port][,host[:port]...][/db] with nothing after; one host unless several. */
static int parse_tcp(const char *s, struct redis_url *u, bool several, char *err, size_t errlen)
{
    unsigned def_port = u->mode == BO_REDIS_SENTINEL ? 26379 : 6379;
    uint64_t v;

    for (;;) {
        if (u->nhosts == BO_REDIS_HOSTS_MAX) {
            snprintf(err, errlen, "bad Redis URL: more than %d hosts", BO_REDIS_HOSTS_MAX);
            return -1;
        }
        if (parse_host(&s, &u->hosts[u->nhosts++], def_port, err, errlen) < 0)
            return -1;
        if (*s != ',')
            break;
        if (!several) {
            snprintf(err, errlen,
                     "bad Redis URL: one host only (a list is for "
                     "redis-sentinel:// and redis-cluster://)");
            return -1;
        }
        s++;
    }
    memcpy(u->host, u->hosts[0].host, sizeof u->host);
    u->port = u->hosts[0].port;
    if (*s == '/' && s[1] != '\0') {
        if (parse_num(s + 1, strlen(s + 1), 0, BO_REDIS_DB_MAX, &v) < 0) {
            snprintf(err, errlen, "bad Redis URL: database must be a number 0 to %u",
                     BO_REDIS_DB_MAX);
            return -1;
        }
        u->db = (unsigned)v;
    } else if (*s != '\0' && strcmp(s, "/") != 0) {
        snprintf(err, errlen, "bad Redis URL: unexpected text after the host");
        return -1;
    }
    if (u->mode == BO_REDIS_CLUSTER && u->db != 0) {
        snprintf(err, errlen, "bad Redis URL: a cluster has database 0 only");
        return -1;
    }
    return 0;
}

/* /path[?db=N] */
static int parse_unix(const char *s, struct redis_url *u, char *err, size_t errlen)
{
    size_t n = strcspn(s, "?");
    uint64_t v;

    if (s[0] != '/' || n >= sizeof u->path) {
        snprintf(err, errlen,
                 "bad Redis URL: unix:// needs an absolute socket path "
                 "(unix:///run/redis.sock), shorter than %zu bytes",
                 sizeof u->path);
        return -1;
    }
    memcpy(u->path, s, n);
    u->path[n] = '\0';
    if (s[n] == '\0')
        return 0;
    if (strncmp(s + n, "?db=", 4) != 0 ||
        parse_num(s + n + 4, strlen(s + n + 4), 0, BO_REDIS_DB_MAX, &v) < 0) {
        snprintf(err, errlen, "bad Redis URL: after the socket path only ?db=N is allowed");
        return -1;
    }
    u->db = (unsigned)v;
    return 0;
}

/* The scheme: sets the mode, returns the rest, or NULL. */
static const char *parse_scheme(const char *s, struct redis_url *u)
{
    static const struct {
        const char *scheme;
        enum redis_mode mode;
        bool unix_socket;
    } schemes[] = {{"redis://", BO_REDIS_SINGLE, false},
                   {"unix://", BO_REDIS_SINGLE, true},
                   {"redis-sentinel://", BO_REDIS_SENTINEL, false},
                   {"redis-cluster://", BO_REDIS_CLUSTER, false}};

    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncmp(s, schemes[i].scheme, strlen(schemes[i].scheme)) == 0) {
            u->mode = schemes[i].mode;
            u->unix_socket = schemes[i].unix_socket;
            return s + strlen(schemes[i].scheme);
        }
    return NULL;
}

/* The sentinel master's name after the last '#' (cut off s, a copy). */
static int parse_master(char *s, struct redis_url *u, char *err, size_t errlen)
{
    char *hash = strrchr(s, '#');
    size_t n = hash ? strlen(hash + 1) : 0;

    for (size_t i = 0; i < n; i++)
        if (!host_char(hash[1 + i], false))
            n = 0;
    if (n == 0 || n >= sizeof u->master) {
        snprintf(err, errlen,
                 "bad Redis URL: a sentinel URL ends with #MASTER, the master's name "
                 "(letters, digits, '.', '-', '_')");
        return -1;
    }
    memcpy(u->master, hash + 1, n + 1);
    *hash = '\0';
    return 0;
}

int redis_url_parse(const char *s, struct redis_url *u, char *err, size_t errlen)
{
    char buf[4096];

    memset(u, 0, sizeof *u);
    u->port = 6379;
    if (strncmp(s, "rediss://", 9) == 0) {
        snprintf(err, errlen, "bad Redis URL: TLS (rediss://) is not supported by this build");
        return -1;
    }
    s = parse_scheme(s, u);
    if (!s) {
        snprintf(err, errlen,
                 "bad Redis URL: it must start with redis://, unix://, "
                 "redis-sentinel:// or redis-cluster://");
        return -1;
    }
    if (text_copy(buf, sizeof buf, s) < 0) {
        snprintf(err, errlen, "bad Redis URL: longer than %zu bytes", sizeof buf - 1);
        return -1;
    }
    if (u->mode == BO_REDIS_SENTINEL && parse_master(buf, u, err, errlen) < 0)
        return -1;
    const char *rest = buf, *at = strrchr(buf, '@');
    if (at) {
        if (parse_userinfo(buf, (size_t)(at - buf), u, err, errlen) < 0)
            return -1;
        rest = at + 1;
    }
    int rc = u->unix_socket ? parse_unix(rest, u, err, errlen)
                            : parse_tcp(rest, u, u->mode != BO_REDIS_SINGLE, err, errlen);
    memset(buf, 0, sizeof buf); /* the password */
    return rc;
}

static void hosts_where(const struct redis_url *u, char *buf, size_t size)
{
    size_t n = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < u->nhosts && n < size; i++) {
        const struct redis_host *h = &u->hosts[i];
        bool v6 = strchr(h->host, ':') != NULL;
        int k = snprintf(buf + n, size - n, "%s%s%s%s:%u", i ? "," : "", v6 ? "[" : "", h->host,
                         v6 ? "]" : "", h->port);
        n += k > 0 ? (size_t)k : 0;
    }
}

const char *redis_url_where(const struct redis_url *u, char *buf, size_t size)
{
    char hosts[BO_REDIS_HOSTS_MAX * (BO_REDIS_HOST_MAX + 10)];

    hosts_where(u, hosts, sizeof hosts);
    if (u->unix_socket)
        snprintf(buf, size, "%s?db=%u", u->path, u->db);
    else if (u->mode == BO_REDIS_SENTINEL)
        snprintf(buf, size, "%s via sentinels %s db %u", u->master, hosts, u->db);
    else if (u->mode == BO_REDIS_CLUSTER)
        snprintf(buf, size, "cluster %s", hosts);
    else
        snprintf(buf, size, "%s/%u", hosts, u->db);
    return buf;
}

uint64_t redis_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms)
{
    if (base_ms == 0)
        return 0;
    if (attempt >= 63 || base_ms > (cap_ms >> attempt))
        return cap_ms;
    return base_ms << attempt;
}

/* ---- reply guards ---- */

/* hiredis 0.14 allocates an array of the announced size before any element arrives, and
 * keeps buffering a reply as long as bytes come. A server that is not Redis (or a broken
 * one) could make it allocate gigabytes or read forever: arrays over BO_REDIS_REPLY_ELEMENTS_MAX
 * elements are refused, and a reply must be complete within the command timeout and
 * BO_REDIS_REPLY_BYTES_MAX bytes. */
static redisReplyObjectFunctions plain_fns, guarded_fns;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static _Thread_local bool array_refused;

static void *guarded_array(const redisReadTask *task, int elements)
{
    if (elements < 0 || (unsigned)elements > BO_REDIS_REPLY_ELEMENTS_MAX) {
        array_refused = true;
        return NULL; /* the reader stops with an error */
    }
    return plain_fns.createArray(task, elements);
}

static void guard_init(void)
{
    redisReader *rd = redisReaderCreate();
    if (!rd)
        return;
    plain_fns = *rd->fn;
    guarded_fns = plain_fns;
    guarded_fns.createArray = guarded_array;
    redisReaderFree(rd);
}

static void guard_reader(redisContext *c)
{
    pthread_once(&guard_once, guard_init);
    if (guarded_fns.createArray)
        c->reader->fn = &guarded_fns;
}

const char *redis_printable(const char *s, size_t n, char *buf, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o + 1 < size; i++)
        buf[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (size)
        buf[o] = '\0';
    return buf;
}

/* ---- slots ---- */

/* CRC16-CCITT (XMODEM), the cluster's key hash. */
static uint16_t crc16(const char *s, size_t n)
{
    uint16_t crc = 0;

    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)((uint8_t)s[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

unsigned redis_key_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);

    if (open) {
        size_t from = (size_t)(open - key) + 1;
        const char *close = memchr(open + 1, '}', len - from);
        if (close && close > open + 1)
            return crc16(open + 1, (size_t)(close - open - 1)) % BO_REDIS_SLOTS;
    }
    return crc16(key, len) % BO_REDIS_SLOTS;
}

static bool word_is(const char *a, size_t n, const char *word)
{
    return n == strlen(word) && strncasecmp(a, word, n) == 0;
}

/* The key a command is routed by. Returns false for a command without one. */
static bool command_key(int argc, const char **argv, const size_t *lens, int *key)
{
    static const char *const keyless[] = {
        "MULTI",   "EXEC",    "DISCARD",  "WAIT",   "PING",    "SCRIPT", "INFO",
        "CLIENT",  "ROLE",    "AUTH",     "SELECT", "CLUSTER", "ASKING", "READONLY",
        "PUBLISH", "COMMAND", "SENTINEL", "DBSIZE", "CONFIG",  "TIME",   "ECHO"};
    const char *c = argv[0];
    size_t n = lens[0];

    *key = -1;
    for (size_t i = 0; i < sizeof keyless / sizeof keyless[0]; i++)
        if (word_is(c, n, keyless[i]))
            return false;
    if (word_is(c, n, "EVAL") || word_is(c, n, "EVALSHA") || word_is(c, n, "EVAL_RO") ||
        word_is(c, n, "EVALSHA_RO")) {
        *key = argc > 3 && !(lens[2] == 1 && argv[2][0] == '0') ? 3 : -1;
    } else if (word_is(c, n, "XREAD") || word_is(c, n, "XREADGROUP")) {
        for (int i = 1; i + 1 < argc && *key < 0; i++)
            if (word_is(argv[i], lens[i], "STREAMS"))
                *key = i + 1;
    } else if (word_is(c, n, "XGROUP") || word_is(c, n, "XINFO")) {
        *key = argc > 2 ? 2 : -1;
    } else {
        *key = argc > 1 ? 1 : -1;
    }
    return *key >= 0;
}

/* ---- connection ---- */

#define NO_NODE       0xffffu
#define REDIRECTS_MAX 5    /* redis_call: redirections followed */
#define TRYAGAIN_MS   50u  /* first wait after TRYAGAIN, doubled each time */
#define SLICE_MS      200u /* redis_call_wait asks stop this often */

struct node {
    char host[BO_REDIS_HOST_MAX];
    unsigned port;
    redisContext *c;
};

struct redis {
    struct redis_url url;
    unsigned timeout_ms;
    char name[128];
    struct node *nodes; /* [BO_REDIS_NODES_MAX]; one server or the master: nodes[0] */
    unsigned nnodes;
    uint16_t *slots;  /* cluster: [BO_REDIS_SLOTS] -> node, NO_NODE when unknown */
    bool map_ok;      /* cluster: the map was read, and no answer said it changed since */
    int home;         /* cluster: the home key's slot, -1 none */
    int pipe;         /* the node of the pipeline being written or read, -1 none */
    unsigned pending; /* replies to read from nodes[pipe] */
    int cur;          /* the node of the last pipeline: commands without a key go there */
    char *obuf;       /* commands without a key appended while no node was chosen */
    size_t olen, ocap;
    unsigned ocount;
    bool stale;     /* READONLY: the master is one no more, look it up again */
    bool ever;      /* connected once: configuration errors are no longer fatal */
    unsigned first; /* sentinel: the one to ask first (it answered last) */
    struct redis_stats st;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static const char *node_where(const struct redis *r, const struct node *n, char *buf, size_t size)
{
    if (r->url.mode == BO_REDIS_SINGLE)
        return redis_url_where(&r->url, buf, size);
    if (strchr(n->host, ':'))
        snprintf(buf, size, "[%s]:%u", n->host, n->port);
    else
        snprintf(buf, size, "%s:%u", n->host, n->port);
    return buf;
}

static void node_close(struct node *n)
{
    if (n->c)
        redisFree(n->c);
    n->c = NULL;
}

struct redis *redis_new(const struct redis_url *u, unsigned timeout_ms, const char *client_name)
{
    struct redis *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->nodes = calloc(BO_REDIS_NODES_MAX, sizeof *r->nodes);
    if (r->nodes && u->mode == BO_REDIS_CLUSTER)
        r->slots = malloc(BO_REDIS_SLOTS * sizeof *r->slots);
    if (!r->nodes || (u->mode == BO_REDIS_CLUSTER && !r->slots)) {
        free(r->nodes);
        free(r);
        return NULL;
    }
    r->url = *u;
    r->timeout_ms = timeout_ms ? timeout_ms : 1;
    r->home = r->pipe = r->cur = -1;
    if (u->mode == BO_REDIS_SINGLE) {
        memcpy(r->nodes[0].host, u->host, sizeof r->nodes[0].host);
        r->nodes[0].port = u->port;
    }
    r->nnodes = u->mode == BO_REDIS_CLUSTER ? 0 : 1;
    for (unsigned s = 0; r->slots && s < BO_REDIS_SLOTS; s++)
        r->slots[s] = NO_NODE;
    if (client_name)
        for (size_t i = 0; client_name[i] && i + 1 < sizeof r->name; i++)
            r->name[i] = host_char(client_name[i], false) ? client_name[i] : '_';
    return r;
}

void redis_free(struct redis *r)
{
    if (!r)
        return;
    redis_disconnect(r);
    memset(&r->url, 0, sizeof r->url); /* the passwords */
    free(r->nodes);
    free(r->slots);
    free(r->obuf);
    free(r);
}

void redis_set_home(struct redis *r, const char *key)
{
    r->home = r->url.mode == BO_REDIS_CLUSTER ? (int)redis_key_slot(key, strlen(key)) : -1;
}

enum redis_mode redis_mode(const struct redis *r)
{
    return r->url.mode;
}

void redis_stats(const struct redis *r, struct redis_stats *st)
{
    *st = r->st;
}

bool redis_connected(const struct redis *r)
{
    if (r->url.mode != BO_REDIS_CLUSTER)
        return r->nodes[0].c != NULL && !r->stale;
    if (!r->map_ok)
        return false;
    if (r->home >= 0)
        return r->slots[r->home] != NO_NODE && r->nodes[r->slots[r->home]].c != NULL;
    for (unsigned i = 0; i < r->nnodes; i++)
        if (r->nodes[i].c)
            return true;
    return false;
}

/* Forgets the pipeline (its replies will never be read). */
static void pipe_reset(struct redis *r)
{
    r->pipe = -1;
    r->pending = 0;
    r->olen = 0;
    r->ocount = 0;
}

void redis_disconnect(struct redis *r)
{
    for (unsigned i = 0; i < r->nnodes; i++)
        node_close(&r->nodes[i]);
    pipe_reset(r);
    r->map_ok = false;
}

const char *redis_where(const struct redis *r, char *buf, size_t size)
{
    int n = r->url.mode == BO_REDIS_CLUSTER && r->home >= 0 ? r->slots[r->home] : r->cur;

    if (r->url.mode == BO_REDIS_SENTINEL && r->nodes[0].host[0])
        n = 0;
    if (r->url.mode == BO_REDIS_SINGLE || n < 0 || n == NO_NODE)
        return redis_url_where(&r->url, buf, size);
    return node_where(r, &r->nodes[n], buf, size);
}

/* ---- one node ---- */

static bool transient_error(const char *msg)
{
    static const char *const again[] = {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN"};
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++)
        if (strncmp(msg, again[i], strlen(again[i])) == 0)
            return true;
    return false;
}

/* TCP (or the unix socket), the timeouts, keepalive. Returns 0, or -1 with why. */
static int node_dial(struct redis *r, struct node *n, char *why, size_t size)
{
    struct timeval tv = {.tv_sec = r->timeout_ms / 1000,
                         .tv_usec = (suseconds_t)(r->timeout_ms % 1000) * 1000};

    node_close(n);
    n->c = r->url.unix_socket ? redisConnectUnixWithTimeout(r->url.path, tv)
                              : redisConnectWithTimeout(n->host, (int)n->port, tv);
    if (!n->c || n->c->err) {
        snprintf(why, size, "%s", n->c ? n->c->errstr : "out of memory");
        node_close(n);
        return -1;
    }
    guard_reader(n->c);
    if (redisSetTimeout(n->c, tv) != REDIS_OK ||
        (!r->url.unix_socket && redisEnableKeepAlive(n->c) != REDIS_OK)) {
        snprintf(why, size, "cannot set timeouts: %s", n->c->errstr);
        node_close(n);
        return -1;
    }
    return 0;
}

/* Reads until one whole reply is parsed, within extra_ms plus the command timeout and the
 * size bound, asking stop (may be NULL) every SLICE_MS. Returns 0, 1 when stop said so, or -1
 * with the reason in why; the connection is then unusable. */
static int node_read(struct redis *r, struct node *n, uint64_t extra_ms, bool (*stop)(void),
                     void **reply, char *why, size_t size)
{
    redisReader *rd = n->c->reader;
    uint64_t deadline = now_ms() + extra_ms + r->timeout_ms;
    int done = 0;

    while (!done)
        if (redisBufferWrite(n->c, &done) != REDIS_OK)
            return snprintf(why, size, "%s", n->c->errstr), -1;
    for (;;) {
        array_refused = false;
        if (redisReaderGetReply(rd, reply) != REDIS_OK) {
            if (array_refused)
                snprintf(why, size, "reply array over %u elements refused (not a Redis server?)",
                         BO_REDIS_REPLY_ELEMENTS_MAX);
            else
                snprintf(why, size, "%s", rd->errstr);
            return -1;
        }
        if (*reply)
            return 0;
        if (rd->len - rd->pos > BO_REDIS_REPLY_BYTES_MAX)
            return snprintf(why, size, "reply longer than %u MB refused (not a Redis server?)",
                            BO_REDIS_REPLY_BYTES_MAX >> 20),
                   -1;
        uint64_t now = now_ms();
        if (stop && stop())
            return 1;
        if (now >= deadline)
            return snprintf(why, size, "no complete reply within %" PRIu64 " ms",
                            extra_ms + r->timeout_ms),
                   -1;
        uint64_t wait = deadline - now;
        struct pollfd p = {.fd = n->c->fd, .events = POLLIN};
        if (poll(&p, 1, (int)(stop && wait > SLICE_MS ? SLICE_MS : wait)) <= 0)
            continue; /* the time is checked above; EINTR: a stop, maybe */
        if (redisBufferRead(n->c) != REDIS_OK)
            return snprintf(why, size, "%s", n->c->errstr), -1;
    }
}

/* One command on node n, its raw reply (error replies too). Returns 0, or -1 with why. */
static int node_call(struct redis *r, struct node *n, int argc, const char **argv,
                     const size_t *lens, redisReply **reply, char *why, size_t size)
{
    void *x = NULL;

    *reply = NULL;
    if (redisAppendCommandArgv(n->c, argc, argv, lens) != REDIS_OK) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    if (node_read(r, n, 0, NULL, &x, why, size) != 0) {
        if (x)
            freeReplyObject(x);
        return -1;
    }
    *reply = x;
    return 0;
}

/* A setup command (AUTH, SELECT) on node n. An error reply's text goes to err unless it quotes
 * the secret. Returns BO_REDIS_OK, BO_REDIS_EIO or BO_REDIS_EFATAL (refused). */
static int setup_call(struct redis *r, struct node *n, const char *what, const char *secret,
                      int argc, const char **argv, const size_t *lens, char *err, size_t errlen)
{
    char where[300], why[256];
    redisReply *x;
    int rc = BO_REDIS_OK;

    if (node_call(r, n, argc, argv, lens, &x, why, sizeof why) < 0) {
        rc = BO_REDIS_EIO;
    } else if (x->type == REDIS_REPLY_ERROR) {
        redis_printable(x->str, x->len, why, sizeof why);
        if (secret[0] && strstr(why, secret))
            snprintf(why, sizeof why, "error reply withheld (it quoted the password)");
        rc = transient_error(why) ? BO_REDIS_EIO : BO_REDIS_EFATAL;
    }
    if (x)
        freeReplyObject(x);
    if (rc != BO_REDIS_OK) {
        snprintf(err, errlen, "Redis at %s: %s: %s", node_where(r, n, where, sizeof where), what,
                 why);
        node_close(n);
    }
    return rc;
}

static int auth(struct redis *r, struct node *n, const char *what, const char *user,
                const char *pass, char *err, size_t errlen)
{
    const char *argv[3];
    size_t lens[3];
    int k = 0;

    argv[k] = "AUTH", lens[k++] = 4;
    if (user[0])
        argv[k] = user, lens[k] = strlen(user), k++;
    argv[k] = pass, lens[k] = strlen(pass), k++;
    return setup_call(r, n, what, pass, k, argv, lens, err, errlen);
}

/* AUTH, SELECT (not in a cluster), CLIENT SETNAME. */
static int handshake(struct redis *r, struct node *n, char *err, size_t errlen)
{
    char db[16];
    const char *argv[3];
    size_t lens[3];
    redisReply *x;
    int rc = BO_REDIS_OK;

    if (r->url.has_pass)
        rc = auth(r, n, "authentication refused", r->url.user, r->url.pass, err, errlen);
    if (rc == BO_REDIS_OK && r->url.mode != BO_REDIS_CLUSTER) {
        snprintf(db, sizeof db, "%u", r->url.db);
        argv[0] = "SELECT", lens[0] = 6;
        argv[1] = db, lens[1] = strlen(db);
        rc = setup_call(r, n, "SELECT refused", r->url.pass, 2, argv, lens, err, errlen);
    }
    if (rc != BO_REDIS_OK || !r->name[0])
        return rc;
    argv[0] = "CLIENT", lens[0] = 6;
    argv[1] = "SETNAME", lens[1] = 7;
    argv[2] = r->name, lens[2] = strlen(r->name);
    if (node_call(r, n, 3, argv, lens, &x, err, errlen) < 0) {
        node_close(n);
        return BO_REDIS_EIO;
    }
    freeReplyObject(x); /* a refused name (ACL) is not a reason to fail */
    return BO_REDIS_OK;
}

static int node_open(struct redis *r, struct node *n, char *err, size_t errlen)
{
    char where[300], why[256];

    if (node_dial(r, n, why, sizeof why) < 0) {
        snprintf(err, errlen, "Redis at %s: %s", node_where(r, n, where, sizeof where), why);
        return BO_REDIS_EIO;
    }
    return handshake(r, n, err, errlen);
}

/* ---- Sentinel ---- */

/* What a sentinel answered to SENTINEL get-master-addr-by-name: BO_REDIS_OK with the address
 * in m, or 1 (it does not know the master, or it is no sentinel). */
static int sentinel_answer(const redisReply *x, struct node *m)
{
    uint64_t port;

    if (x->type != REDIS_REPLY_ARRAY || x->elements != 2 ||
        x->element[0]->type != REDIS_REPLY_STRING || x->element[0]->len == 0 ||
        x->element[0]->len >= sizeof m->host || x->element[1]->type != REDIS_REPLY_STRING ||
        text_parse_u64(x->element[1]->str, 1, 65535, &port) < 0)
        return 1;
    memcpy(m->host, x->element[0]->str, x->element[0]->len + 1);
    m->port = (unsigned)port;
    return BO_REDIS_OK;
}

/* Asks the sentinel at h for the master's address (into m). Returns BO_REDIS_OK, 1 when it
 * does not know the master, BO_REDIS_EIO (no answer) or BO_REDIS_EFATAL (our password
 * refused), with err. */
static int sentinel_ask(struct redis *r, const struct redis_host *h, struct node *m, char *err,
                        size_t errlen)
{
    const char *argv[] = {"SENTINEL", "get-master-addr-by-name", r->url.master};
    size_t lens[] = {8, 23, strlen(r->url.master)};
    struct node s = {.port = h->port};
    char where[300], why[256];
    redisReply *x;
    int rc;

    memcpy(s.host, h->host, sizeof s.host);
    node_where(r, &s, where, sizeof where);
    if (node_dial(r, &s, why, sizeof why) < 0) {
        snprintf(err, errlen, "sentinel %.120s: %.200s", where, why);
        return BO_REDIS_EIO;
    }
    if (r->url.sentinel_pass[0]) {
        rc = auth(r, &s, "the sentinel refused --sentinel-password", "", r->url.sentinel_pass, err,
                  errlen);
        if (rc != BO_REDIS_OK)
            return rc; /* closed */
    }
    if (node_call(r, &s, 3, argv, lens, &x, why, sizeof why) < 0) {
        snprintf(err, errlen, "sentinel %.120s: %.200s", where, why);
        node_close(&s);
        return BO_REDIS_EIO;
    }
    rc = sentinel_answer(x, m);
    freeReplyObject(x);
    node_close(&s);
    return rc;
}

/* Connects to the master the sentinels named and checks it is one (ROLE). */
static int master_open(struct redis *r, const struct node *m, char *err, size_t errlen)
{
    const char *argv[] = {"ROLE"};
    size_t lens[] = {4};
    struct node *n = &r->nodes[0];
    char where[300], why[256];
    redisReply *x;

    node_close(n);
    memcpy(n->host, m->host, sizeof n->host);
    n->port = m->port;
    int rc = node_open(r, n, err, errlen);
    if (rc != BO_REDIS_OK)
        return rc;
    if (node_call(r, n, 1, argv, lens, &x, why, sizeof why) < 0) {
        snprintf(err, errlen, "Redis at %s: %s", node_where(r, n, where, sizeof where), why);
        node_close(n);
        return BO_REDIS_EIO;
    }
    bool master = x->type == REDIS_REPLY_ARRAY && x->elements > 0 &&
                  x->element[0]->type == REDIS_REPLY_STRING &&
                  strcmp(x->element[0]->str, "master") == 0;
    freeReplyObject(x);
    if (master)
        return BO_REDIS_OK;
    snprintf(err, errlen,
             "Redis at %s: the sentinels name it the master of %s, but it is not (a failover "
             "under way?)",
             node_where(r, n, where, sizeof where), r->url.master);
    node_close(n);
    return BO_REDIS_EIO;
}

/* The Sentinel client protocol: each sentinel in turn, the last that answered first. */
static int sentinel_connect(struct redis *r, char *err, size_t errlen)
{
    char where[300], last[400] = "";
    unsigned answered = 0;

    r->st.refreshes++;
    for (unsigned i = 0; i < r->url.nhosts; i++) {
        unsigned k = (r->first + i) % r->url.nhosts;
        struct node m = {0};
        int rc = sentinel_ask(r, &r->url.hosts[k], &m, last, sizeof last);
        if (rc == BO_REDIS_EFATAL) {
            snprintf(err, errlen, "%s", last);
            return rc;
        }
        answered += rc != BO_REDIS_EIO;
        if (rc == BO_REDIS_OK) {
            r->first = k;
            return master_open(r, &m, err, errlen);
        }
    }
    redis_url_where(&r->url, where, sizeof where);
    if (answered == 0) {
        snprintf(err, errlen, "Redis at %s: no sentinel answered (%s)", where, last);
        return BO_REDIS_EIO;
    }
    snprintf(err, errlen, "Redis at %s: no sentinel knows the master '%s'", where, r->url.master);
    return r->ever ? BO_REDIS_EIO : BO_REDIS_EFATAL;
}

/* ---- Cluster ---- */

/* The node at host:port, added when new. Returns its index, or NO_NODE when the table is
 * full. */
static unsigned node_find(struct redis *r, const char *host, unsigned port)
{
    size_t len = strlen(host);

    for (unsigned i = 0; i < r->nnodes; i++)
        if (r->nodes[i].port == port && strcmp(r->nodes[i].host, host) == 0)
            return i;
    if (r->nnodes == BO_REDIS_NODES_MAX || len >= BO_REDIS_HOST_MAX)
        return NO_NODE;
    struct node *n = &r->nodes[r->nnodes];
    memset(n, 0, sizeof *n);
    memcpy(n->host, host, len + 1);
    n->port = port;
    return r->nnodes++;
}

/* Keeps the nodes the map names (with their connections) and closes the others. */
static void nodes_compact(struct redis *r)
{
    uint16_t map[BO_REDIS_NODES_MAX];
    bool used[BO_REDIS_NODES_MAX] = {false};
    unsigned k = 0;

    for (unsigned s = 0; s < BO_REDIS_SLOTS; s++)
        if (r->slots[s] != NO_NODE)
            used[r->slots[s]] = true;
    for (unsigned i = 0; i < r->nnodes; i++) {
        map[i] = NO_NODE;
        if (!used[i]) {
            node_close(&r->nodes[i]);
            continue;
        }
        map[i] = (uint16_t)k;
        if (k != i)
            r->nodes[k] = r->nodes[i];
        k++;
    }
    r->nnodes = k;
    for (unsigned s = 0; s < BO_REDIS_SLOTS; s++)
        if (r->slots[s] != NO_NODE)
            r->slots[s] = map[r->slots[s]];
    r->cur = r->cur >= 0 && map[r->cur] != NO_NODE ? map[r->cur] : -1;
}

/* One entry of CLUSTER SLOTS, [start, end, [host, port, id, ...], replicas...], into the
 * map; an empty host is the node that answered (asked). Returns 0, or -1 when it is none. */
static int slots_entry(struct redis *r, const redisReply *e, unsigned asked)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3)
        return -1;
    const redisReply *a = e->element[0], *b = e->element[1], *m = e->element[2];
    if (a->type != REDIS_REPLY_INTEGER || b->type != REDIS_REPLY_INTEGER || a->integer < 0 ||
        b->integer < a->integer || b->integer >= BO_REDIS_SLOTS || m->type != REDIS_REPLY_ARRAY ||
        m->elements < 2 || m->element[0]->type != REDIS_REPLY_STRING ||
        m->element[1]->type != REDIS_REPLY_INTEGER || m->element[1]->integer < 1 ||
        m->element[1]->integer > 65535)
        return -1;
    char host[BO_REDIS_HOST_MAX];
    const redisReply *h = m->element[0];
    if (text_copy(host, sizeof host, h->len ? h->str : r->nodes[asked].host) < 0)
        return -1;
    if (strcmp(host, "?") == 0)
        return 0; /* an endpoint its node does not know: left uncovered */
    unsigned n = node_find(r, host, (unsigned)m->element[1]->integer);
    if (n == NO_NODE)
        return -1;
    for (long long s = a->integer; s <= b->integer; s++)
        r->slots[s] = (uint16_t)n;
    return 0;
}

/* Reads the map from node i, connecting it. Returns BO_REDIS_OK, BO_REDIS_EIO, BO_REDIS_EFATAL
 * (our password refused), or 1 (not a cluster node), with err. */
static int slots_from(struct redis *r, unsigned i, char *err, size_t errlen)
{
    const char *argv[] = {"CLUSTER", "SLOTS"};
    size_t lens[] = {7, 5};
    char where[300], why[256];
    redisReply *x;
    int rc = BO_REDIS_OK;

    if (!r->nodes[i].c)
        rc = node_open(r, &r->nodes[i], err, errlen);
    if (rc != BO_REDIS_OK)
        return rc;
    node_where(r, &r->nodes[i], where, sizeof where);
    if (node_call(r, &r->nodes[i], 2, argv, lens, &x, why, sizeof why) < 0) {
        snprintf(err, errlen, "Redis at %s: %s", where, why);
        node_close(&r->nodes[i]);
        return BO_REDIS_EIO;
    }
    if (x->type == REDIS_REPLY_ERROR) {
        redis_printable(x->str, x->len, why, sizeof why);
        snprintf(err, errlen, "Redis at %s is not a cluster node (CLUSTER SLOTS: %s)", where, why);
        rc = 1;
    } else {
        for (unsigned s = 0; s < BO_REDIS_SLOTS; s++)
            r->slots[s] = NO_NODE;
        rc = x->type == REDIS_REPLY_ARRAY ? BO_REDIS_OK : BO_REDIS_EIO;
        for (size_t k = 0; rc == BO_REDIS_OK && k < x->elements; k++)
            rc = slots_entry(r, x->element[k], i) < 0 ? BO_REDIS_EIO : BO_REDIS_OK;
        if (rc != BO_REDIS_OK)
            snprintf(err, errlen, "Redis at %s: CLUSTER SLOTS answered with no slot map", where);
    }
    freeReplyObject(x);
    return rc;
}

/* The slot map from the first node that gives one: the seeds, then the nodes known. */
static int cluster_refresh(struct redis *r, char *err, size_t errlen)
{
    bool tried[BO_REDIS_NODES_MAX] = {false};
    unsigned nseeds = r->url.nhosts;

    r->st.refreshes++;
    snprintf(err, errlen, "no cluster node known");
    for (unsigned k = 0; k < nseeds + r->nnodes; k++) {
        unsigned i =
            k < nseeds ? node_find(r, r->url.hosts[k].host, r->url.hosts[k].port) : k - nseeds;
        if (i == NO_NODE || i >= r->nnodes || tried[i])
            continue;
        tried[i] = true;
        int rc = slots_from(r, i, err, errlen);
        if (rc == 1)
            return r->ever ? BO_REDIS_EIO : BO_REDIS_EFATAL;
        if (rc == BO_REDIS_EFATAL)
            return rc;
        if (rc == BO_REDIS_OK) {
            nodes_compact(r);
            return BO_REDIS_OK;
        }
    }
    char last[400], where[300];
    snprintf(last, sizeof last, "%s", err);
    snprintf(err, errlen, "Redis at %s: no node gave a slot map (the last: %s)",
             redis_url_where(&r->url, where, sizeof where), last);
    return BO_REDIS_EIO;
}

/* With a home key its slot must be covered, otherwise every slot. */
static int check_coverage(struct redis *r, char *err, size_t errlen)
{
    char where[300];
    int from = -1, to = -1;

    for (int s = 0; s < BO_REDIS_SLOTS && (from < 0 || to == s - 1); s++)
        if (r->slots[s] == NO_NODE) {
            from = from < 0 ? s : from;
            to = s;
        }
    if (r->home >= 0 ? r->slots[r->home] != NO_NODE : from < 0)
        return BO_REDIS_OK;
    redis_url_where(&r->url, where, sizeof where);
    if (r->home >= 0)
        snprintf(err, errlen, "Redis at %s: no node serves slot %d (this sensor's keys)", where,
                 r->home);
    else
        snprintf(err, errlen, "Redis at %s: slots %d-%d are not covered by any node", where, from,
                 to);
    return r->ever ? BO_REDIS_EIO : BO_REDIS_EFATAL;
}

static int cluster_connect(struct redis *r, char *err, size_t errlen)
{
    int rc = cluster_refresh(r, err, errlen);
    if (rc == BO_REDIS_OK)
        rc = check_coverage(r, err, errlen);
    if (rc != BO_REDIS_OK || r->home < 0)
        return rc;
    unsigned n = r->slots[r->home];
    r->cur = (int)n;
    return r->nodes[n].c ? BO_REDIS_OK : node_open(r, &r->nodes[n], err, errlen);
}

int redis_connect(struct redis *r, char *err, size_t errlen)
{
    int rc;

    redis_disconnect(r);
    if (r->url.mode == BO_REDIS_SENTINEL)
        rc = sentinel_connect(r, err, errlen);
    else if (r->url.mode == BO_REDIS_CLUSTER)
        rc = cluster_connect(r, err, errlen);
    else
        rc = node_open(r, &r->nodes[0], err, errlen);
    if (rc != BO_REDIS_OK) {
        redis_disconnect(r);
        return rc;
    }
    r->ever = true;
    r->stale = false;
    r->map_ok = r->url.mode == BO_REDIS_CLUSTER;
    if (r->url.mode != BO_REDIS_CLUSTER)
        r->cur = 0;
    return BO_REDIS_OK;
}

/* ---- pipelines ---- */

static bool starts(const char *s, const char *word)
{
    return strncmp(s, word, strlen(word)) == 0;
}

static bool redirect_text(const char *s)
{
    static const char *const words[] = {"MOVED ",      "ASK ",     "TRYAGAIN",
                                        "CLUSTERDOWN", "READONLY", "MASTERDOWN"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (starts(s, words[i]))
            return true;
    return false;
}

bool redis_reply_redirect(const struct redis_reply *x)
{
    const redisReply *y = (const redisReply *)x;
    return y->type == REDIS_REPLY_ERROR && redirect_text(y->str);
}

/* "SLOT HOST:PORT" of MOVED and ASK; an empty host is the node that answered (n). */
static int parse_redirect(const char *s, const struct node *n, unsigned *slot, char *host,
                          size_t size, unsigned *port)
{
    const char *sp = strchr(s, ' '), *colon = sp ? strrchr(sp, ':') : NULL;
    char num[16];
    uint64_t v;

    if (!sp || !colon || (size_t)(sp - s) >= sizeof num)
        return -1;
    memcpy(num, s, (size_t)(sp - s));
    num[sp - s] = '\0';
    if (text_parse_u64(num, 0, BO_REDIS_SLOTS - 1, &v) < 0)
        return -1;
    *slot = (unsigned)v;
    if (text_parse_u64(colon + 1, 1, 65535, &v) < 0)
        return -1;
    *port = (unsigned)v;
    size_t hn = (size_t)(colon - sp - 1);
    if (hn >= size)
        return -1;
    memcpy(host, sp + 1, hn);
    host[hn] = '\0';
    return hn || text_copy(host, size, n->host) == 0 ? 0 : -1;
}

/* What an error reply says about the map or the master. */
static void note_reply(struct redis *r, const struct node *n, const redisReply *x)
{
    char host[BO_REDIS_HOST_MAX];
    unsigned slot, port;

    if (x->type != REDIS_REPLY_ERROR)
        return;
    if (starts(x->str, "MOVED ")) {
        r->st.moved++;
        if (r->slots && parse_redirect(x->str + 6, n, &slot, host, sizeof host, &port) == 0)
            r->slots[slot] = (uint16_t)node_find(r, host, port);
        r->map_ok = false;
    } else if (starts(x->str, "ASK ")) {
        r->st.ask++;
    } else if (starts(x->str, "TRYAGAIN")) {
        r->st.tryagain++;
    } else if (starts(x->str, "CLUSTERDOWN") || starts(x->str, "READONLY")) {
        r->map_ok = false;
        r->stale = true;
    }
}

/* The node lost: closed, the pipeline forgotten, err says why. Returns BO_REDIS_EIO. */
static int node_lost(struct redis *r, struct node *n, const char *why, char *err, size_t errlen)
{
    char where[300];

    snprintf(err, errlen, "Redis at %s: %s", node_where(r, n, where, sizeof where), why);
    node_close(n);
    pipe_reset(r);
    r->map_ok = false;
    return BO_REDIS_EIO;
}

/* Opens the pipeline on node n (connecting it, in a cluster) with the commands appended
 * before a node was known. */
static int pipe_open(struct redis *r, unsigned n, char *err, size_t errlen)
{
    struct node *nd = &r->nodes[n];
    char where[300];

    if (!nd->c && r->url.mode != BO_REDIS_CLUSTER) {
        snprintf(err, errlen, "Redis at %s: not connected", redis_where(r, where, sizeof where));
        return BO_REDIS_EIO;
    }
    if (!nd->c && node_open(r, nd, err, errlen) != BO_REDIS_OK) {
        r->map_ok = false;
        return BO_REDIS_EIO;
    }
    if (r->olen && redisAppendFormattedCommand(nd->c, r->obuf, r->olen) != REDIS_OK)
        return node_lost(r, nd, "out of memory", err, errlen);
    r->pipe = (int)n;
    r->pending += r->ocount;
    r->olen = r->ocount = 0;
    return BO_REDIS_OK;
}

/* The node for commands without a key and no pipeline: the last one used, else the home
 * key's, else any. */
static unsigned default_node(const struct redis *r)
{
    if (r->url.mode != BO_REDIS_CLUSTER)
        return 0;
    if (r->cur >= 0 && r->nodes[r->cur].c)
        return (unsigned)r->cur;
    if (r->home >= 0 && r->slots[r->home] != NO_NODE)
        return r->slots[r->home];
    for (unsigned i = 0; i < r->nnodes; i++)
        if (r->nodes[i].c)
            return i;
    for (unsigned s = 0; s < BO_REDIS_SLOTS; s++)
        if (r->slots[s] != NO_NODE)
            return r->slots[s];
    return NO_NODE;
}

/* Makes sure the pipeline has a node: commands without a key go to the default one. */
static int pipe_ready(struct redis *r, char *err, size_t errlen)
{
    char where[300];

    if (r->pipe >= 0)
        return BO_REDIS_OK;
    if (r->ocount == 0) { /* nothing appended */
        snprintf(err, errlen, "Redis at %s: %s", redis_where(r, where, sizeof where),
                 redis_connected(r) ? "no reply to wait for" : "not connected");
        return BO_REDIS_EIO;
    }
    unsigned n = default_node(r);
    if (n == NO_NODE) {
        snprintf(err, errlen, "Redis at %s: no node known",
                 redis_url_where(&r->url, where, sizeof where));
        return BO_REDIS_EIO;
    }
    return pipe_open(r, n, err, errlen);
}

static bool obuf_add(struct redis *r, int argc, const char **argv, const size_t *lens)
{
    char *cmd;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);

    if (len < 0)
        return false;
    if (r->olen + (size_t)len > r->ocap) {
        size_t cap = r->ocap ? r->ocap : 256;
        while (cap < r->olen + (size_t)len)
            cap *= 2;
        char *b = realloc(r->obuf, cap);
        if (!b) {
            redisFreeCommand(cmd);
            return false;
        }
        r->obuf = b;
        r->ocap = cap;
    }
    memcpy(r->obuf + r->olen, cmd, (size_t)len);
    r->olen += (size_t)len;
    r->ocount++;
    redisFreeCommand(cmd);
    return true;
}

/* Appends to node n's pipeline, opening it. */
static int append_to(struct redis *r, unsigned n, int argc, const char **argv, const size_t *lens,
                     char *err, size_t errlen)
{
    char where[300];

    if (r->pipe >= 0 && (unsigned)r->pipe != n) {
        snprintf(err, errlen, "Redis at %s: one pipeline for two cluster nodes",
                 redis_url_where(&r->url, where, sizeof where));
        return BO_REDIS_EIO;
    }
    if (r->pipe < 0 && pipe_open(r, n, err, errlen) != BO_REDIS_OK)
        return BO_REDIS_EIO;
    if (redisAppendCommandArgv(r->nodes[n].c, argc, argv, lens) != REDIS_OK)
        return node_lost(r, &r->nodes[n], "out of memory", err, errlen);
    r->pending++;
    return BO_REDIS_OK;
}

/* Appends a command to the node of its key (cluster), the pipeline's, or holds it until a
 * node is known. */
static int append_cmd(struct redis *r, int argc, const char **argv, const size_t *lens, char *err,
                      size_t errlen)
{
    char where[300];
    unsigned n = 0;
    int k;

    if (r->url.mode == BO_REDIS_CLUSTER && command_key(argc, argv, lens, &k)) {
        unsigned slot = redis_key_slot(argv[k], lens[k]);
        n = r->slots[slot];
        if (n == NO_NODE) {
            snprintf(err, errlen, "Redis at %s: no node known for slot %u",
                     redis_url_where(&r->url, where, sizeof where), slot);
            return BO_REDIS_EIO;
        }
    } else if (r->url.mode == BO_REDIS_CLUSTER) {
        if (r->pipe < 0)
            return obuf_add(r, argc, argv, lens) ? BO_REDIS_OK : BO_REDIS_EIO;
        n = (unsigned)r->pipe;
    }
    return append_to(r, n, argc, argv, lens, err, errlen);
}

int redis_append(struct redis *r, int argc, const char **argv, const size_t *lens)
{
    char err[8];
    return append_cmd(r, argc, argv, lens, err, sizeof err);
}

int redis_send(struct redis *r, char *err, size_t errlen)
{
    int done = 0;

    if (r->pipe < 0 && r->ocount == 0 && redis_connected(r))
        return BO_REDIS_OK; /* nothing to send */
    if (pipe_ready(r, err, errlen) != BO_REDIS_OK)
        return BO_REDIS_EIO;
    struct node *n = &r->nodes[r->pipe];
    while (!done)
        if (redisBufferWrite(n->c, &done) != REDIS_OK)
            return node_lost(r, n, n->c->errstr, err, errlen);
    return BO_REDIS_OK;
}

/* The next reply of the pipeline (see node_read for extra_ms and stop). */
static int pipe_read(struct redis *r, uint64_t extra_ms, bool (*stop)(void), redisReply **out,
                     char *err, size_t errlen)
{
    void *x = NULL;
    char why[256];

    *out = NULL;
    if (pipe_ready(r, err, errlen) != BO_REDIS_OK)
        return BO_REDIS_EIO;
    struct node *n = &r->nodes[r->pipe];
    if (r->pending == 0)
        return node_lost(r, n, "no reply to wait for", err, errlen);
    int rc = node_read(r, n, extra_ms, stop, &x, why, sizeof why);
    if (rc != 0) {
        if (x)
            freeReplyObject(x);
        node_lost(r, n, rc > 0 ? "stopped" : why[0] ? why : "connection lost", err, errlen);
        return rc > 0 ? BO_REDIS_ESTOP : BO_REDIS_EIO;
    }
    note_reply(r, n, x);
    if (--r->pending == 0) {
        r->cur = r->pipe;
        r->pipe = -1;
    }
    *out = x;
    return BO_REDIS_OK;
}

int redis_read(struct redis *r, struct redis_reply **out, char *err, size_t errlen)
{
    redisReply *x;
    int rc = pipe_read(r, 0, NULL, &x, err, errlen);
    *out = (struct redis_reply *)x;
    return rc;
}

int redis_wait_readable(struct redis *r, unsigned ms)
{
    int n = r->pipe >= 0 ? r->pipe : r->cur;

    if (n < 0 || !r->nodes[n].c)
        return -1;
    struct pollfd p = {.fd = r->nodes[n].c->fd, .events = POLLIN};
    int k = poll(&p, 1, (int)ms);
    return k < 0 ? -1 : k > 0;
}

/* ---- calls ---- */

/* Sends one command (to node ask after ASKING, when ask is a node) and reads its reply. */
static int call_once(struct redis *r, unsigned ask, int argc, const char **argv, const size_t *lens,
                     uint64_t block_ms, bool (*stop)(void), redisReply **x, char *err,
                     size_t errlen)
{
    static const char *asking[] = {"ASKING"};
    static const size_t asking_len[] = {6};
    int rc;

    if (r->pipe >= 0 || r->ocount) { /* replies of another pipeline would be taken for ours */
        redis_disconnect(r);
        snprintf(err, errlen, "Redis: a call while a pipeline is open");
        return BO_REDIS_EIO;
    }
    if (ask == NO_NODE)
        return append_cmd(r, argc, argv, lens, err, errlen) == BO_REDIS_OK
                   ? pipe_read(r, block_ms, stop, x, err, errlen)
                   : BO_REDIS_EIO;
    rc = append_to(r, ask, 1, asking, asking_len, err, errlen);
    if (rc == BO_REDIS_OK)
        rc = append_to(r, ask, argc, argv, lens, err, errlen);
    if (rc == BO_REDIS_OK)
        rc = pipe_read(r, 0, NULL, x, err, errlen);
    if (rc != BO_REDIS_OK)
        return rc;
    freeReplyObject(*x); /* ASKING's OK */
    return pipe_read(r, block_ms, stop, x, err, errlen);
}

/* After an error reply: 1 to send the command again (to node *ask after ASKING, when set), 0
 * to give it to the caller, -1 when the master could not be found again (err). */
static int follow(struct redis *r, const redisReply *x, unsigned attempt, unsigned *ask, char *err,
                  size_t errlen)
{
    char host[BO_REDIS_HOST_MAX];
    unsigned slot, port;

    *ask = NO_NODE;
    if (x->type != REDIS_REPLY_ERROR || attempt >= REDIRECTS_MAX)
        return 0;
    if (r->url.mode == BO_REDIS_CLUSTER) {
        if (starts(x->str, "MOVED "))
            return 1; /* the map has the new place */
        if (starts(x->str, "ASK ") &&
            parse_redirect(x->str + 4, &r->nodes[r->cur], &slot, host, sizeof host, &port) == 0)
            return (*ask = node_find(r, host, port)) != NO_NODE;
        if (starts(x->str, "TRYAGAIN"))
            sleep_ms(TRYAGAIN_MS << attempt);
        return starts(x->str, "TRYAGAIN");
    }
    if (r->url.mode == BO_REDIS_SENTINEL && starts(x->str, "READONLY") && attempt == 0)
        return redis_connect(r, err, errlen) == BO_REDIS_OK ? 1 : -1;
    return 0;
}

int redis_call_wait(struct redis *r, int argc, const char **argv, const size_t *lens,
                    uint64_t block_ms, bool (*stop)(void), struct redis_reply **out, char *err,
                    size_t errlen)
{
    unsigned ask = NO_NODE;
    redisReply *x;

    if (out)
        *out = NULL;
    for (unsigned attempt = 0;; attempt++) {
        int rc = call_once(r, ask, argc, argv, lens, block_ms, stop, &x, err, errlen);
        if (rc != BO_REDIS_OK)
            return rc;
        rc = follow(r, x, attempt, &ask, err, errlen);
        if (rc == 0)
            break;
        freeReplyObject(x);
        if (rc < 0)
            return BO_REDIS_EIO;
    }
    if (x->type == REDIS_REPLY_ERROR) {
        char text[201], where[300];
        redis_printable(x->str, x->len, text, sizeof text);
        bool moved = redirect_text(x->str);
        freeReplyObject(x);
        if (!moved) {
            snprintf(err, errlen, "%s", text);
            return BO_REDIS_EREPLY;
        }
        snprintf(err, errlen, "Redis at %s: %s", redis_where(r, where, sizeof where), text);
        redis_disconnect(r); /* connect again: the data lives elsewhere now */
        return BO_REDIS_EIO;
    }
    if (out)
        *out = (struct redis_reply *)x;
    else
        freeReplyObject(x);
    return BO_REDIS_OK;
}

int redis_call(struct redis *r, int argc, const char **argv, const size_t *lens,
               struct redis_reply **out, char *err, size_t errlen)
{
    return redis_call_wait(r, argc, argv, lens, 0, NULL, out, err, errlen);
}

/* Keeps the first error reply's text (and whether it was a redirection). */
static void first_error(const redisReply *x, char *text, size_t size, bool *moved)
{
    if (x->type != REDIS_REPLY_ERROR || text[0])
        return;
    redis_printable(x->str, x->len, text, size);
    *moved = redirect_text(x->str);
}

/* MULTI, the commands, EXEC in one round trip. */
static int transaction_once(struct redis *r, size_t n, const struct redis_cmd *cmds,
                            redisReply **exec, bool *moved, char *err, size_t errlen)
{
    static const char *multi[] = {"MULTI"}, *exec_cmd[] = {"EXEC"};
    static const size_t five[] = {5}, four[] = {4};
    char text[201] = "";
    redisReply *x;

    *exec = NULL;
    int rc = append_cmd(r, 1, multi, five, err, errlen);
    for (size_t i = 0; i < n && rc == BO_REDIS_OK; i++)
        rc = append_cmd(r, cmds[i].argc, (const char **)cmds[i].argv, cmds[i].lens, err, errlen);
    if (rc == BO_REDIS_OK)
        rc = append_cmd(r, 1, exec_cmd, four, err, errlen);
    if (rc != BO_REDIS_OK) { /* replies of the part appended would come out of step */
        if (r->pipe >= 0)
            node_close(&r->nodes[r->pipe]);
        pipe_reset(r);
        return BO_REDIS_EIO;
    }
    for (size_t i = 0; i <= n && rc == BO_REDIS_OK; i++) { /* OK, QUEUED ... */
        rc = pipe_read(r, 0, NULL, &x, err, errlen);
        if (rc == BO_REDIS_OK)
            first_error(x, text, sizeof text, moved);
        if (rc == BO_REDIS_OK)
            freeReplyObject(x);
    }
    if (rc == BO_REDIS_OK)
        rc = pipe_read(r, 0, NULL, exec, err, errlen);
    if (rc != BO_REDIS_OK)
        return rc;
    first_error(*exec, text, sizeof text, moved);
    if (!text[0] && ((*exec)->type != REDIS_REPLY_ARRAY || (*exec)->elements != n))
        snprintf(text, sizeof text, "the transaction was not run");
    if (!text[0])
        return BO_REDIS_OK;
    freeReplyObject(*exec);
    *exec = NULL;
    snprintf(err, errlen, "%s", text);
    return BO_REDIS_EREPLY;
}

int redis_transaction(struct redis *r, size_t n, const struct redis_cmd *cmds,
                      struct redis_reply **exec, char *err, size_t errlen)
{
    uint64_t end = now_ms() + 10 * (uint64_t)r->timeout_ms;
    redisReply *x;

    for (unsigned attempt = 0;; attempt++) {
        bool moved = false;
        int rc = transaction_once(r, n, cmds, &x, &moved, err, errlen);
        if (rc == BO_REDIS_OK)
            *exec = (struct redis_reply *)x;
        if (rc != BO_REDIS_EREPLY || !moved || now_ms() >= end)
            return rc;
        sleep_ms(TRYAGAIN_MS << (attempt < 4 ? attempt : 4));
        if (redis_connected(r))
            continue;
        rc = redis_connect(r, err, errlen);
        if (rc != BO_REDIS_OK)
            return rc;
    }
}

size_t redis_command_bytes(int argc, const size_t *lens)
{
    char num[24];
    size_t n = (size_t)snprintf(num, sizeof num, "*%d\r\n", argc);

    for (int i = 0; i < argc; i++)
        n += (size_t)snprintf(num, sizeof num, "$%zu\r\n", lens[i]) + lens[i] + 2;
    return n;
}

/* ---- replies ---- */

enum redis_reply_type redis_reply_type(const struct redis_reply *x)
{
    switch (((const redisReply *)x)->type) {
    case REDIS_REPLY_STRING:
        return BO_REDIS_R_STRING;
    case REDIS_REPLY_ARRAY:
        return BO_REDIS_R_ARRAY;
    case REDIS_REPLY_INTEGER:
        return BO_REDIS_R_INTEGER;
    case REDIS_REPLY_STATUS:
        return BO_REDIS_R_STATUS;
    case REDIS_REPLY_ERROR:
        return BO_REDIS_R_ERROR;
    default:
        return BO_REDIS_R_NIL;
    }
}

const char *redis_reply_str(const struct redis_reply *x, size_t *len)
{
    const redisReply *y = (const redisReply *)x;
    bool has = y->type == REDIS_REPLY_STRING || y->type == REDIS_REPLY_STATUS ||
               y->type == REDIS_REPLY_ERROR;
    *len = has ? y->len : 0;
    return has ? y->str : "";
}

long long redis_reply_int(const struct redis_reply *x)
{
    const redisReply *y = (const redisReply *)x;
    return y->type == REDIS_REPLY_INTEGER ? y->integer : 0;
}

size_t redis_reply_len(const struct redis_reply *x)
{
    const redisReply *y = (const redisReply *)x;
    return y->type == REDIS_REPLY_ARRAY ? y->elements : 0;
}

const struct redis_reply *redis_reply_at(const struct redis_reply *x, size_t i)
{
    const redisReply *y = (const redisReply *)x;
    return y->type == REDIS_REPLY_ARRAY && i < y->elements
               ? (const struct redis_reply *)y->element[i]
               : NULL;
}

void redis_reply_free(struct redis_reply *x)
{
    if (x)
        freeReplyObject(x);
}
