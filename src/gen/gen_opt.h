/* gen_opt — the command line of blackout-gen: scenario presets, the options
 * table (which also prints --help), and the time windows (outages,
 * failovers, blind periods, rate changes, SYN floods) that shape traffic.
 *
 * Parsing applies the scenario's preset first, then every option, so the
 * options override. The struct is filled by gen_opt_parse and then only read. */
#ifndef GEN_OPT_H
#define GEN_OPT_H

#include <stddef.h>
#include <stdint.h>

#include "gen_net.h"
#include "gen_window.h"
#include "gen_wrap.h"

enum gen_link {
    GEN_LINK_ETH,
    GEN_LINK_SLL,
    GEN_LINK_SLL2,
    GEN_LINK_RAW,
    GEN_LINK_NULL,
    GEN_LINK_LOOP
};

/* How a route is marked at layer 2 (bit set). */
enum gen_mark { GEN_MARK_NONE = 0, GEN_MARK_VLAN = 1, GEN_MARK_MAC = 2, GEN_MARK_BOTH = 3 };

enum gen_profile { GEN_PROF_FLAT, GEN_PROF_DECLINE, GEN_PROF_DIURNAL };

/* Conversation mixes: full = every protocol; light = DNS and ICMP only
 * (small long captures); flood = full plus lone spoofed SYNs; proto = one
 * of each. */
enum gen_mix { GEN_MIX_FULL, GEN_MIX_LIGHT, GEN_MIX_FLOOD, GEN_MIX_PROTO };

struct gen_opt {
    const char *scenario;
    const char *out;    /* "-" = stdout */
    const char *expect; /* NULL = derived from out */
    uint64_t seed;
    uint64_t start;
    uint32_t duration;
    int routes;
    enum gen_mark mark;
    double rate, bg;
    enum gen_link link;
    int pcapng;
    uint32_t snaplen; /* 0 = keep whole frames */
    int encap_mix;
    enum gen_wrap wrap; /* mirror transport or tunnel around every frame (--wrap) */
    struct gen_v6prefix v6;
    uint32_t bin;
    int no_bins;
    uint64_t max_packets; /* 0 = no cap */
    uint64_t max_flows;   /* country conversations, 0 = no cap */
    enum gen_profile profile;
    double day_hi, day_amp;      /* diurnal: rate factor hi + amp·cos(...), trough hi - amp */
    double sessions;             /* Pareto shape of conversations per country session, 0: none */
    uint32_t only_from, only_to; /* write only frames in [from, to) s after start (to 0: all) */
    enum gen_mix mix;
    struct gen_windows win;
};

/* Fill o from argv. Returns 0 to run, 1 when --help was printed (exit 0),
 * -1 on a usage error with one line of text in err (exit 2). */
int gen_opt_parse(struct gen_opt *o, int argc, char **argv, char *err, size_t errlen);

/* Names used in the expect file. */
const char *gen_opt_link_name(enum gen_link l);
const char *gen_opt_mark_name(enum gen_mark m);

/* pcap LINKTYPE_ value of the link. */
uint32_t gen_opt_linktype(enum gen_link l);

/* The marks a sensor can actually see with this link type. */
enum gen_mark gen_opt_effective_mark(const struct gen_opt *o);

#endif
