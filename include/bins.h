/* bins — counters in time bins aligned to multiples of the bin length, per row.
 *
 * Pipeline stage 5: match/flow feed packets in; when packet time crosses a bin boundary the
 * bin is closed and handed, every row at once, to an emit callback (JSON lines, the Redis
 * sink, the detector). A row is what the caller counts country traffic under (the sensor:
 * one per (country, route) pair, added at the pair's first packet, never removed); each row
 * belongs to a route. The control series (ctl_pkts, drops) is counted per route, and every
 * row's ctl_pkts and drops in the emitted view are its route's. Skipped bins are emitted with
 * zero counts: silence is data. At the end of input the open bin is emitted marked partial.
 * A forward jump of more than BINS_MAX_GAP bins (a corrupt or spliced capture) is not
 * filled: the clock restarts and the next bin is marked as following a jump.
 *
 * `hosts` counts distinct country-side addresses exactly up to host_cap per row and bin,
 * then estimates with a HyperLogLog (precision 14, about 0.8% error). The set of addresses
 * (up to the cap) is readable in the emitted view. Rows are added on a pair's first packet
 * (memory grows with the pairs seen, never with the packets). */
#ifndef BLACKOUT_BINS_H
#define BLACKOUT_BINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BINS_MAX_GAP      100000u /* longest run of empty bins filled with zeros */
#define BINS_HOST_CAP_MAX (1u << 22)
#define BINS_ROWS_MAX     (1u << 16)
#define BINS_ROUTES_MAX   64

/* The bin counters: the one definition of struct bin_counts, of the JSON bin line and the
 * export columns, of the cumulative totals (summary, Redis totals hash) and of the Redis bins
 * member (sink.h). One row each, X(name, uses, total):
 *   uses  BIN_JSON   in the JSON bin line and `export` (README, JSON lines), in this order
 *         BIN_TOTAL  summed over bins into the run's totals (summary), under the name `total`
 *         BIN_RTOTAL also in the Redis totals hash P{S}:totals:R
 * A new counter is one row here (at the end: the stored bins member grows at its end too, see
 * sink.h) plus the code that counts it. */
#define BIN_JSON   1u
#define BIN_TOTAL  2u
#define BIN_RTOTAL 4u
#define BIN_COUNTERS(X)                                                                            \
    X(pkts_in, BIN_JSON | BIN_TOTAL | BIN_RTOTAL, "pkts_in")                                       \
    X(pkts_out, BIN_JSON | BIN_TOTAL | BIN_RTOTAL, "pkts_out")                                     \
    X(bytes_in, BIN_JSON | BIN_TOTAL | BIN_RTOTAL, "bytes_in")                                     \
    X(bytes_out, BIN_JSON | BIN_TOTAL | BIN_RTOTAL, "bytes_out")                                   \
    X(flows_new, BIN_JSON | BIN_TOTAL | BIN_RTOTAL, "flows")                                       \
    X(hosts, BIN_JSON, "")                                                                         \
    X(ctl_pkts, BIN_JSON | BIN_TOTAL, "ctl_pkts")                                                  \
    X(drops, BIN_JSON | BIN_TOTAL, "drops")                                                        \
    /* flows whose first packet that way fell in the bin (the detector's conversations) */         \
    X(starts_in, 0, "")                                                                            \
    X(starts_out, 0, "")

struct bin_counts {
#define BIN_FIELD(name, uses, total) uint64_t name;
    BIN_COUNTERS(BIN_FIELD)
#undef BIN_FIELD
};

/* The counters as a table, in the order of BIN_COUNTERS. */
struct bin_counter {
    const char *name;  /* JSON key, export column */
    unsigned uses;     /* BIN_JSON | BIN_TOTAL | BIN_RTOTAL */
    const char *total; /* name among the totals ("" when none) */
    size_t offset;     /* in struct bin_counts */
};
extern const struct bin_counter bin_counters[];
#define BIN_NCOUNTERS (sizeof(struct bin_counts) / sizeof(uint64_t))

/* Counter i of c (i < BIN_NCOUNTERS). */
static inline uint64_t bin_counter_get(const struct bin_counts *c, size_t i)
{
    return *(const uint64_t *)((const char *)c + bin_counters[i].offset);
}
static inline void bin_counter_set(struct bin_counts *c, size_t i, uint64_t v)
{
    *(uint64_t *)((char *)c + bin_counters[i].offset) = v;
}

/* Adds every counter of src to dst. */
void bin_counts_add(struct bin_counts *dst, const struct bin_counts *src);

/* One closed bin for every row, valid only during the emit callback. */
struct bin_view {
    int64_t start;   /* seconds since the epoch, a multiple of len */
    unsigned len;    /* seconds */
    bool partial;    /* cut short by the end of input: not evidence of silence */
    bool after_jump; /* first bin after an unfilled time jump */
    unsigned nrows;
    const struct bin_counts *rows;     /* [nrows]; ctl_pkts and drops are the row's route's */
    const unsigned *row_route;         /* [nrows] */
    const uint8_t (*const *hosts)[16]; /* [nrows] arrays of country-side addresses */
    const size_t *nhosts;              /* [nrows] entries in hosts[r] (<= host_cap) */
    unsigned nroutes;
    const uint64_t *ctl_pkts, *drops; /* [nroutes]: the control series */
};

typedef void (*bins_emit_fn)(void *ctx, const struct bin_view *v);

struct bins;

/* Returns a bin set for nroutes routes (1..BINS_ROUTES_MAX) and no row yet, bins of len
 * seconds, or NULL (out of memory, bad args). */
struct bins *bins_new(unsigned nroutes, unsigned len, unsigned host_cap);
void bins_free(struct bins *b);

/* Adds a row on route. Returns its index (rows are numbered 0, 1, ... in order of adding),
 * or -1 (BINS_ROWS_MAX rows, out of memory). */
int bins_add_row(struct bins *b, unsigned route);
unsigned bins_nrows(const struct bins *b);

/* New routes (a reload): nroutes routes from now on, row r on route row_route[r]. Call only
 * when the open bin holds no packet (its control counts restart). Returns 0, or -1 (bad
 * nroutes). */
int bins_set_routes(struct bins *b, unsigned nroutes, const unsigned *row_route);

/* Moves the clock to packet time ts (seconds), emitting every bin that ends at or before
 * ts (zero bins across gaps). The first call starts the clock. A ts before the open bin is
 * counted in the open bin (late packet). */
void bins_advance(struct bins *b, int64_t ts, bins_emit_fn emit, void *ctx);

/* Counts a country packet of `bytes` wire bytes on row in direction dir (0 in, 1 out) whose
 * country-side address is host (16-byte form). */
void bins_count(struct bins *b, unsigned row, unsigned dir, uint64_t bytes, const uint8_t host[16]);
void bins_count_flow(struct bins *b, unsigned row);
void bins_count_start(struct bins *b, unsigned row, unsigned dir);
/* The control series: a packet of no watched country, capture drops. */
void bins_count_ctl(struct bins *b, unsigned route);
void bins_count_drops(struct bins *b, unsigned route, uint64_t n);

/* Emits the open bin (marked partial) and stops the clock. */
void bins_flush(struct bins *b, bins_emit_fn emit, void *ctx);

/* Start of the open bin, or INT64_MIN before the first packet. */
int64_t bins_open_start(const struct bins *b);

/* Packets that arrived with a time before the open bin, and unfilled jumps. */
uint64_t bins_late_packets(const struct bins *b);
uint64_t bins_time_jumps(const struct bins *b);

#endif
