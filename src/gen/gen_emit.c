/* gen_emit — packets to frames to the capture. See gen_emit.h. */
#include "gen_emit.h"

#include <stdio.h>
#include <string.h>

void gen_emit_init(struct gen_emit *em, const struct gen_opt *o, struct gen_pcap *out,
                   struct gen_expect *exp)
{
    memset(em, 0, sizeof(*em));
    em->o = o;
    em->fcfg.link = o->link;
    em->fcfg.mark = o->mark;
    em->out = out;
    em->exp = exp;
    gen_rng_seed(&em->rng, gen_mix64(o->seed ^ 0x656e636170ULL));
}

/* Pick an extra encapsulation for ~5% of country packets (--encap-mix). */
static void emit_encap(struct gen_emit *em, struct gen_pkt *p)
{
    static const uint16_t frag_data[3] = {552, 984, 1256}; /* MTU 576, 1006, 1280 */
    struct gen_rng *r = &em->rng;
    int eth = em->o->link == GEN_LINK_ETH;
    int v4 = !p->src->v6;
    size_t l4 = p->l4 == 6 ? 20u + ((p->flags & GEN_TH_SYN) ? 12u : 0u) : p->l4 == 17 ? 8u : 0u;
    size_t iplen = (v4 ? 20u : 40u) + l4 + p->len;
    size_t l2 = 14 + ((em->o->mark & GEN_MARK_VLAN) ? 4u : 0u);
    enum gen_encap cand[5];
    int n = 0;

    if (gen_rng_unit(r) >= 0.05)
        return;
    if (eth && (em->o->mark & GEN_MARK_VLAN))
        cand[n++] = GEN_ENC_QINQ;
    if (eth)
        cand[n++] = GEN_ENC_MPLS;
    if (v4 && iplen + 12 <= 1500)
        cand[n++] = GEN_ENC_IPOPT;
    if (v4 && iplen > 1000)
        cand[n++] = GEN_ENC_FRAG;
    if (eth && l2 + iplen < 60)
        cand[n++] = GEN_ENC_PAD;
    if (n == 0)
        return;
    p->encap = cand[gen_rng_below(r, (uint32_t)n)];
    p->qinq_ad = (uint8_t)gen_rng_below(r, 2);
    p->inner_vlan = (uint16_t)gen_rng_range(r, 200, 299);
    p->mpls[0] = gen_rng_range(r, 16, 0xfffff);
    p->mpls[1] = gen_rng_range(r, 16, 0xfffff);
    p->ipopt_rr = (uint8_t)gen_rng_below(r, 2);
    p->frag_data = frag_data[gen_rng_below(r, 3)];
    if (p->encap == GEN_ENC_FRAG)
        p->df = 0;
}

/* The frame of datagram ip (in the --wrap tunnel, if any) into em->frame; *wire: its
 * length, *counted: its bare twin's. Returns 0, or -1 with err filled. */
static int emit_frame(struct gen_emit *em, const struct gen_pkt *p, const uint8_t *ip, size_t iplen,
                      size_t *wire, size_t *counted, char *err, size_t errlen)
{
    struct gen_pkt q = *p;
    size_t n = iplen;

    if (gen_wrap_is_tunnel(em->o->wrap)) {
        n = gen_wrap_tunnel(em->o->wrap, em->wrapped, p->from_router, ip, iplen, em->tunnel,
                            sizeof(em->tunnel));
        q.wrap_hdrs = (uint16_t)(n - iplen);
        ip = em->tunnel;
    }
    *wire = n == 0 ? 0 : gen_frame_link(&em->fcfg, &q, ip, n, em->frame, GEN_FRAME_MAX);
    if (*wire == 0) {
        snprintf(err, errlen, "internal error: frame too large");
        return -1;
    }
    *counted = *wire - q.wrap_hdrs;
    return 0;
}

static int emit_write(struct gen_emit *em, const struct gen_pkt *p, const uint8_t *ip, size_t iplen,
                      const struct gen_acct *a, uint64_t t, char *err, size_t errlen)
{
    const uint8_t *out = em->frame;
    size_t n, counted;
    uint64_t rel_s = (t - em->o->start * 1000000ULL) / 1000000ULL;

    if (em->o->only_to != 0 && (rel_s < em->o->only_from || rel_s >= em->o->only_to))
        return 0; /* --only: another part of the scenario */
    if (emit_frame(em, p, ip, iplen, &n, &counted, err, errlen) < 0)
        return -1;
    if (em->o->wrap != GEN_WRAP_NONE && !gen_wrap_is_tunnel(em->o->wrap)) {
        n = gen_wrap_mirror(em->o->wrap, em->wrapped, p->route, em->frame, n, em->mirror,
                            sizeof(em->mirror));
        out = em->mirror;
    }
    em->wrapped++;
    if (gen_pcap_write(em->out, t, out, (uint32_t)n) < 0) {
        snprintf(err, errlen, "writing the capture: %s", gen_pcap_strerror(em->out));
        return -1;
    }
    if (gen_expect_frame(em->exp, a, t, (uint32_t)counted) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    em->last_t = t;
    if (em->o->max_packets != 0 && gen_expect_packets(em->exp) >= em->o->max_packets)
        em->full = 1;
    return 0;
}

int gen_emit_packet(struct gen_emit *em, struct gen_pkt *p, struct gen_acct *a, uint64_t t,
                    char *err, size_t errlen)
{
    size_t iplen;
    int n = 1;

    if (a->kind != GEN_K_CTL && em->o->encap_mix)
        emit_encap(em, p);
    iplen = gen_frame_ip(p, em->ip, sizeof(em->ip));
    if (iplen == 0) {
        snprintf(err, errlen, "internal error: datagram too large");
        return -1;
    }
    if (p->encap == GEN_ENC_FRAG)
        n = gen_frame_nfrags(em->ip, iplen, p->frag_data);
    if (n == 1)
        return emit_write(em, p, em->ip, iplen, a, t, err, errlen);
    for (int k = 0; k < n && !em->full; k++) {
        size_t fl = gen_frame_frag(em->ip, iplen, p->frag_data, k, em->frag, sizeof(em->frag));
        a->frag = k > 0;
        if (emit_write(em, p, em->frag, fl, a, t, err, errlen) < 0)
            return -1;
        a->new_flow = 0;
    }
    return 0;
}
