/* backlog — the bounded queue of flush units and the writer thread that drains it.
 *
 * Between the sink (which encodes one flush unit per closed bin) and Redis. The packet
 * path only ever calls backlog_push, which takes a lock for a moment and never waits on
 * Redis (unless the backlog was made with wait_when_full, for replays, and the writer is
 * connected and has made progress in the last 10 s). The writer thread owns the connection: it
 * connects (AUTH, SELECT, SCRIPT LOAD), sends up to a batch of units in one pipelined round trip as
 * EVALSHA (EVAL after NOSCRIPT), checks every reply, and reconnects with capped
 * exponential backoff on the monotonic clock.
 *
 * Exactly-once: every unit carries a sequence number; the writer fills two arguments at
 * send time, `prev` (the unit before it in this round trip, or the last unit known to be
 * applied) and `first`. The script (sink.c) applies a unit only when the run's marker in
 * Redis is below its sequence and, inside a round trip, equal to `prev`; so a retried
 * unit that was in fact applied is skipped, and no unit is applied out of order. A unit
 * stays queued until a reply confirms it (applied or already applied); error replies (OOM,
 * LOADING, ...) are logged and the unit is retried, never dropped silently.
 *
 * Replicas (min_replicas > 0, for Sentinel and Cluster): replication is asynchronous, so a
 * unit a master confirmed is lost if that master dies before a replica has it. The round trip
 * then ends with WAIT min_replicas wait_ms, and its units leave the backlog only when WAIT
 * says enough replicas have them; otherwise they stay (counted, logged every 10 s) and are
 * sent again. `prev` of the first unit is the last unit known to be on the replicas too, so a
 * new master whose marker is behind gets the units it lacks again (counted as resent), one
 * that has them answers "already applied", and only one that lacks units the backlog no
 * longer holds reports data lost. Answers that say the data lives elsewhere (MOVED, ASK,
 * TRYAGAIN, CLUSTERDOWN, READONLY) are counted as redirects, not errors: the writer connects
 * again (through the sentinels, or a fresh slot map) and retries.
 *
 * Bound: at most max_units units (queued plus being written) and about max_bytes; when a
 * new unit does not fit, the oldest queued units are dropped, counted, logged once.
 *
 * Threads and locks: two threads touch a backlog, the caller's (backlog_push, _drain,
 * _stats, _failed, _free) and the writer. One mutex, `mu`, guards the queue (ring, head, n),
 * the batch being written (the inflight array and its count: the writer moves units into
 * it and retires them from it, both under mu, and reads it without mu while writing, which
 * is safe because only the writer changes it), the byte count, the flags stop, tried, fatal
 * (with its message), warned_drop and said_down, the statistics, the time of the last
 * progress, the retry time, the backoff attempt and the time the outage began. The writer
 * alone, without the lock, owns the connection, the script hash, the last sequence known to
 * be applied, the node it writes to and the test hook's counters. A unit's fields other than
 * the `prev` and `first` arguments and `applied` (which the writer sets while writing) do not
 * change once it is pushed. The
 * caller waits on `progress` (the writer broadcasts it after every round trip and when it
 * stops); the writer waits on `wake` (a push, a drain, a stop). */
#ifndef BLACKOUT_BACKLOG_H
#define BLACKOUT_BACKLOG_H

#include "redis.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One encoded flush unit: argv[0] and argv[1] (EVALSHA sha / EVAL script) and the
 * `prev`/`first` arguments are filled by the writer. Allocated in one block (free()). */
struct backlog_unit {
    uint64_t seq;
    int64_t bin_start; /* start of the unit's bin, INT64_MIN when it holds records only */
    unsigned nbins, nflows, nevents;
    bool use_eval; /* the server did not know the script: send its text */
    bool applied;  /* a master applied it, its replicas may not have it (writer) */
    size_t bytes;  /* memory held */
    int argc;
    const char **argv;
    size_t *lens;
    int idx_prev, idx_first; /* argv slots filled at send time */
    char prev[24], first[2];
};

struct backlog_config {
    unsigned max_units; /* >= 2 */
    size_t max_bytes;
    bool wait_when_full;   /* replay: wait for a connected writer instead of dropping */
    unsigned stall_ms;     /* wait_when_full: a writer this long without progress is stuck and
                              the oldest units go after all (0: 10 s) */
    const char *script;    /* the flush script's text */
    unsigned min_replicas; /* WAIT for this many replicas after each round trip (0: none) */
    unsigned wait_ms;      /* WAIT's timeout, below the connection's command timeout */
    /* An idempotent command run after each connection and every 10 minutes (a cluster
     * sensor adding itself to the sensor index); a failure is logged and tried again 10 s
     * later, the flushes go on. argc 0: none. The strings must outlive the backlog. */
    int register_argc;
    const char *const *register_argv;
};

/* Round trips timed for the flush histogram (blackout_redis_flush_seconds): the upper bounds
 * of its buckets in seconds; a last bucket holds what is slower than every bound. */
#define BACKLOG_FLUSH_BUCKETS 12
extern const double backlog_flush_bounds[BACKLOG_FLUSH_BUCKETS];

struct backlog_stats {
    uint64_t flushes;         /* units applied */
    uint64_t duplicates;      /* units found already applied when retried */
    uint64_t commands;        /* commands sent: EVALSHA/EVAL and SCRIPT LOAD */
    uint64_t script_commands; /* commands the flush script ran */
    uint64_t bytes;           /* bytes of commands sent */
    uint64_t dropped_units, dropped_bins;
    uint64_t pending_units, pending_bins, pending_flows, pending_events;
    int64_t pending_first_bin, pending_last_bin; /* INT64_MIN when none */
    uint64_t reconnects, errors, data_lost;
    uint64_t resent;         /* units a master had applied, sent again to one that lacked them */
    uint64_t backlog_peak;   /* most units held at once */
    uint64_t replica_waits;  /* round trips kept because WAIT saw too few replicas */
    uint64_t redirects;      /* flushes answered MOVED, ASK, TRYAGAIN, CLUSTERDOWN, READONLY */
    uint64_t master_changes; /* connections that found the master (the slot's node) moved */
    bool connected;
    char last_error[400]; /* the last failure seen, "" when none */
    /* round trips of flush units whose every reply was read: how many took at most
     * backlog_flush_bounds[i] (not cumulative; [BACKLOG_FLUSH_BUCKETS] the slower ones),
     * and their total time */
    uint64_t flush_rounds[BACKLOG_FLUSH_BUCKETS + 1];
    double flush_seconds;
};

struct backlog;

/* Takes ownership of conn. Returns NULL when out of memory (conn is then freed). */
struct backlog *backlog_new(struct redis *conn, const struct backlog_config *cfg);

/* Starts the writer and waits for its first connection attempt. Returns 0 (connected, or
 * not reachable yet: the writer keeps trying), or -1 when the server refused us (wrong
 * password, bad database) with one line in err. */
int backlog_start(struct backlog *b, char *err, size_t errlen);

/* Queues a unit (ownership passes). Never fails: on overflow the oldest queued units go. */
void backlog_push(struct backlog *b, struct backlog_unit *u);

/* Waits until every unit is written or timeout_ms pass. Returns the units still pending. */
uint64_t backlog_drain(struct backlog *b, uint64_t timeout_ms);

/* True once the writer has stopped for good (refused by the server), with one line in
 * err. */
bool backlog_failed(struct backlog *b, char *err, size_t errlen);

void backlog_stats(struct backlog *b, struct backlog_stats *st);

/* Stops the writer (waiting at most for one connect or command timeout) and frees every
 * unit left. backlog_free(NULL) is safe. */
void backlog_free(struct backlog *b);

/* The batch size for a bound: min(32, max_units / 2), at least 1. */
unsigned backlog_batch_max(unsigned max_units);

#endif
