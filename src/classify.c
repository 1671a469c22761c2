/* classify — the nDPI seam, on a thread of its own. See classify.h.
 *
 * Two sides. The packet path (the caller's thread) decides which packets a flow hands over
 * (its first payload packet decides shedding, the give-up limit stops it) and copies them
 * into a ring with what the classifier needs to decide as if it ran inline: the packet time
 * and whether the sensor was under load then. The classifier (its thread) owns nDPI, the
 * pool of nDPI flows and a state per flow id, and answers a flow's end by writing the label
 * into the caller's result. A flow id is the packet path's: taken at the flow's first
 * payload packet, given back at its end (the end is in the ring before any later use of the
 * id). The classifier tells the packet path when a flow needs no more packets (a hint only:
 * the classifier ignores what comes after anyway), by the id's generation, so a hint about
 * an id's earlier flow is never taken for its present one. */
#include "classify.h"

#include <ndpi_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPPROTO_TCP_ 6

#define SHED_CHECK 16                /* one flow in this many still goes to nDPI while shedding */
#define RING_BYTES ((size_t)4 << 20) /* packets in flight to the classifier (a power of 2) */
#define SPINS      512               /* polls before a side sleeps (with a second CPU) */
#define BATCH      32                /* items the classifier does between telling its progress */

enum item_type { ITEM_PAD, ITEM_PKT, ITEM_GUESS, ITEM_END, ITEM_STOP };

/* One piece of work in the ring: a header, then (ITEM_PKT) the packet from its IP header. */
struct item {
    uint32_t size; /* bytes, header and packet, a multiple of 8 */
    uint8_t type;
    uint8_t loaded;   /* PKT: the sensor was under load at the packet */
    uint8_t l4_proto; /* PKT: for the give-up limit; GUESS, END: for the guess */
    uint8_t v4;       /* GUESS, END: the addresses are IPv4 */
    uint32_t id;      /* the flow's id (0: END of a flow that never had one) */
    uint32_t gen;     /* PKT: the id's generation, for the hint */
    uint32_t len;     /* PKT: bytes of the packet that follow (0: take an nDPI flow only) */
    uint16_t sport, dport;
    uint32_t saddr, daddr;
    int64_t now_us;
    struct classify_result *out; /* END: where the answer goes */
};

#define ITEM_ALIGN 8u

/* The classifier's state of a flow id. */
struct wflow {
    uint32_t slot; /* nDPI flow (pool index + 1), 0 = none */
    uint16_t label;
    uint16_t pkts;  /* packets inspected */
    uint16_t found; /* pkts when the application was named */
    uint8_t flags;  /* W_* */
    char host[FLOW_HOST_MAX];
};

enum { W_DETECTED = 1, W_FINAL = 2, W_NO_DPI = 4 };

struct classify {
    struct ndpi_detection_module_struct *ndpi;
    struct classify_config cfg;
    unsigned nlabels;
    struct classify_stats stats; /* shed: the packet path's; the rest the classifier's */
    uint64_t refused_ids;        /* flows the packet path found no id for */
    struct classify_stats view;  /* what classify_stats shows */

    /* the packet path's side */
    int64_t sec; /* load shedding: new nDPI flows in the current second of packet time */
    uint32_t started, sampled;
    int64_t over_sec; /* the last second of packet time whose new flows went over the budget */
    uint32_t *free_ids, nfree, fresh_id;
    uint32_t *gen;      /* [id]: generation of the id's present flow */
    uint64_t head;      /* ring bytes written */
    uint64_t tail_seen; /* the classifier's tail when last read (it only grows) */
    uint64_t queued;    /* items handed over (the last ticket) */

    /* the ring */
    uint8_t *ring;
    alignas(64) _Atomic uint64_t ring_head; /* bytes published by the packet path */
    alignas(64) _Atomic uint64_t ring_tail; /* bytes the classifier is done with */
    _Atomic uint64_t done;                  /* items the classifier is done with */
    _Atomic uint32_t *final;                /* [id]: the generation the classifier finished */
    alignas(64) _Atomic int worker_sleeps, path_sleeps;
    _Atomic uint64_t want_tail, want_done; /* what the sleeping packet path waits for */
    pthread_mutex_t mu;
    pthread_cond_t work, answered;
    pthread_t thread;
    bool begun;    /* the classifier runs: on its thread, or in the packet path's */
    bool threaded; /* on a thread of its own (the process has a second CPU) */

    /* the classifier's side */
    uint8_t *pool; /* cfg.max_active nDPI flows, touched only as they are first used */
    size_t flow_size;
    uint32_t fresh; /* pool entries never used start here */
    uint32_t free1; /* recycled entries (index + 1), linked through their first bytes */
    struct wflow *w;
    uint32_t wcap;
    uint64_t wtail, wdone; /* ring bytes and items it is done with */
};

static void *classifier(void *arg);
static bool work(struct classify *c, uint64_t head);

static struct ndpi_flow_struct *slot(struct classify *c, uint32_t idx1)
{
    return (struct ndpi_flow_struct *)(c->pool + (size_t)(idx1 - 1) * c->flow_size);
}

struct classify *classify_new(const struct classify_config *cfg, char *err, size_t errlen)
{
    NDPI_PROTOCOL_BITMASK all;
    size_t n;

    struct classify *c = calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    c->cfg = *cfg;
    if (!c->cfg.max_active)
        c->cfg.max_active = 1;
    n = (size_t)c->cfg.max_active + 1;
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
    cpu_set_t cpus;
    c->threaded = !cfg->one_thread &&
                  !(sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) < 2);
    c->pool = calloc(c->cfg.max_active, c->flow_size);
    c->free_ids = calloc(n, sizeof *c->free_ids);
    c->gen = calloc(n, sizeof *c->gen);
    c->final = calloc(n, sizeof *c->final);
    c->ring = malloc(RING_BYTES);
    if (!c->pool || !c->free_ids || !c->gen || !c->final || !c->ring)
        goto nomem;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->work, NULL);
    pthread_cond_init(&c->answered, NULL);
    if (c->threaded && pthread_create(&c->thread, NULL, classifier, c) != 0) {
        snprintf(err, errlen, "cannot start the classifier thread");
        goto err;
    }
    c->begun = true;
    if (c->threaded)
        pthread_setname_np(c->thread, "bo-classify"); /* as top -H and perf show it */
    return c;
nomem:
    snprintf(err, errlen, "out of memory for %u nDPI flows", cfg->max_active);
err:
    classify_free(c);
    return NULL;
}

/* ---- the ring ---- */

/* After publishing progress: wakes the other side if it sleeps. The progress is stored
 * before the flag is read, and a side going to sleep sets its flag before reading the
 * progress (both fenced), so one of the two sees the other: no wake-up is lost; and the
 * signal is given under the lock the sleeper tests under. */
static void wake(struct classify *c, _Atomic int *sleeps, pthread_cond_t *cv)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load(sleeps)) {
        pthread_mutex_lock(&c->mu);
        pthread_cond_signal(cv);
        pthread_mutex_unlock(&c->mu);
    }
}

/* The packet path waits (polling a while, then asleep) until the classifier's tail reaches
 * want_tail and its count of answers want_done; the classifier wakes it only then, so a
 * full ring is not refilled one item per wake-up. */
static bool path_ready(struct classify *c, uint64_t want_tail, uint64_t want_done)
{
    return atomic_load_explicit(&c->ring_tail, memory_order_acquire) >= want_tail &&
           atomic_load_explicit(&c->done, memory_order_acquire) >= want_done;
}

static void path_wait(struct classify *c, uint64_t want_tail, uint64_t want_done)
{
    for (unsigned i = 0; i < SPINS; i++) {
        if (path_ready(c, want_tail, want_done))
            return;
        __builtin_ia32_pause();
    }
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->want_tail, want_tail);
    atomic_store(&c->want_done, want_done);
    atomic_store(&c->path_sleeps, 1);
    atomic_thread_fence(memory_order_seq_cst); /* the flag before the test: see wake */
    while (!path_ready(c, want_tail, want_done))
        pthread_cond_wait(&c->answered, &c->mu);
    atomic_store(&c->path_sleeps, 0);
    pthread_mutex_unlock(&c->mu);
}

/* Waits for `need` free bytes at the ring's head: when there are none, for a quarter of the
 * ring (or need, if more). */
static void wait_room(struct classify *c, size_t need)
{
    if (c->head + need - c->tail_seen <= RING_BYTES) /* the tail as last read: no traffic */
        return;
    c->tail_seen = atomic_load_explicit(&c->ring_tail, memory_order_acquire);
    if (c->head + need - c->tail_seen <= RING_BYTES)
        return;
    size_t want = need > RING_BYTES / 4 ? need : RING_BYTES / 4;
    path_wait(c, c->head + want - RING_BYTES, 0);
    c->tail_seen = atomic_load_explicit(&c->ring_tail, memory_order_acquire);
}

/* Room for an item of `bytes` bytes (header included) at the ring's head, contiguous. */
static struct item *reserve(struct classify *c, size_t bytes)
{
    size_t size = (bytes + ITEM_ALIGN - 1) & ~(size_t)(ITEM_ALIGN - 1);
    size_t off = (size_t)(c->head & (RING_BYTES - 1));

    if (RING_BYTES - off < size) { /* the rest of the ring is skipped */
        size_t pad = RING_BYTES - off;
        wait_room(c, pad);
        struct item *p = (struct item *)(c->ring + off);
        p->size = (uint32_t)pad;
        p->type = ITEM_PAD;
        c->head += pad;
        off = 0;
    }
    wait_room(c, size);
    struct item *it = (struct item *)(c->ring + off);
    memset(it, 0, sizeof *it);
    it->size = (uint32_t)size;
    return it;
}

/* Publishes the item reserve returned. Returns its ticket. */
static uint64_t publish(struct classify *c, struct item *it)
{
    c->head += it->size;
    atomic_store(&c->ring_head, c->head);
    if (c->threaded)
        wake(c, &c->worker_sleeps, &c->work);
    else /* one CPU: the packet path is the classifier, at once */
        work(c, c->head);
    return ++c->queued;
}

static bool has_work(struct classify *c, uint64_t tail)
{
    return atomic_load_explicit(&c->ring_head, memory_order_acquire) != tail;
}

static void worker_wait(struct classify *c, uint64_t tail)
{
    for (unsigned i = 0; i < SPINS; i++) {
        if (has_work(c, tail))
            return;
        __builtin_ia32_pause();
    }
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->worker_sleeps, 1);
    atomic_thread_fence(memory_order_seq_cst);
    while (!has_work(c, tail))
        pthread_cond_wait(&c->work, &c->mu);
    atomic_store(&c->worker_sleeps, 0);
    pthread_mutex_unlock(&c->mu);
}

/* The classifier's last act: what it allocated freed on its own thread, the flow states
 * before nDPI (freeing a large block after nDPI's many small ones would have the allocator
 * sort those first), with the nDPI flows of flows that never ended (an error path). */
static void stop_ndpi(struct classify *c)
{
    for (uint32_t id = 1; id < c->wcap; id++)
        if (c->w[id].slot)
            ndpi_free_flow_data(slot(c, c->w[id].slot));
    free(c->w);
    c->w = NULL;
    c->wcap = 0;
    if (c->ndpi)
        ndpi_exit_detection_module(c->ndpi);
    c->ndpi = NULL;
}

void classify_free(struct classify *c)
{
    if (!c)
        return;
    if (c->begun) {
        struct item *it = reserve(c, sizeof *it);
        it->type = ITEM_STOP;
        publish(c, it);
        if (c->threaded)
            pthread_join(c->thread, NULL);
        pthread_cond_destroy(&c->work);
        pthread_cond_destroy(&c->answered);
        pthread_mutex_destroy(&c->mu);
    } else { /* no classifier to do it */
        stop_ndpi(c);
    }
    free(c->ring);
    free((void *)c->final);
    free(c->gen);
    free(c->free_ids);
    free(c->pool);
    free(c);
}

/* ---- the packet path's side ---- */

/* Over the --dpi-budget of new nDPI flows in this second of packet time, a new flow is
 * labelled by nDPI's port/address guess instead of inspection (one in SHED_CHECK is still
 * inspected), so a flood of conversations cannot make the sensor fall behind. Returns true
 * when the flow is to be labelled so. */
static bool shed(struct classify *c, int64_t now_us)
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
    c->stats.shed++;
    return true;
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

static uint32_t take_id(struct classify *c)
{
    uint32_t id;

    if (c->nfree)
        id = c->free_ids[--c->nfree];
    else if (c->fresh_id < c->cfg.max_active)
        id = ++c->fresh_id;
    else
        return 0;
    c->gen[id]++;
    return id;
}

static uint32_t v4_of(const uint8_t a[16])
{
    return (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
}

/* What nDPI's guess needs of a flow: protocol, ports and IPv4 addresses, first sender
 * first. */
static void guess_args(const struct flow *f, struct item *it)
{
    bool a_first = (f->flags & FLOW_SRC_IS_A) != 0;
    const uint8_t *s = a_first ? f->key.a : f->key.b, *d = a_first ? f->key.b : f->key.a;

    it->l4_proto = f->key.proto;
    it->v4 = f->key.ip_version == 4;
    it->saddr = it->v4 ? v4_of(s) : 0;
    it->daddr = it->v4 ? v4_of(d) : 0;
    it->sport = a_first ? f->key.pa : f->key.pb;
    it->dport = a_first ? f->key.pb : f->key.pa;
}

void classify_packet(struct classify *c, struct flow *f, const struct decoded *d, int64_t now_us)
{
    if (f->flags & (FLOW_CLASSIFIED | FLOW_DPI_OFF) || d->payload_len == 0 || d->later_frag)
        return;
    if (!f->cls) {
        bool guessed = shed(c, now_us);
        f->cls = take_id(c);
        if (!f->cls) {
            c->refused_ids++;
            f->flags |= FLOW_DPI_OFF;
            return;
        }
        if (guessed) {
            struct item *it = reserve(c, sizeof *it);
            it->type = ITEM_GUESS;
            it->id = f->cls;
            guess_args(f, it);
            publish(c, it);
            f->flags |= FLOW_DPI_OFF;
            return;
        }
    } else if (atomic_load_explicit(&c->final[f->cls], memory_order_relaxed) == c->gen[f->cls]) {
        f->flags |= FLOW_DPI_OFF; /* the classifier has its answer */
        return;
    }
    uint32_t len = d->l3_len > 0xffff ? 0xffff : d->l3_len;
    struct item *it = reserve(c, sizeof *it + len);
    it->type = ITEM_PKT;
    it->id = f->cls;
    it->gen = c->gen[f->cls];
    it->l4_proto = d->l4_proto;
    it->loaded = loaded(c, now_us);
    it->now_us = now_us;
    it->len = len;
    if (len)
        memcpy(it + 1, d->l3, len);
    publish(c, it);
    if (len == 0)
        return;
    unsigned limit = d->l4_proto == IPPROTO_TCP_ ? c->cfg.tcp_pkts : c->cfg.udp_pkts;
    if (++f->cls_pkts >= limit)
        f->flags |= FLOW_DPI_OFF;
}

uint64_t classify_end(struct classify *c, struct flow *f, struct classify_result *out)
{
    if (f->flags & FLOW_CLASSIFIED) {
        out->label = f->label;
        memcpy(out->host, f->host, sizeof out->host);
        return 0;
    }
    struct item *it = reserve(c, sizeof *it);
    it->type = ITEM_END;
    it->id = f->cls;
    it->out = out;
    guess_args(f, it);
    uint64_t ticket = publish(c, it);
    if (f->cls)
        c->free_ids[c->nfree++] = f->cls;
    f->cls = 0;
    f->flags |= FLOW_CLASSIFIED | FLOW_DPI_OFF;
    return ticket;
}

bool classify_ready(struct classify *c, uint64_t ticket)
{
    return path_ready(c, 0, ticket);
}

void classify_wait(struct classify *c, uint64_t ticket)
{
    path_wait(c, 0, ticket);
}

void classify_sync(struct classify *c)
{
    classify_wait(c, c->queued);
}

void classify_done(struct classify *c, struct flow *f)
{
    struct classify_result r;
    uint64_t ticket = classify_end(c, f, &r);

    if (ticket == 0)
        return;
    classify_wait(c, ticket);
    f->label = r.label;
    memcpy(f->host, r.host, sizeof f->host);
}

unsigned classify_peek(struct classify *c, const struct flow *f, uint16_t *label)
{
    classify_sync(c);
    if (f->flags & FLOW_CLASSIFIED) {
        *label = f->label;
        return CLASSIFY_FINAL;
    }
    const struct wflow *w = f->cls && f->cls < c->wcap ? &c->w[f->cls] : NULL;
    *label = w ? w->label : 0;
    if (!w)
        return 0;
    return (w->flags & W_DETECTED ? CLASSIFY_DETECTED : 0u) |
           (w->flags & W_FINAL ? CLASSIFY_FINAL : 0u);
}

/* ---- the classifier's side ---- */

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

/* The state of an id, the table grown to hold it. NULL when out of memory. */
static struct wflow *wflow(struct classify *c, uint32_t id)
{
    if (id >= c->wcap) {
        uint32_t cap = c->wcap ? c->wcap : 1024;
        while (cap <= id)
            cap *= 2;
        struct wflow *w = realloc(c->w, (size_t)cap * sizeof *w);
        if (!w)
            return NULL;
        memset(w + c->wcap, 0, (size_t)(cap - c->wcap) * sizeof *w);
        c->w = w;
        c->wcap = cap;
    }
    return &c->w[id];
}

static uint16_t label_of(const struct classify *c, ndpi_protocol p)
{
    uint16_t id = p.app_protocol != NDPI_PROTOCOL_UNKNOWN ? p.app_protocol : p.master_protocol;
    return id < c->nlabels ? id : NDPI_PROTOCOL_UNKNOWN;
}

/* The label is final: keeps the host name, returns the nDPI flow to the pool and tells the
 * packet path (gen: the id's generation the work came with). */
static void finish(struct classify *c, uint32_t id, struct wflow *w, uint32_t gen)
{
    struct ndpi_flow_struct *nf = slot(c, w->slot);
    size_t n = strnlen(nf->host_server_name, sizeof nf->host_server_name);

    if (n >= sizeof w->host)
        n = sizeof w->host - 1;
    memcpy(w->host, nf->host_server_name, n);
    w->host[n] = '\0';
    pool_put(c, w->slot);
    w->slot = 0;
    w->flags |= W_FINAL;
    atomic_store_explicit(&c->final[id], gen, memory_order_relaxed);
}

static void give_up(struct classify *c, uint32_t id, struct wflow *w, uint32_t gen)
{
    uint8_t guessed = 0;
    ndpi_protocol p = ndpi_detection_giveup(c->ndpi, slot(c, w->slot), 1, &guessed);
    w->label = label_of(c, p);
    c->stats.gaveup++;
    finish(c, id, w, gen);
}

/* A flow that never reached nDPI: nDPI's guess from protocol, ports and IPv4 addresses. */
static uint16_t guess(struct classify *c, const struct item *it)
{
    ndpi_protocol p = ndpi_guess_undetected_protocol(c->ndpi, NULL, it->l4_proto, it->saddr,
                                                     it->sport, it->daddr, it->dport);
    c->stats.guessed++;
    return label_of(c, p);
}

static void on_packet(struct classify *c, const struct item *it)
{
    struct wflow *w = wflow(c, it->id);

    if (!w) { /* no memory for the state: labelled by guess at the end */
        c->stats.refused++;
        return;
    }
    if (w->flags & (W_FINAL | W_NO_DPI))
        return;
    if (!w->slot) {
        w->slot = pool_get(c);
        if (!w->slot) {
            c->stats.refused++;
            w->flags |= W_NO_DPI;
            return;
        }
    }
    if (it->len == 0)
        return;
    if ((w->flags & W_DETECTED) && it->loaded) {
        finish(c, it->id, w, it->gen);
        return;
    }
    unsigned limit = it->l4_proto == IPPROTO_TCP_ ? c->cfg.tcp_pkts : c->cfg.udp_pkts;
    struct ndpi_flow_struct *nf = slot(c, w->slot);
    ndpi_protocol p = ndpi_detection_process_packet(
        c->ndpi, nf, (const uint8_t *)(it + 1), (uint16_t)it->len, (uint64_t)(it->now_us / 1000));
    c->stats.packets++;
    w->pkts++;
    if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN) {
        w->label = label_of(c, p);
        if (!(w->flags & W_DETECTED)) {
            c->stats.detected++;
            w->found = w->pkts;
        }
        w->flags |= W_DETECTED;
        if (!c->cfg.extra || w->pkts >= limit ||
            (unsigned)(w->pkts - w->found) >= c->cfg.extra_pkts || it->loaded ||
            !ndpi_extra_dissection_possible(c->ndpi, nf))
            finish(c, it->id, w, it->gen);
        return;
    }
    if (w->pkts >= limit)
        give_up(c, it->id, w, it->gen);
}

static void on_guess(struct classify *c, const struct item *it)
{
    struct wflow *w = wflow(c, it->id);
    uint16_t label = guess(c, it);

    if (w) {
        w->label = label;
        w->flags |= W_FINAL;
    }
}

static void on_end(struct classify *c, const struct item *it)
{
    struct wflow *w = it->id ? wflow(c, it->id) : NULL;
    struct classify_result *out = it->out;

    if (w && !(w->flags & W_FINAL) && w->slot) {
        if (w->flags & W_DETECTED)
            finish(c, it->id, w, 0);
        else
            give_up(c, it->id, w, 0);
    }
    if (w && (w->flags & W_FINAL)) {
        out->label = w->label;
        memcpy(out->host, w->host, sizeof out->host);
    } else { /* never inspected: no payload, shed for want of memory, or the pool was full */
        out->label = guess(c, it);
        out->host[0] = '\0';
    }
    if (w)
        memset(w, 0, sizeof *w);
}

/* Does the items up to head (the classifier's loop body; the packet path's own with one
 * CPU). Returns false after ITEM_STOP. */
static bool work(struct classify *c, uint64_t head)
{
    uint64_t tail = c->wtail, done = c->wdone;
    unsigned batch = 0;
    bool go_on = true;

    while (tail != head && go_on) {
        const struct item *it = (const struct item *)(c->ring + (tail & (RING_BYTES - 1)));
        enum item_type type = it->type;
        if (tail + it->size != head) /* the next header, fetched while this one is done */
            __builtin_prefetch(c->ring + ((tail + it->size) & (RING_BYTES - 1)));
        switch (type) {
        case ITEM_PAD:
            break;
        case ITEM_PKT:
            on_packet(c, it);
            break;
        case ITEM_GUESS:
            on_guess(c, it);
            break;
        case ITEM_END:
            on_end(c, it);
            break;
        case ITEM_STOP:
            stop_ndpi(c);
            go_on = false;
            break;
        }
        tail += it->size;
        done += type != ITEM_PAD;
        /* progress is told every BATCH items and when the ring is empty (the packet path
         * reads it only to wait: telling it per item would bounce its cache line) */
        if (++batch == BATCH || tail == head || !go_on) {
            batch = 0;
            atomic_store_explicit(&c->ring_tail, tail, memory_order_release);
            atomic_store_explicit(&c->done, done, memory_order_release);
            atomic_thread_fence(memory_order_seq_cst); /* progress before the flag: wake */
            if (atomic_load(&c->path_sleeps) && tail >= atomic_load(&c->want_tail) &&
                done >= atomic_load(&c->want_done))
                wake(c, &c->path_sleeps, &c->answered);
        }
    }
    c->wtail = tail;
    c->wdone = done;
    return go_on;
}

static void *classifier(void *arg)
{
    struct classify *c = arg;

    do
        worker_wait(c, c->wtail);
    while (work(c, atomic_load_explicit(&c->ring_head, memory_order_acquire)));
    return NULL;
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

const struct classify_stats *classify_stats(struct classify *c)
{
    classify_sync(c);
    c->view = c->stats;
    c->view.refused += c->refused_ids;
    return &c->view;
}
