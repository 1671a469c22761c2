/* flow — the bidirectional flow table for country traffic.
 *
 * Pipeline stage 4, after match: every country packet finds (or creates) its flow, keyed by
 * VLAN, IP protocol, both addresses and both ports, whichever way the packet goes. The
 * table is a fixed pool of flows mapped once (--max-flows) with an open-addressing hash of
 * 32-bit tags and pool indices beside it, which starts at 4,096 slots and doubles while the
 * flows in use fill half of it (a few times per run at most, up to twice the pool): no
 * allocation per packet, and memory never grows past the cap with a flood; a packet whose
 * flow cannot be created because the pool is full is counted as refused. Pages of the pool
 * are touched only as flows are first used.
 *
 * Flows leave by idle timeout (sooner once a TCP FIN or RST was seen), checked from the
 * head of lists kept in order of last packet (packet time is close to monotonic; a late
 * packet only delays the expiry of the flows behind it), and long flows are
 * exported every active-timeout seconds without leaving. Each export calls the caller's
 * function with the flow and the reason; the caller reads the flow there (and may finish
 * its classification) before the table recycles or resets it. The flow module knows
 * nothing of nDPI: classification state hangs off the `cls` handle. */
#ifndef BLACKOUT_FLOW_H
#define BLACKOUT_FLOW_H

#include "decode.h"
#include "records.h"

#include <stdbool.h>
#include <stdint.h>

#define FLOW_MAX      (1u << 26)
#define FLOW_HOST_MAX 96 /* host name bytes kept per flow, terminator included */
#define FLOW_NO_PAIR  0xffffu

struct flow_key {
    uint8_t a[16], b[16]; /* the lower (address, port) end first */
    uint16_t pa, pb;
    uint16_t vlan;
    uint8_t proto;
    uint8_t ip_version;
};

enum {
    FLOW_SRC_IS_A = 1 << 0, /* the first packet came from end a */
    FLOW_CLOSING = 1 << 1,  /* FIN or RST seen: shorter idle timeout */
    /* bits below belong to the classifier and the sensor; the table only clears them */
    FLOW_CLASSIFIED = 1 << 2, /* the label is final (in label and host) */
    FLOW_DPI_OFF = 1 << 3,    /* no more packets go to the classifier */
    FLOW_COUNTED = 1 << 5,    /* already counted once in the per-protocol flow counts */
    FLOW_SEEN_IN = 1 << 6,    /* a packet toward the country was seen */
    FLOW_SEEN_OUT = 1 << 7,   /* a packet from the country was seen */
};

/* The fields a packet touches come first (112 bytes), the host name last. */
struct flow {
    struct flow_key key;
    uint32_t prev, next; /* expiry list links (index + 1; 0 = none) */
    uint32_t cls;        /* classification handle owned by the caller, 0 = none */
    uint16_t label;      /* protocol label id owned by the caller */
    uint8_t flags;
    uint16_t pair[2];  /* the caller's accounts the flow counts for ([1] FLOW_NO_PAIR: one) */
    uint16_t cls_pkts; /* packets handed to classification */
    uint64_t pkts[2], bytes[2]; /* [0] toward pair[0]'s country, [1] from it */
    int64_t first_us, last_us;
    char host[FLOW_HOST_MAX];
};

struct flow_timeouts {
    int64_t idle_us;    /* no packet for this long: the flow ends */
    int64_t closing_us; /* idle timeout after a FIN or RST */
    int64_t active_us;  /* a flow older than this is exported and its counters restart */
};

struct flow_stats {
    uint64_t created, refused_pkts, expired, active_exports;
    uint32_t active, peak;
};

typedef void (*flow_export_fn)(void *ctx, struct flow *f, enum flow_end why);

struct flow_table;

/* Returns a table for up to max_flows flows (1 .. FLOW_MAX), or NULL when out of memory. */
struct flow_table *flow_new(uint32_t max_flows, const struct flow_timeouts *t);
void flow_free(struct flow_table *t);

/* A packet's flow key and hash, made once by flow_hint, which also starts fetching the hash
 * slot the lookup will read: work the caller does before flow_get_hinted overlaps that memory
 * access. It holds the key and its hash only: valid for the packet it was made of. */
struct flow_hint {
    struct flow_key key;
    uint32_t hash;
    bool src_is_a;
};

void flow_hint(const struct flow_table *t, const struct decoded *d, struct flow_hint *h);

/* flow_get with the packet's hint (made by flow_hint for the same d, since no other call). */
struct flow *flow_get_hinted(struct flow_table *t, const struct decoded *d,
                             const struct flow_hint *h, int64_t now_us, bool *created);

/* Finds the flow of a decoded IP packet, or creates it (*created set). A fragment after the
 * first (no ports) goes to the flow of its datagram's first fragment when that was seen.
 * Returns NULL when the pool is full (the packet is counted, its flow estimated). The returned flow
 * is valid until the next call that may expire flows. */
struct flow *flow_get(struct flow_table *t, const struct decoded *d, int64_t now_us, bool *created);

/* Counts one packet on the flow: direction (0 in, 1 out), wire bytes, TCP flags; moves the
 * flow to the back of its expiry list. When the flow is older than the active timeout it is
 * exported first (FLOW_END_ACTIVE) and its counters restart. */
void flow_count(struct flow_table *t, struct flow *f, unsigned dir, uint64_t bytes,
                uint8_t tcp_flags, int64_t now_us, flow_export_fn fn, void *ctx);

/* Does the packet come from the end that sent the flow's first packet? */
bool flow_from_src(const struct flow *f, const struct decoded *d);

/* Exports and frees every flow idle past its timeout at packet time now_us. */
void flow_expire(struct flow_table *t, int64_t now_us, flow_export_fn fn, void *ctx);

/* Exports and frees every flow (end of input). */
void flow_flush(struct flow_table *t, flow_export_fn fn, void *ctx);

/* Calls fn for every flow in the table (nothing leaves; fn may change the caller's fields:
 * pair, label, the caller's flag bits). */
void flow_each(struct flow_table *t, void (*fn)(void *ctx, struct flow *f), void *ctx);

const struct flow_stats *flow_stats(const struct flow_table *t);

/* Distinct flows the full table refused (HyperLogLog estimate, about 1% off). */
uint64_t flow_refused_flows(const struct flow_table *t);

/* Fills a record's addresses, ports and counters from a flow (names left to the caller). */
void flow_to_record(const struct flow *f, enum flow_end why, struct flow_record *r);

#endif
