/* redis — the connection to Redis: one server, a Sentinel-managed master, or a Redis Cluster;
 * the only module that includes hiredis.
 *
 * Below the sink and the backlog writer, and the readers (query, alert, multidetect). Parses
 * the --redis URL:
 *   redis://[[user]:password@]host[:port][/db]          one server
 *   unix://[[user]:password@]/path[?db=N]                one server on a unix socket
 *   redis-sentinel://[[user]:password@]host[:port][,host[:port]...][/db]#MASTER
 *                                                        the master MASTER, found through
 *                                                        the sentinels (default port 26379)
 *   redis-cluster://[[user]:password@]host[:port][,host[:port]...]
 *                                                        a cluster, from its seed nodes
 * Connects with a connect timeout, applies the command timeout and TCP keepalive, sends AUTH
 * (password, or ACL user and password), SELECT and CLIENT SETNAME. Every (re)connect builds a
 * fresh hiredis context, so the timeouts are applied again each time. Commands go out as
 * binary-safe argv, pipelined: redis_append any number of them, then redis_read one reply per
 * command, in order.
 *
 * Sentinel (the Sentinel client protocol): redis_connect asks the sentinels in turn (the one
 * that answered last first) for the master's address with SENTINEL get-master-addr-by-name,
 * connects to it and checks with ROLE that it is a master. A READONLY answer (the master was
 * made a replica) or a lost connection makes redis_connected false: the next redis_connect
 * asks the sentinels again. Sentinels are authenticated with their own password
 * (url.sentinel_pass, from --sentinel-password), the master with the URL's.
 *
 * Cluster: redis_connect reads the slot map (CLUSTER SLOTS) from a node it knows (a node it
 * is connected to, else the seeds), and connects to the node of the home key
 * (redis_set_home), if any. A command goes to the master of its key's slot (CRC16 of the key,
 * or of its {hash tag}); a command without a key goes to the node of the pipeline it is in,
 * else to the node of the previous command, else to the home key's node. All commands of one
 * pipeline must go to one node (one slot, in practice). MOVED updates the map; MOVED, ASK
 * (with ASKING), TRYAGAIN are followed by redis_call within a few attempts; in a pipeline
 * they come back as error replies (redis_reply_redirect) and the map is refreshed at the next
 * redis_connect. A MOVED, READONLY or CLUSTERDOWN answer, or a node lost, make
 * redis_connected false until then.
 *
 * Secrets: neither password ever appears in an error text, a log line or redis_url_where().
 *
 * Threads: a struct redis is used by one thread at a time. Replies are owned by the caller
 * and freed with redis_reply_free. */
#ifndef BLACKOUT_REDIS_H
#define BLACKOUT_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BO_REDIS_HOST_MAX   256
#define BO_REDIS_PATH_MAX   108 /* sun_path */
#define BO_REDIS_USER_MAX   128
#define BO_REDIS_PASS_MAX   512
#define BO_REDIS_DB_MAX     1000000u
#define BO_REDIS_HOSTS_MAX  16  /* sentinels or seed nodes in one URL */
#define BO_REDIS_MASTER_MAX 128 /* a sentinel master's name */
#define BO_REDIS_NODES_MAX  128 /* cluster nodes one connection talks to */
#define BO_REDIS_SLOTS      16384

/* Bounds on one reply: more elements in an array, or more bytes buffered for one reply, and
 * the reply is refused (BO_REDIS_EIO). Redis itself caps a bulk string at 512 MB by default;
 * no reply this program asks for comes near these. */
#define BO_REDIS_REPLY_ELEMENTS_MAX (1u << 24)
#define BO_REDIS_REPLY_BYTES_MAX    (256u << 20)

enum redis_mode {
    BO_REDIS_SINGLE,   /* redis:// or unix:// */
    BO_REDIS_SENTINEL, /* redis-sentinel:// */
    BO_REDIS_CLUSTER,  /* redis-cluster:// */
};

struct redis_host {
    char host[BO_REDIS_HOST_MAX]; /* without IPv6 brackets */
    unsigned port;
};

struct redis_url {
    enum redis_mode mode;
    bool unix_socket;
    char host[BO_REDIS_HOST_MAX]; /* the first of hosts */
    unsigned port;
    struct redis_host hosts[BO_REDIS_HOSTS_MAX]; /* TCP: the server, sentinels or seeds */
    unsigned nhosts;
    char master[BO_REDIS_MASTER_MAX]; /* sentinel: the master's name */
    char path[BO_REDIS_PATH_MAX];
    char user[BO_REDIS_USER_MAX]; /* "" = the default user */
    char pass[BO_REDIS_PASS_MAX]; /* "" = no AUTH */
    bool has_pass;
    unsigned db;                           /* always 0 in a cluster */
    char sentinel_pass[BO_REDIS_PASS_MAX]; /* set by the caller; "" = sentinels without AUTH */
};

/* Parses a URL (percent-escapes are decoded in user and password). Returns 0, or -1 with
 * one line in err that never quotes the user information. */
int redis_url_parse(const char *s, struct redis_url *u, char *err, size_t errlen);

/* Where the URL points, for messages: "127.0.0.1:6379/0", "[::1]:6380/2", "/run/r.sock/0",
 * "mymaster via sentinels h1:26379,h2:26379 db 0", "cluster h1:7000,h2:7001". Never contains
 * the user or a password. Returns buf. */
const char *redis_url_where(const struct redis_url *u, char *buf, size_t size);

enum redis_rc {
    BO_REDIS_OK = 0,
    BO_REDIS_EIO = -1,    /* connect failed, timeout, connection lost: try again later */
    BO_REDIS_EFATAL = -2, /* refused by the server (AUTH, SELECT): retrying will not help */
    BO_REDIS_EREPLY = -3, /* the server answered with an error reply */
    BO_REDIS_ESTOP = -4,  /* redis_call_wait: the caller asked to stop */
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

/* Cluster: the key whose node redis_connect connects to and checks is covered, and where
 * commands without a key go when nothing else says (the sink: one of its sensor's keys).
 * Elsewhere nothing. */
void redis_set_home(struct redis *r, const char *key);

/* Connects (dropping any previous connection): through the sentinels, or the slot map and the
 * home key's node (see above); then AUTH, SELECT, CLIENT SETNAME. Returns BO_REDIS_OK,
 * BO_REDIS_EIO (try later) or BO_REDIS_EFATAL (wrong password, bad db; and until a first
 * connection has succeeded: no sentinel knows the master, a node that is not in a cluster,
 * slots not covered), with one line in err. */
int redis_connect(struct redis *r, char *err, size_t errlen);
/* False when not connected, and when an answer said the data has moved (see above). */
bool redis_connected(const struct redis *r);
void redis_disconnect(struct redis *r);
enum redis_mode redis_mode(const struct redis *r);

/* The node in use, for messages: "127.0.0.1:6380" (the master, the home key's node), or
 * redis_url_where when none. Returns buf. */
const char *redis_where(const struct redis *r, char *buf, size_t size);

struct redis_stats {
    uint64_t moved, ask, tryagain; /* cluster redirections seen */
    uint64_t refreshes;            /* slot maps read, sentinel lookups */
};
void redis_stats(const struct redis *r, struct redis_stats *st);

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

/* One command, one reply; in a cluster MOVED, ASK and TRYAGAIN are followed, and through
 * sentinels a READONLY master is looked up again, once. An error reply gives BO_REDIS_EREPLY
 * with its text in err (made printable, at most 200 bytes; no reply), except a redirection
 * that could not be followed (redis_reply_redirect): then the connection is dropped and
 * BO_REDIS_EIO returned (connect again, try again). Returns BO_REDIS_OK with *out set (may be
 * NULL to discard), or BO_REDIS_EIO. */
int redis_call(struct redis *r, int argc, const char **argv, const size_t *lens,
               struct redis_reply **out, char *err, size_t errlen);

/* redis_call for a command the server may hold up to block_ms (XREAD BLOCK): the reply is
 * awaited that long plus the command timeout, and stop (may be NULL) is asked every 200 ms;
 * when it says so the connection is dropped and BO_REDIS_ESTOP returned. */
int redis_call_wait(struct redis *r, int argc, const char **argv, const size_t *lens,
                    uint64_t block_ms, bool (*stop)(void), struct redis_reply **out, char *err,
                    size_t errlen);

/* MULTI, the commands (their keys in one slot), EXEC: one round trip. Redirections are
 * retried for up to about ten command timeouts (a slot being moved). Returns BO_REDIS_OK with
 * *exec the EXEC reply (one reply per command), BO_REDIS_EREPLY with err, or BO_REDIS_EIO. */
struct redis_cmd {
    int argc;
    const char *const *argv;
    const size_t *lens;
};
int redis_transaction(struct redis *r, size_t n, const struct redis_cmd *cmds,
                      struct redis_reply **exec, char *err, size_t errlen);

/* True when an error reply says where the data lives rather than what is wrong with the
 * command (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, READONLY, MASTERDOWN): send it again after
 * redis_connect. */
bool redis_reply_redirect(const struct redis_reply *x);

/* The cluster slot of a key (CRC16 of the key, or of its first non-empty {hash tag}). */
unsigned redis_key_slot(const char *key, size_t len);

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
