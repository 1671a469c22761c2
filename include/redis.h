/* redis — one connection to a Redis server; the only module that includes hiredis.
 *
 * Below the sink and the backlog writer: parses the --redis URL
 * (redis://[[user]:password@]host[:port][/db], unix://[[user]:password@]/path[?db=N]),
 * connects with a connect timeout, applies the command timeout and TCP keepalive, sends
 * AUTH (password, or ACL user and password), SELECT and CLIENT SETNAME. Every (re)connect
 * builds a fresh hiredis context, so the timeouts are applied again each time. Commands go
 * out as binary-safe argv, pipelined: redis_append any number of them, then redis_read one
 * reply per command, in order.
 *
 * Secrets: the password never appears in an error text, a log line or redis_url_where().
 *
 * Threads: a struct redis is used by one thread at a time. Replies are owned by the caller
 * and freed with redis_reply_free. */
#ifndef BLACKOUT_REDIS_H
#define BLACKOUT_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BO_REDIS_HOST_MAX 256
#define BO_REDIS_PATH_MAX 108 /* sun_path */
#define BO_REDIS_USER_MAX 128
#define BO_REDIS_PASS_MAX 512
#define BO_REDIS_DB_MAX   1000000u

/* Bounds on one reply: more elements in an array, or more bytes buffered for one reply, and
 * the reply is refused (BO_REDIS_EIO). Redis itself caps a bulk string at 512 MB by default;
 * no reply this program asks for comes near these. */
#define BO_REDIS_REPLY_ELEMENTS_MAX (1u << 24)
#define BO_REDIS_REPLY_BYTES_MAX    (256u << 20)

struct redis_url {
    bool unix_socket;
    char host[BO_REDIS_HOST_MAX]; /* without IPv6 brackets */
    unsigned port;
    char path[BO_REDIS_PATH_MAX];
    char user[BO_REDIS_USER_MAX]; /* "" = the default user */
    char pass[BO_REDIS_PASS_MAX]; /* "" = no AUTH */
    bool has_pass;
    unsigned db;
};

/* Parses a URL (percent-escapes are decoded in user and password). Returns 0, or -1 with
 * one line in err that never quotes the user information. */
int redis_url_parse(const char *s, struct redis_url *u, char *err, size_t errlen);

/* Where the URL points, for messages: "127.0.0.1:6379/0", "[::1]:6380/2", "/run/r.sock/0".
 * Never contains the user or the password. Returns buf. */
const char *redis_url_where(const struct redis_url *u, char *buf, size_t size);

enum redis_rc {
    BO_REDIS_OK = 0,
    BO_REDIS_EIO = -1,    /* connect failed, timeout, connection lost: try again later */
    BO_REDIS_EFATAL = -2, /* refused by the server (AUTH, SELECT): retrying will not help */
    BO_REDIS_EREPLY = -3, /* the server answered with an error reply */
};

struct redis;
struct redis_reply;

enum redis_reply_type {
    BO_REDIS_R_STRING,
    BO_REDIS_R_ARRAY,
    BO_REDIS_R_INTEGER,
    BO_REDIS_R_NIL,
    BO_REDIS_R_STATUS,
    BO_REDIS_R_ERROR,
};

/* A connection handle for u (copied), not yet connected. timeout_ms bounds the connect and
 * each command. client_name (may be NULL) is sent with CLIENT SETNAME after connecting.
 * Returns NULL when out of memory. */
struct redis *redis_new(const struct redis_url *u, unsigned timeout_ms, const char *client_name);
void redis_free(struct redis *r);

/* Connects (dropping any previous connection), then AUTH, SELECT, CLIENT SETNAME. Returns
 * BO_REDIS_OK, BO_REDIS_EIO (try later) or BO_REDIS_EFATAL (wrong password, bad db), with one line
 * in err. */
int redis_connect(struct redis *r, char *err, size_t errlen);
bool redis_connected(const struct redis *r);
void redis_disconnect(struct redis *r);

/* Buffers one command. Returns BO_REDIS_OK, or BO_REDIS_EIO (not connected, out of memory). */
int redis_append(struct redis *r, int argc, const char **argv, const size_t *lens);

/* Writes everything buffered. Returns BO_REDIS_OK or BO_REDIS_EIO (then disconnected). */
int redis_send(struct redis *r, char *err, size_t errlen);

/* Reads the next reply (sending what is buffered first). An error reply is returned as a
 * reply of type BO_REDIS_R_ERROR with BO_REDIS_OK. The whole reply must arrive within the command
 * timeout and the bounds above. Returns BO_REDIS_OK with *out set, or BO_REDIS_EIO (timeout,
 * connection lost, a protocol error or a reply out of bounds: the connection is dropped). */
int redis_read(struct redis *r, struct redis_reply **out, char *err, size_t errlen);

/* Waits until a reply can be read or ms pass. Returns 1 readable, 0 timeout, -1 error. */
int redis_wait_readable(struct redis *r, unsigned ms);

/* One command, one reply. An error reply gives BO_REDIS_EREPLY with its text in err (made
 * printable, at most 200 bytes; no reply). Returns BO_REDIS_OK with *out set (may be NULL to
 * discard), or BO_REDIS_EIO. */
int redis_call(struct redis *r, int argc, const char **argv, const size_t *lens,
               struct redis_reply **out, char *err, size_t errlen);

/* Bytes the command takes on the wire (RESP multi-bulk). */
size_t redis_command_bytes(int argc, const size_t *lens);

enum redis_reply_type redis_reply_type(const struct redis_reply *x);
/* String, status and error replies: the bytes (not terminated for binary data: use len). */
const char *redis_reply_str(const struct redis_reply *x, size_t *len);
long long redis_reply_int(const struct redis_reply *x);
size_t redis_reply_len(const struct redis_reply *x);
const struct redis_reply *redis_reply_at(const struct redis_reply *x, size_t i);
void redis_reply_free(struct redis_reply *x);

/* Copies n bytes of text from a server (an error reply) into buf for a log line: bytes
 * outside printable ASCII become '?', cut to size - 1. Returns buf. */
const char *redis_printable(const char *s, size_t n, char *buf, size_t size);

/* Reconnect delay for the attempt-th consecutive failure (0-based): base * 2^attempt,
 * capped at cap_ms. */
uint64_t redis_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms);

#endif
