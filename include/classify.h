/* classify — nDPI's protocol label and host name for country flows.
 *
 * Pipeline stage 4b, beside the flow table; the only module that includes nDPI (Debian 12
 * ships 4.2: 5-argument ndpi_detection_process_packet, 4-argument ndpi_detection_giveup).
 * nDPI is initialised once. A flow gets an nDPI flow from a fixed pool at its first packet
 * that carries payload, is handed packets from the IP header on (with packet time) until
 * nDPI names the application or the give-up limit is reached, and then gives the nDPI flow
 * back. After detection it goes on (within the same limit) while nDPI says more packets
 * could refine the result, as ndpiReader does. Flows that never carried payload are
 * labelled by nDPI's port/address guess at the end. Under load (more new nDPI flows in a
 * second of packet time than the budget) new flows get that guess too, but for a sample
 * still inspected, and while load lasts (that second and the next) nDPI's first answer is
 * final (no packets after detection), so a flood of conversations cannot make the sensor
 * fall behind. The
 * label is the application protocol's id, or the master protocol's when the application
 * is unknown: the label ndpiReader lists under "Detected protocols". */
#ifndef BLACKOUT_CLASSIFY_H
#define BLACKOUT_CLASSIFY_H

#include "decode.h"
#include "flow.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct classify_config {
    uint32_t max_active; /* nDPI flows in use at once (pool size) */
    unsigned tcp_pkts;   /* payload packets of a TCP flow handed to nDPI before giving up */
    unsigned udp_pkts;   /* the same for UDP and other protocols */
    bool extra; /* keep dissecting after detection while nDPI wants more (within the limit) */
    unsigned extra_pkts; /* at most this many payload packets after detection */
    uint32_t budget;     /* new nDPI flows per second of packet time before shedding */
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

struct classify;

/* Initialises nDPI and the pool. Returns NULL with one line in err on failure. */
struct classify *classify_new(const struct classify_config *cfg, char *err, size_t errlen);
void classify_free(struct classify *c);

/* Hands one packet of flow f to nDPI when the flow is still being classified. */
void classify_packet(struct classify *c, struct flow *f, const struct decoded *d, int64_t now_us);

/* Makes the flow's label final (giving up with guessing if needed), copies the host name and
 * returns the nDPI flow to the pool. Safe to call more than once. */
void classify_done(struct classify *c, struct flow *f);

/* Number of label ids, and the name of one ("Unknown" for 0 and out-of-range ids). */
unsigned classify_nlabels(const struct classify *c);
const char *classify_name(const struct classify *c, uint16_t label);

const struct classify_stats *classify_stats(const struct classify *c);

#endif
