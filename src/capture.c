/* capture — libpcap handles. See capture.h. */
#include "capture.h"

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
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
        c->size = (uint64_t)st.st_size;
    return c;
err:
    capture_close(c);
    return NULL;
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
        p->ts_sec = h->ts.tv_sec;
        p->ts_usec = (uint32_t)h->ts.tv_usec;
        p->caplen = h->caplen;
        p->len = h->len < h->caplen ? h->caplen : h->len;
        p->data = data;
        p->iface = -1;
        p->link = (uint8_t)c->link;
        return 1;
    }
    if (r == PCAP_ERROR_BREAK)
        return 0;
    snprintf(err, errlen, "%s: %s", c->name, pcap_geterr(c->pcap));
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

void capture_close(struct capture *c)
{
    if (!c)
        return;
    pcapfile_close(c->file);
    if (c->pcap)
        pcap_close(c->pcap);
    free(c);
}
