/* gen_emit — the last stage of blackout-gen: one packet becomes frames in
 * the capture. Chooses the extra encapsulation of a country packet
 * (--encap-mix), builds the datagram, fragments it when asked, wraps it in
 * the link header (and in the --wrap tunnel or mirror transport), writes
 * each frame and counts it in the expect truth as its bare twin. Stops
 * writing once the --packets cap is reached; with --only, writes (and
 * counts) only the frames of that part of the scenario. */
#ifndef GEN_EMIT_H
#define GEN_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "gen_expect.h"
#include "gen_frame.h"
#include "gen_opt.h"
#include "gen_pcap.h"
#include "gen_rng.h"
#include "gen_wrap.h"

struct gen_emit {
    const struct gen_opt *o;
    struct gen_frame_cfg fcfg;
    struct gen_pcap *out;   /* not owned */
    struct gen_expect *exp; /* not owned */
    struct gen_rng rng;     /* encapsulation choices */
    uint64_t last_t;        /* time of the last frame written */
    int full;               /* the packet cap is reached */
    uint64_t wrapped;       /* frames wrapped so far (--wrap takes turns through variants) */
    uint8_t ip[GEN_FRAME_MAX], frag[GEN_FRAME_MAX], frame[GEN_FRAME_MAX];
    uint8_t tunnel[GEN_FRAME_MAX + GEN_WRAP_MAX], mirror[GEN_FRAME_MAX + GEN_WRAP_MAX];
};

/* Set up em to write to out and count into exp. */
void gen_emit_init(struct gen_emit *em, const struct gen_opt *o, struct gen_pcap *out,
                   struct gen_expect *exp);

/* Write packet p at time t as one frame, or several IPv4 fragments, each
 * counted as a (route, kind) says; a->new_flow is cleared after the first.
 * Returns 0, or -1 with err filled (write error, out of memory, a frame
 * too large: a bug). */
int gen_emit_packet(struct gen_emit *em, struct gen_pkt *p, struct gen_acct *a, uint64_t t,
                    char *err, size_t errlen);

#endif
