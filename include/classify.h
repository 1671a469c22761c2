/* classify — nDPI's protocol label and host name for country flows.
 *
 * Pipeline stage 4b, beside the flow table; the only module that includes nDPI (Debian 12
 * ships 4.2: 5-argument ndpi_detection_process_packet, 4-argument ndpi_detection_giveup).
 * nDPI is initialised once and runs on a thread of its own (the classifier), so inspection
 * overlaps the rest of the per-packet path on a second core; with one CPU the caller's
 * thread does the classifier's work itself as each piece is handed over. The packet path hands it
 * work through a ring, in packet order: copies of the packets a flow still needs inspected, and at
 * a flow's end a request for its final label, answered later (classify_end, then classify_ready or
 * classify_wait). Everything the classifier decides depends only on what it was handed and in which
 * order, never on timing: the labels are those of inspecting each packet as it comes.
 *
 * A flow gets an nDPI flow from a fixed pool at its first packet that carries payload, is
 * inspected from the IP header on (with packet time) until nDPI names the application or
 * the give-up limit is reached, and then gives the nDPI flow back. After detection it goes
 * on (within the same limit) while nDPI says more packets could refine the result, as
 * ndpiReader does. Flows that never carried payload are labelled by nDPI's port/address
 * guess at the end. Under load (more new nDPI flows in a second of packet time than the
 * budget) new flows get that guess too, but for a sample still inspected, and while load
 * lasts (that second and the next) nDPI's first answer is final (no packets after
 * detection), so a flood of conversations cannot make the sensor fall behind. The label is
 * the application protocol's id, or the master protocol's when the application is unknown:
 * the label ndpiReader lists under "Detected protocols". */
#ifndef BLACKOUT_CLASSIFY_H
#define BLACKOUT_CLASSIFY_H

#include "decode.h"
#include "flow.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct classify_config {
    uint32_t max_active; /* flows being classified at once (the flow table's size) */
    unsigned tcp_pkts;   /* payload packets of a TCP flow handed to nDPI before giving up */
    unsigned udp_pkts;   /* the same for UDP and other protocols */
    bool extra; /* keep dissecting after detection while nDPI wants more (within the limit) */
    unsigned extra_pkts; /* at most this many payload packets after detection */
    uint32_t budget;     /* new nDPI flows per second of packet time before shedding */
    bool one_thread;     /* classify in the caller's thread (as with one CPU) */
};

struct classify_stats {
    uint64_t packets;  /* packets handed to nDPI */
    uint64_t detected; /* flows nDPI named by inspection */
    uint64_t gaveup;   /* flows that reached the give-up limit or ended first */
    uint64_t guessed;  /* flows labelled by port/address guess only */
    uint64_t refused;  /* flows that found the nDPI pool full */
    uint64_t shed;     /* flows labelled by guess under load (also counted in guessed) */
    uint32_t active, peak;
};

/* A flow's final label and host name, written by the classifier. */
struct classify_result {
    uint16_t label;
    char host[FLOW_HOST_MAX];
};

struct classify;

/* Initialises nDPI and the pool and starts the classifier. Returns NULL with one line in err
 * on failure. */
struct classify *classify_new(const struct classify_config *cfg, char *err, size_t errlen);

/* Stops the classifier (after the work handed to it) and frees everything. */
void classify_free(struct classify *c);

/* Hands one packet of flow f to nDPI when the flow is still being classified. */
void classify_packet(struct classify *c, struct flow *f, const struct decoded *d, int64_t now_us);

/* The flow ends (or is exported): its label becomes final (giving up with guessing if
 * needed). Returns 0 when *out is filled already, else a ticket: *out (which must stay in
 * place) is filled once classify_ready says so. Afterwards f is marked FLOW_CLASSIFIED and
 * later calls answer at once with f->label and f->host, which the caller fills from *out. */
uint64_t classify_end(struct classify *c, struct flow *f, struct classify_result *out);

/* Is the answer of a ticket there (without waiting)? */
bool classify_ready(struct classify *c, uint64_t ticket);

/* Waits for the answer of a ticket. */
void classify_wait(struct classify *c, uint64_t ticket);

/* Waits until everything handed to the classifier is done. */
void classify_sync(struct classify *c);

/* classify_end and its answer at once, into f->label and f->host. Safe to call more than
 * once. */
void classify_done(struct classify *c, struct flow *f);

/* What the classifier knows of flow f now (after classify_sync): CLASSIFY_DETECTED (named by
 * inspection), CLASSIFY_FINAL (the label is final), with the label so far in *label. */
enum { CLASSIFY_DETECTED = 1, CLASSIFY_FINAL = 2 };
unsigned classify_peek(struct classify *c, const struct flow *f, uint16_t *label);

/* Number of label ids, and the name of one ("Unknown" for 0 and out-of-range ids). */
unsigned classify_nlabels(const struct classify *c);
const char *classify_name(const struct classify *c, uint16_t label);

/* The counters, once everything handed over is done. */
const struct classify_stats *classify_stats(struct classify *c);

#endif
