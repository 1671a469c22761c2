/* gen_expect — the ground truth of a generated capture: per-route totals
 * (packets and bytes each way, flows, fragments, per nDPI label), the
 * control series, per-bin counters, the events a detector should raise,
 * and (proto scenario) the list of flows. Fed one frame at a time, in time
 * order, by the scheduler; written as one JSON object at the end. */
#ifndef GEN_EXPECT_H
#define GEN_EXPECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gen_conv.h"
#include "gen_opt.h"

enum gen_kind { GEN_K_IN = 0, GEN_K_OUT = 1, GEN_K_CTL = 2 };

/* What one written frame counts as. */
struct gen_acct {
    uint8_t route;
    uint8_t kind;     /* enum gen_kind */
    uint8_t label;    /* enum gen_label (country frames) */
    uint8_t new_flow; /* first country frame of its conversation */
    uint8_t frag;     /* an IPv4 fragment after the first */
    uint8_t payload;  /* carries an L4 payload */
    uint16_t host;    /* country host number (country frames) */
};

/* One flow of the flows list (the proto scenario). */
struct gen_flowrec {
    uint8_t route;
    uint8_t label;
    uint8_t l4;
    uint16_t sport, dport;
    char src[GEN_ADDR_TEXT], dst[GEN_ADDR_TEXT];
    const char *host; /* NULL: none */
};

struct gen_expect;

/* New, empty truth for these options. Returns NULL when out of memory. */
struct gen_expect *gen_expect_new(const struct gen_opt *o);
void gen_expect_free(struct gen_expect *e);

/* Count one frame of wire bytes written at t_us (never earlier than the
 * previous one). Returns 0, or -1 when out of memory. */
int gen_expect_frame(struct gen_expect *e, const struct gen_acct *a, uint64_t t_us, uint32_t wire);

/* Frames counted so far. */
uint64_t gen_expect_packets(const struct gen_expect *e);

/* Add f to the flows list. Returns 0, or -1 when out of memory. */
int gen_expect_flow(struct gen_expect *e, const struct gen_flowrec *f);

/* Write the JSON object to f (the caller opens and closes it). end_s is the
 * end of the scenario in seconds since the epoch. Returns 0, or -1 if f
 * reports a write error. */
int gen_expect_write(const struct gen_expect *e, const struct gen_opt *o, uint64_t end_s, FILE *f);

#endif
