/* capture — libpcap handles. See capture.h. */
#include "capture.h"

#include "log.h"
#include "pcapfile.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct capture {
    struct pcapfile *file; /* classic pcap, read in place; else pcap */
    pcap_t *pcap;
    char name[256];
    enum decode_link link;
    uint64_t size;
    int index;        /* live: interface index stamped into packets; -1 for files */
    uint64_t records; /* files read by libpcap: records so far, for messages */
    int fd;
    /* live: libpcap's 32-bit counters at the last read, and their 64-bit sums */
    struct pcap_stat last;
    struct capture_stats sums;
    /* live: the callback of the dispatch in progress */
    capture_packet_fn fn;
    void *ctx;
};

/* Decoder framing for a LINKTYPE_ value stored in a classic pcap file, or -1 (then libpcap
 * opens the file and says what it is). */
static int link_of_linktype(uint32_t lt)
{
    switch (lt) {
    case 1:
        return DECODE_LINK_ETH;
    case 113:
        return DECODE_LINK_SLL;
    case 276:
        return DECODE_LINK_SLL2;
    case 101:
        return DECODE_LINK_RAW;
    case 228:
        return DECODE_LINK_IPV4;
    case 229:
        return DECODE_LINK_IPV6;
    case 0:
        return DECODE_LINK_NULL;
    case 108:
        return DECODE_LINK_LOOP;
    default:
        return -1;
    }
}

/* Returns the decoder framing for a DLT value, or -1. */
static int link_of_dlt(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
        return DECODE_LINK_ETH;
    case DLT_LINUX_SLL:
        return DECODE_LINK_SLL;
    case DLT_LINUX_SLL2:
        return DECODE_LINK_SLL2;
    case DLT_RAW:
        return DECODE_LINK_RAW;
    case DLT_IPV4:
        return DECODE_LINK_IPV4;
    case DLT_IPV6:
        return DECODE_LINK_IPV6;
    case DLT_NULL:
        return DECODE_LINK_NULL;
    case DLT_LOOP:
        return DECODE_LINK_LOOP;
    default:
        return -1;
    }
}

struct capture *capture_open_file(const char *path, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    struct stat st;

    struct capture *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    snprintf(c->name, sizeof c->name, "%s", strcmp(path, "-") == 0 ? "stdin" : path);
    uint32_t lt = 0;
    bool other = true;
    c->file = pcapfile_open(path, &lt, &other, err, errlen);
    if (c->file && link_of_linktype(lt) >= 0) {
        c->link = (enum decode_link)link_of_linktype(lt);
        c->size = pcapfile_size(c->file);
        return c;
    }
    pcapfile_close(c->file);
    c->file = NULL;
    c->pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, perr);
    if (!c->pcap) {
        if (strncmp(perr, path, strlen(path)) == 0) /* libpcap named the file already */
            snprintf(err, errlen, "%s", perr);
        else
            snprintf(err, errlen, "%s: %s", c->name, perr[0] ? perr : "cannot read");
        goto err;
    }
    int dlt = pcap_datalink(c->pcap);
    int link = link_of_dlt(dlt);
    if (link < 0) {
        const char *name = pcap_datalink_val_to_name(dlt);
        snprintf(err, errlen, "%s: unsupported link type %s (%d)", c->name, name ? name : "?", dlt);
        goto err;
    }
    c->link = (enum decode_link)link;
    c->index = -1;
    c->fd = -1;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
        c->size = (uint64_t)st.st_size;
    return c;
err:
    capture_close(c);
    return NULL;
}

static void fill_packet(const struct capture *c, const struct pcap_pkthdr *h, const u_char *data,
                        struct packet *p)
{
    p->ts_sec = h->ts.tv_sec;
    p->ts_usec = (uint32_t)h->ts.tv_usec;
    p->caplen = h->caplen;
    p->len = h->len < h->caplen ? h->caplen : h->len;
    p->data = data;
    p->iface = c->index;
    p->link = (uint8_t)c->link;
}

int capture_next(struct capture *c, struct packet *p, char *err, size_t errlen)
{
    struct pcap_pkthdr *h;
    const u_char *data;

    if (c->file) {
        struct pcapfile_record rec;
        int rr = pcapfile_next(c->file, &rec, err, errlen);
        if (rr == 1) {
            p->ts_sec = rec.ts_sec;
            p->ts_usec = rec.ts_usec;
            p->caplen = rec.caplen;
            p->len = rec.len;
            p->data = rec.data;
            p->iface = -1;
            p->link = (uint8_t)c->link;
        }
        return rr;
    }
    int r = pcap_next_ex(c->pcap, &h, &data);
    if (r == 1) {
        fill_packet(c, h, data, p);
        c->records++;
        return 1;
    }
    if (r == PCAP_ERROR_BREAK)
        return 0;
    /* libpcap names the problem but not where: the record, and how far the file was read */
    FILE *f = pcap_file(c->pcap);
    long off = f ? ftell(f) : -1;
    char at[64] = "";
    if (off >= 0)
        snprintf(at, sizeof at, ", file read to offset %ld", off);
    snprintf(err, errlen, "%s: %s (record %llu%s)", c->name, pcap_geterr(c->pcap),
             (unsigned long long)c->records + 1, at);
    return -1;
}

uint64_t capture_offset(const struct capture *c)
{
    if (c->file)
        return pcapfile_offset(c->file);
    FILE *f = pcap_file(c->pcap);
    long off = f ? ftell(f) : -1;
    return off > 0 ? (uint64_t)off : 0;
}

uint64_t capture_size(const struct capture *c)
{
    return c->size;
}

/* Applies the live settings to a created handle and activates it. Returns 0, or -1 with
 * one line in err. */
static int activate(struct capture *c, const struct capture_live_config *cfg, char *err,
                    size_t errlen)
{
    pcap_t *p = c->pcap;

    if (pcap_set_snaplen(p, (int)cfg->snaplen) != 0 || pcap_set_promisc(p, 1) != 0 ||
        pcap_set_timeout(p, cfg->timeout_ms) != 0 ||
        pcap_set_buffer_size(p, (int)(cfg->buffer_mb << 20)) != 0 ||
        pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO) != 0) {
        snprintf(err, errlen, "%s: cannot set capture options", c->name);
        return -1;
    }
    int r = pcap_activate(p);
    if (r < 0) {
        const char *why = pcap_geterr(p);
        snprintf(err, errlen, "%s: %s", c->name, why && why[0] ? why : pcap_statustostr(r));
        return -1;
    }
    if (r > 0)
        LOG(LOG_WARN, "%s: %s", c->name, pcap_geterr(p)[0] ? pcap_geterr(p) : pcap_statustostr(r));
    return 0;
}

struct capture *capture_open_live(const char *iface, int index,
                                  const struct capture_live_config *cfg, char *err, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";

    struct capture *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", iface);
        return NULL;
    }
    snprintf(c->name, sizeof c->name, "%s", iface);
    c->index = index;
    c->fd = -1;
    c->pcap = pcap_create(iface, perr);
    if (!c->pcap) {
        snprintf(err, errlen, "%s: %s", iface, perr);
        goto err;
    }
    if (activate(c, cfg, err, errlen) < 0)
        goto err;
    int dlt = pcap_datalink(c->pcap);
    int link = link_of_dlt(dlt);
    if (link < 0) {
        const char *name = pcap_datalink_val_to_name(dlt);
        snprintf(err, errlen, "%s: unsupported link type %s (%d)", iface, name ? name : "?", dlt);
        goto err;
    }
    c->link = (enum decode_link)link;
    /* the mirror's frames arrive on the interface; what this host sends is not traffic */
    if (pcap_setdirection(c->pcap, PCAP_D_IN) != 0)
        LOG(LOG_WARN, "%s: cannot limit capture to received frames: %s", iface,
            pcap_geterr(c->pcap));
    if (pcap_setnonblock(c->pcap, 1, perr) != 0) {
        snprintf(err, errlen, "%s: %s", iface, perr);
        goto err;
    }
    c->fd = pcap_get_selectable_fd(c->pcap);
    if (c->fd < 0) {
        snprintf(err, errlen, "%s: no descriptor to poll", iface);
        goto err;
    }
    return c;
err:
    capture_close(c);
    return NULL;
}

int capture_fd(const struct capture *c)
{
    return c->fd;
}

static void on_pcap_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct capture *c = (struct capture *)user;
    struct packet p;

    fill_packet(c, h, data, &p);
    c->fn(c->ctx, &p);
}

int capture_dispatch(struct capture *c, int max, capture_packet_fn fn, void *ctx, char *err,
                     size_t errlen)
{
    c->fn = fn;
    c->ctx = ctx;
    int n = pcap_dispatch(c->pcap, max, on_pcap_packet, (u_char *)c);
    if (n >= 0)
        return n;
    if (n == PCAP_ERROR_BREAK)
        return 0;
    snprintf(err, errlen, "%s: %s", c->name, pcap_geterr(c->pcap));
    return -1;
}

/* libpcap's counters are 32 bits and wrap: sums grow by the unsigned difference. */
int capture_stats(struct capture *c, struct capture_stats *st, char *err, size_t errlen)
{
    struct pcap_stat now;

    if (pcap_stats(c->pcap, &now) != 0) {
        snprintf(err, errlen, "%s: %s", c->name, pcap_geterr(c->pcap));
        return -1;
    }
    c->sums.received += (uint32_t)(now.ps_recv - c->last.ps_recv);
    c->sums.dropped += (uint32_t)(now.ps_drop - c->last.ps_drop);
    c->sums.if_dropped += (uint32_t)(now.ps_ifdrop - c->last.ps_ifdrop);
    c->last = now;
    *st = c->sums;
    return 0;
}

const char *capture_name(const struct capture *c)
{
    return c->name;
}

void capture_close(struct capture *c)
{
    if (!c)
        return;
    pcapfile_close(c->file);
    if (c->pcap)
        pcap_close(c->pcap);
    free(c);
}
