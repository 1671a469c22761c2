/* redis — URL parsing and one hiredis connection. See redis.h. */
#include "redis.h"

#include "text.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

struct redis {
    struct redis_url url;
    redisContext *c;
    unsigned timeout_ms;
    char name[128];
};

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

/* host[:port][/db] with nothing after. */
static int parse_tcp(const char *s, struct redis_url *u, char *err, size_t errlen)
{
    const char *h = s, *end;
    bool v6 = *s == '[';
    uint64_t v;

    if (v6) {
        h = s + 1;
        end = strchr(h, ']');
        if (!end) {
            snprintf(err, errlen, "bad Redis URL: '[' without ']'");
            return -1;
        }
    } else {
        end = h + strcspn(h, ":/");
    }
    size_t hn = (size_t)(end - h);
    for (size_t i = 0; i < hn; i++)
        if (!host_char(h[i], v6))
            hn = 0;
    if (hn == 0 || hn >= sizeof u->host) {
        snprintf(err, errlen, "bad Redis URL: missing or bad host name");
        return -1;
    }
    memcpy(u->host, h, hn);
    u->host[hn] = '\0';
    const char *p = v6 ? end + 1 : end;
    if (*p == ':') {
        size_t pn = strcspn(p + 1, "/");
        if (parse_num(p + 1, pn, 1, 65535, &v) < 0) {
            snprintf(err, errlen, "bad Redis URL: port must be 1 to 65535");
            return -1;
        }
        u->port = (unsigned)v;
        p += 1 + pn;
    }
    if (*p == '/' && p[1] != '\0') {
        if (parse_num(p + 1, strlen(p + 1), 0, BO_REDIS_DB_MAX, &v) < 0) {
            snprintf(err, errlen, "bad Redis URL: database must be a number 0 to %u",
                     BO_REDIS_DB_MAX);
            return -1;
        }
        u->db = (unsigned)v;
    } else if (*p != '\0' && strcmp(p, "/") != 0) {
        snprintf(err, errlen, "bad Redis URL: unexpected text after the host");
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

int redis_url_parse(const char *s, struct redis_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    u->port = 6379;
    if (strncmp(s, "rediss://", 9) == 0) {
        snprintf(err, errlen, "bad Redis URL: TLS (rediss://) is not supported by this build");
        return -1;
    }
    if (strncmp(s, "redis://", 8) == 0) {
        s += 8;
    } else if (strncmp(s, "unix://", 7) == 0) {
        s += 7;
        u->unix_socket = true;
    } else {
        snprintf(err, errlen, "bad Redis URL: it must start with redis:// or unix://");
        return -1;
    }
    const char *at = strrchr(s, '@');
    if (at) {
        if (parse_userinfo(s, (size_t)(at - s), u, err, errlen) < 0)
            return -1;
        s = at + 1;
    }
    return u->unix_socket ? parse_unix(s, u, err, errlen) : parse_tcp(s, u, err, errlen);
}

const char *redis_url_where(const struct redis_url *u, char *buf, size_t size)
{
    if (u->unix_socket)
        snprintf(buf, size, "%s?db=%u", u->path, u->db);
    else if (strchr(u->host, ':'))
        snprintf(buf, size, "[%s]:%u/%u", u->host, u->port, u->db);
    else
        snprintf(buf, size, "%s:%u/%u", u->host, u->port, u->db);
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

/* ---- connection ---- */

struct redis *redis_new(const struct redis_url *u, unsigned timeout_ms, const char *client_name)
{
    struct redis *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->url = *u;
    r->timeout_ms = timeout_ms ? timeout_ms : 1;
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
    memset(&r->url, 0, sizeof r->url); /* the password */
    free(r);
}

bool redis_connected(const struct redis *r)
{
    return r->c != NULL;
}

void redis_disconnect(struct redis *r)
{
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
}

static bool transient_error(const char *msg)
{
    static const char *const again[] = {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN"};
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++)
        if (strncmp(msg, again[i], strlen(again[i])) == 0)
            return true;
    return false;
}

/* Runs one setup command; an error reply's text goes to err unless it quotes the
 * password. */
static int setup_call(struct redis *r, const char *what, int argc, const char **argv,
                      const size_t *lens, char *err, size_t errlen)
{
    char where[300], why[256];

    int rc = redis_call(r, argc, argv, lens, NULL, why, sizeof why);
    if (rc == BO_REDIS_OK)
        return BO_REDIS_OK;
    if (rc == BO_REDIS_EREPLY && r->url.has_pass && strstr(why, r->url.pass))
        snprintf(why, sizeof why, "error reply withheld (it quoted the password)");
    snprintf(err, errlen, "Redis at %s: %s: %s", redis_url_where(&r->url, where, sizeof where),
             what, why);
    if (rc == BO_REDIS_EREPLY && !transient_error(why))
        return BO_REDIS_EFATAL;
    redis_disconnect(r);
    return BO_REDIS_EIO;
}

static int handshake(struct redis *r, char *err, size_t errlen)
{
    char db[16];
    const char *argv[3];
    size_t lens[3];
    int rc;

    if (r->url.has_pass) {
        int n = 0;
        argv[n] = "AUTH", lens[n++] = 4;
        if (r->url.user[0])
            argv[n] = r->url.user, lens[n] = strlen(r->url.user), n++;
        argv[n] = r->url.pass, lens[n] = strlen(r->url.pass), n++;
        rc = setup_call(r, "authentication refused", n, argv, lens, err, errlen);
        if (rc != BO_REDIS_OK)
            return rc;
    }
    snprintf(db, sizeof db, "%u", r->url.db);
    argv[0] = "SELECT", lens[0] = 6;
    argv[1] = db, lens[1] = strlen(db);
    rc = setup_call(r, "SELECT refused", 2, argv, lens, err, errlen);
    if (rc != BO_REDIS_OK || !r->name[0])
        return rc;
    argv[0] = "CLIENT", lens[0] = 6;
    argv[1] = "SETNAME", lens[1] = 7;
    argv[2] = r->name, lens[2] = strlen(r->name);
    if (redis_call(r, 3, argv, lens, NULL, err, errlen) == BO_REDIS_EIO)
        return BO_REDIS_EIO; /* a refused name (ACL) is not a reason to fail */
    return BO_REDIS_OK;
}

int redis_connect(struct redis *r, char *err, size_t errlen)
{
    struct timeval tv = {.tv_sec = r->timeout_ms / 1000,
                         .tv_usec = (suseconds_t)(r->timeout_ms % 1000) * 1000};
    char where[300];

    redis_disconnect(r);
    r->c = r->url.unix_socket ? redisConnectUnixWithTimeout(r->url.path, tv)
                              : redisConnectWithTimeout(r->url.host, (int)r->url.port, tv);
    if (!r->c || r->c->err) {
        snprintf(err, errlen, "Redis at %s: %s", redis_url_where(&r->url, where, sizeof where),
                 r->c ? r->c->errstr : "out of memory");
        redis_disconnect(r);
        return BO_REDIS_EIO;
    }
    guard_reader(r->c);
    if (redisSetTimeout(r->c, tv) != BO_REDIS_OK ||
        (!r->url.unix_socket && redisEnableKeepAlive(r->c) != BO_REDIS_OK)) {
        snprintf(err, errlen, "Redis at %s: cannot set timeouts: %s",
                 redis_url_where(&r->url, where, sizeof where), r->c->errstr);
        redis_disconnect(r);
        return BO_REDIS_EIO;
    }
    int rc = handshake(r, err, errlen);
    if (rc != BO_REDIS_OK)
        redis_disconnect(r);
    return rc;
}

static int io_error(struct redis *r, char *err, size_t errlen)
{
    char where[300];
    snprintf(err, errlen, "Redis at %s: %s", redis_url_where(&r->url, where, sizeof where),
             r->c && r->c->errstr[0] ? r->c->errstr : "not connected");
    redis_disconnect(r);
    return BO_REDIS_EIO;
}

int redis_append(struct redis *r, int argc, const char **argv, const size_t *lens)
{
    if (!r->c || redisAppendCommandArgv(r->c, argc, argv, lens) != BO_REDIS_OK)
        return BO_REDIS_EIO;
    return BO_REDIS_OK;
}

int redis_send(struct redis *r, char *err, size_t errlen)
{
    int done = 0;

    if (!r->c)
        return io_error(r, err, errlen);
    while (!done)
        if (redisBufferWrite(r->c, &done) != BO_REDIS_OK)
            return io_error(r, err, errlen);
    return BO_REDIS_OK;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads until one whole reply is parsed, within the timeout and the size bound. Returns
 * 0, or -1 with the reason in why (the connection is then unusable). */
static int read_reply(struct redis *r, void **reply, char *why, size_t size)
{
    redisReader *rd = r->c->reader;
    uint64_t deadline = now_ms() + r->timeout_ms;
    int done = 0;

    while (!done)
        if (redisBufferWrite(r->c, &done) != BO_REDIS_OK)
            return snprintf(why, size, "%s", r->c->errstr), -1;
    for (;;) {
        array_refused = false;
        if (redisReaderGetReply(rd, reply) != BO_REDIS_OK) {
            if (array_refused)
                snprintf(why, size, "reply array over %u elements refused (not a Redis server?)",
                         BO_REDIS_REPLY_ELEMENTS_MAX);
            else
                snprintf(why, size, "%s", rd->errstr);
            return -1;
        }
        if (*reply)
            return 0;
        uint64_t now = now_ms();
        if (rd->len - rd->pos > BO_REDIS_REPLY_BYTES_MAX) {
            snprintf(why, size, "reply longer than %u MB refused (not a Redis server?)",
                     BO_REDIS_REPLY_BYTES_MAX >> 20);
            return -1;
        }
        if (now >= deadline || redis_wait_readable(r, (unsigned)(deadline - now)) == 0) {
            snprintf(why, size, "no complete reply within %u ms", r->timeout_ms);
            return -1;
        }
        if (redisBufferRead(r->c) != BO_REDIS_OK)
            return snprintf(why, size, "%s", r->c->errstr), -1;
    }
}

int redis_read(struct redis *r, struct redis_reply **out, char *err, size_t errlen)
{
    void *reply = NULL;
    char where[300], why[256];

    *out = NULL;
    if (!r->c)
        return io_error(r, err, errlen);
    if (read_reply(r, &reply, why, sizeof why) < 0) {
        if (reply)
            freeReplyObject(reply);
        snprintf(err, errlen, "Redis at %s: %s", redis_url_where(&r->url, where, sizeof where),
                 why[0] ? why : "connection lost");
        redis_disconnect(r);
        return BO_REDIS_EIO;
    }
    *out = reply;
    return BO_REDIS_OK;
}

int redis_wait_readable(struct redis *r, unsigned ms)
{
    if (!r->c)
        return -1;
    struct pollfd p = {.fd = r->c->fd, .events = POLLIN};
    int n = poll(&p, 1, (int)ms);
    return n < 0 ? -1 : n > 0;
}

int redis_call(struct redis *r, int argc, const char **argv, const size_t *lens,
               struct redis_reply **out, char *err, size_t errlen)
{
    struct redis_reply *x;

    if (out)
        *out = NULL;
    if (redis_append(r, argc, argv, lens) != BO_REDIS_OK)
        return io_error(r, err, errlen);
    int rc = redis_read(r, &x, err, errlen);
    if (rc != BO_REDIS_OK)
        return rc;
    if (redis_reply_type(x) == BO_REDIS_R_ERROR) {
        size_t n;
        const char *s = redis_reply_str(x, &n);
        redis_printable(s, n, err, errlen < 201 ? errlen : 201);
        redis_reply_free(x);
        return BO_REDIS_EREPLY;
    }
    if (out)
        *out = x;
    else
        redis_reply_free(x);
    return BO_REDIS_OK;
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
