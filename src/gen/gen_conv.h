/* gen_conv — one conversation: a bidirectional flow between an outside host
 * and a country host (or two outside hosts for background traffic), with a
 * script of packets built up front (TCP handshake, application payloads,
 * teardown; realistic gaps of a few ms), then played one step at a time by
 * the scheduler. The conversation owns its payload bytes. */
#ifndef GEN_CONV_H
#define GEN_CONV_H

#include <stdint.h>

#include "gen_frame.h"
#include "gen_net.h"
#include "gen_rng.h"

/* Labels nDPI gives these conversations (ndpiReader "Detected protocols"). */
enum gen_label { GEN_L_DNS, GEN_L_HTTP, GEN_L_TLS, GEN_L_SMTP, GEN_L_ICMP, GEN_L_ICMPV6, GEN_L_N };
extern const char *const gen_label_names[GEN_L_N];

#define GEN_MAX_STEPS 40
#define GEN_CONV_BUF  12288

struct gen_step {
    uint32_t gap_us; /* after the previous step */
    uint16_t off, len;
    uint8_t from_resp;
    uint8_t flags;
    uint8_t retx; /* a retransmission: the sequence number does not advance */
};

/* What to build. */
struct gen_conv_plan {
    enum gen_label label; /* ICMP becomes ICMPV6 over IPv6 */
    int v6;
    int country;      /* 0: background between two outside hosts */
    int country_init; /* the country host opens the conversation */
    int unanswered;   /* only the opener's packets, with retries */
    int syn_only;     /* one spoofed SYN (floods) */
    unsigned host;    /* country host number */
    unsigned name;    /* index into gen_app_names */
    uint64_t t_us;    /* time of the first packet */
};

struct gen_conv {
    struct gen_conv *next_free;
    struct gen_rng rng;
    struct gen_addr addr[2]; /* [0] opener, [1] responder */
    uint16_t port[2];
    uint32_t seq[2];
    uint16_t ipid[2];
    uint8_t ttl[2];
    uint32_t rtt[2]; /* observer <-> side i round trip, microseconds */
    uint32_t flowlabel;
    uint8_t l4;
    uint8_t label;
    uint8_t route;
    uint8_t country;
    uint8_t ctry_side; /* side of the country host */
    uint8_t far_side;  /* side whose frames come from the router */
    uint8_t bare_syn;
    uint8_t counted; /* its first country packet has been written */
    uint8_t nsteps, next;
    uint16_t host;
    uint16_t used;
    struct gen_step st[GEN_MAX_STEPS];
    uint8_t buf[GEN_CONV_BUF];
};

/* Choose addresses, ports, sequence numbers and RTTs from c->rng. */
void gen_conv_endpoints(struct gen_conv *c, const struct gen_conv_plan *p,
                        const struct gen_v6prefix *v6);

/* Draw another client port (another outside address for ICMP), after the
 * 5-tuple was found taken. */
void gen_conv_redraw(struct gen_conv *c, const struct gen_v6prefix *v6);

/* Fingerprint of the direction-free 5-tuple (ICMP: addresses only). */
uint64_t gen_conv_key(const struct gen_conv *c);

/* Build the script. Returns 0, or -1 if a payload did not fit (a bug). */
int gen_conv_script(struct gen_conv *c, const struct gen_conv_plan *p,
                    const struct gen_v6prefix *v6);

/* Fill pkt with the next step and advance (addresses and payload point
 * into c). Returns 0, or -1 when the script is over. */
int gen_conv_next(struct gen_conv *c, struct gen_pkt *pkt);

/* 1 and the gap before the next step if there is one, else 0. */
int gen_conv_more(const struct gen_conv *c, uint32_t *gap_us);

#endif
