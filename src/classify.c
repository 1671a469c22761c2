/* classify — the nDPI seam. See classify.h. */
#include "classify.h"

#include <ndpi_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPPROTO_TCP_ 6

struct classify {
    struct ndpi_detection_module_struct *ndpi;
    struct classify_config cfg;
    uint8_t *pool; /* cfg.max_active nDPI flows, touched only as they are first used */
    size_t flow_size;
    uint32_t fresh; /* pool entries never used start here */
    uint32_t free1; /* recycled entries (index + 1), linked through their first bytes */
    unsigned nlabels;
    struct classify_stats stats;
    /* load shedding: new nDPI flows in the current second of packet time */
    int64_t sec;
    uint32_t started, sampled;
    int64_t over_sec; /* the last second of packet time whose new flows went over the budget */
};

#define SHED_CHECK 16 /* one flow in this many still goes to nDPI while shedding */

static struct ndpi_flow_struct *slot(struct classify *c, uint32_t idx1)
{
    return (struct ndpi_flow_struct *)(c->pool + (size_t)(idx1 - 1) * c->flow_size);
}

struct classify *classify_new(const struct classify_config *cfg, char *err, size_t errlen)
{
    NDPI_PROTOCOL_BITMASK all;

    struct classify *c = calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    c->cfg = *cfg;
    c->over_sec = INT64_MIN;
    c->flow_size = SIZEOF_FLOW_STRUCT;
    c->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
    if (!c->ndpi) {
        snprintf(err, errlen, "nDPI initialisation failed");
        goto err;
    }
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(c->ndpi, &all);
    ndpi_finalize_initialization(c->ndpi);
    c->nlabels = ndpi_get_num_supported_protocols(c->ndpi);
    c->pool = calloc(cfg->max_active ? cfg->max_active : 1, c->flow_size);
    if (!c->pool)
        goto nomem;
    return c;
nomem:
    snprintf(err, errlen, "out of memory for %u nDPI flows", cfg->max_active);
err:
    classify_free(c);
    return NULL;
}

void classify_free(struct classify *c)
{
    if (!c)
        return;
    free(c->pool);
    if (c->ndpi)
        ndpi_exit_detection_module(c->ndpi);
    free(c);
}

static uint32_t pool_get(struct classify *c)
{
    uint32_t idx1 = 0;

    if (c->free1) {
        idx1 = c->free1;
        memcpy(&c->free1, slot(c, idx1), sizeof c->free1);
    } else if (c->fresh < c->cfg.max_active) {
        idx1 = ++c->fresh;
    } else {
        return 0;
    }
    memset(slot(c, idx1), 0, c->flow_size);
    if (++c->stats.active > c->stats.peak)
        c->stats.peak = c->stats.active;
    return idx1;
}

static void pool_put(struct classify *c, uint32_t idx1)
{
    struct ndpi_flow_struct *nf = slot(c, idx1);
    ndpi_free_flow_data(nf);
    memset(nf, 0, c->flow_size);
    memcpy(nf, &c->free1, sizeof c->free1);
    c->free1 = idx1;
    c->stats.active--;
}

static uint16_t label_of(const struct classify *c, ndpi_protocol p)
{
    uint16_t id = p.app_protocol != NDPI_PROTOCOL_UNKNOWN ? p.app_protocol : p.master_protocol;
    return id < c->nlabels ? id : NDPI_PROTOCOL_UNKNOWN;
}

static void guess(struct classify *c, struct flow *f);

/* Over the --dpi-budget of new nDPI flows in this second of packet time, a new flow is
 * labelled by nDPI's port/address guess instead of inspection (one in SHED_CHECK is still
 * inspected), so a flood of conversations cannot make the sensor fall behind. Returns true
 * when the flow was labelled so. */
static bool shed(struct classify *c, struct flow *f, int64_t now_us)
{
    int64_t sec = now_us / 1000000;

    if (sec != c->sec) {
        c->sec = sec;
        c->started = 0;
    }
    if (c->cfg.budget == 0 || c->started++ < c->cfg.budget)
        return false;
    c->over_sec = sec;
    if (++c->sampled % SHED_CHECK == 0)
        return false;
    guess(c, f);
    c->stats.shed++;
    return true;
}

/* Keeps the host name and returns the nDPI flow to the pool; the label is final. */
static void finish(struct classify *c, struct flow *f)
{
    struct ndpi_flow_struct *nf = slot(c, f->cls);
    size_t n = strnlen(nf->host_server_name, sizeof nf->host_server_name);

    if (n >= sizeof f->host)
        n = sizeof f->host - 1;
    memcpy(f->host, nf->host_server_name, n);
    f->host[n] = '\0';
    pool_put(c, f->cls);
    f->cls = 0;
    f->flags |= FLOW_CLASSIFIED;
}

/* Under load (this second of packet time or the one before went over the budget), nDPI's
 * first answer is final: no packets after detection. They would only refine a label most
 * flows already have, at a cost that is as high as the detection's (a TLS server hello and
 * certificate cost more than the client hello). A second over the budget later in packet
 * time than now (files given out of order, a clock stepped back) is not load now. */
static bool loaded(const struct classify *c, int64_t now_us)
{
    int64_t sec = now_us / 1000000;

    return c->cfg.budget && (c->over_sec == sec || c->over_sec == sec - 1);
}

static void give_up(struct classify *c, struct flow *f)
{
    uint8_t guessed = 0;
    ndpi_protocol p = ndpi_detection_giveup(c->ndpi, slot(c, f->cls), 1, &guessed);
    f->label = label_of(c, p);
    c->stats.gaveup++;
    finish(c, f);
}

void classify_packet(struct classify *c, struct flow *f, const struct decoded *d, int64_t now_us)
{
    if (f->flags & (FLOW_CLASSIFIED | FLOW_NO_DPI))
        return;
    if (!f->cls) {
        if (d->payload_len == 0 || d->later_frag || shed(c, f, now_us))
            return;
        f->cls = pool_get(c);
        if (!f->cls) {
            c->stats.refused++;
            f->flags |= FLOW_NO_DPI;
            return;
        }
    }
    if (d->payload_len == 0 || d->later_frag || d->l3_len == 0)
        return;
    if ((f->flags & FLOW_DETECTED) && loaded(c, now_us)) {
        finish(c, f);
        return;
    }
    unsigned limit = d->l4_proto == IPPROTO_TCP_ ? c->cfg.tcp_pkts : c->cfg.udp_pkts;
    uint16_t len = d->l3_len > 0xffff ? 0xffff : (uint16_t)d->l3_len;
    struct ndpi_flow_struct *nf = slot(c, f->cls);
    ndpi_protocol p =
        ndpi_detection_process_packet(c->ndpi, nf, d->l3, len, (uint64_t)(now_us / 1000));
    c->stats.packets++;
    f->cls_pkts++;
    if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN) {
        f->label = label_of(c, p);
        if (!(f->flags & FLOW_DETECTED)) {
            c->stats.detected++;
            f->cls_found = f->cls_pkts;
        }
        f->flags |= FLOW_DETECTED;
        if (!c->cfg.extra || f->cls_pkts >= limit ||
            (unsigned)(f->cls_pkts - f->cls_found) >= c->cfg.extra_pkts || loaded(c, now_us) ||
            !ndpi_extra_dissection_possible(c->ndpi, nf))
            finish(c, f);
        return;
    }
    if (f->cls_pkts >= limit)
        give_up(c, f);
}

static uint32_t v4_of(const uint8_t a[16])
{
    return (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
}

/* A flow that never reached nDPI: nDPI's guess from protocol, ports and IPv4 addresses. */
static void guess(struct classify *c, struct flow *f)
{
    bool a_first = (f->flags & FLOW_SRC_IS_A) != 0;
    const uint8_t *s = a_first ? f->key.a : f->key.b, *d = a_first ? f->key.b : f->key.a;
    uint16_t sp = a_first ? f->key.pa : f->key.pb, dp = a_first ? f->key.pb : f->key.pa;
    bool v4 = f->key.ip_version == 4;

    ndpi_protocol p = ndpi_guess_undetected_protocol(c->ndpi, NULL, f->key.proto, v4 ? v4_of(s) : 0,
                                                     sp, v4 ? v4_of(d) : 0, dp);
    f->label = label_of(c, p);
    f->flags |= FLOW_CLASSIFIED;
    c->stats.guessed++;
}

void classify_done(struct classify *c, struct flow *f)
{
    if (f->flags & FLOW_CLASSIFIED)
        return;
    if (!f->cls)
        guess(c, f);
    else if (f->flags & FLOW_DETECTED)
        finish(c, f);
    else
        give_up(c, f);
}

unsigned classify_nlabels(const struct classify *c)
{
    return c->nlabels;
}

const char *classify_name(const struct classify *c, uint16_t label)
{
    const char *n = label < c->nlabels ? ndpi_get_proto_name(c->ndpi, label) : NULL;
    return n ? n : "Unknown";
}

const struct classify_stats *classify_stats(const struct classify *c)
{
    return &c->stats;
}
