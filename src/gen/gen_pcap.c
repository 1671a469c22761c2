/* gen_pcap — buffered pcap/pcapng writer. See gen_pcap.h. */
#include "gen_pcap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_BUF     (4u << 20)
#define PCAP_MAXSNAP 262144u

struct gen_pcap {
    FILE *f;
    int own;
    int ng;
    int err;
    int errnum;
    uint32_t snaplen;
    size_t len;
    uint8_t *buf;
};

static void le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    le16(p, v & 0xffff);
    le16(p + 2, v >> 16);
}

static int pcap_flush(struct gen_pcap *w)
{
    if (!w->err && w->len > 0 && fwrite(w->buf, 1, w->len, w->f) != w->len) {
        w->err = 1;
        w->errnum = errno;
    }
    w->len = 0;
    return w->err ? -1 : 0;
}

/* Room for n more bytes in the buffer (n <= PCAP_BUF). */
static int pcap_room(struct gen_pcap *w, size_t n)
{
    if (w->len + n > PCAP_BUF)
        return pcap_flush(w);
    return w->err ? -1 : 0;
}

static void pcap_file_header(struct gen_pcap *w, uint32_t linktype)
{
    uint8_t *p = w->buf;

    if (!w->ng) {
        le32(p, 0xa1b2c3d4u);
        le16(p + 4, 2);
        le16(p + 6, 4);
        le32(p + 8, 0);  /* thiszone */
        le32(p + 12, 0); /* sigfigs */
        le32(p + 16, w->snaplen);
        le32(p + 20, linktype);
        w->len = 24;
        return;
    }
    le32(p, 0x0a0d0d0au); /* section header block */
    le32(p + 4, 28);
    le32(p + 8, 0x1a2b3c4du);
    le16(p + 12, 1);
    le16(p + 14, 0);
    le32(p + 16, 0xffffffffu); /* section length unknown */
    le32(p + 20, 0xffffffffu);
    le32(p + 24, 28);
    le32(p + 28, 1); /* interface description block, default 10^-6 resolution */
    le32(p + 32, 20);
    le16(p + 36, linktype);
    le16(p + 38, 0);
    le32(p + 40, w->snaplen);
    le32(p + 44, 20);
    w->len = 48;
}

struct gen_pcap *gen_pcap_open(const char *path, int pcapng, uint32_t linktype, uint32_t snaplen,
                               char *err, size_t errlen)
{
    struct gen_pcap *w = calloc(1, sizeof(*w));

    snprintf(err, errlen, "out of memory");
    if (w == NULL)
        goto err;
    w->buf = malloc(PCAP_BUF);
    if (w->buf == NULL)
        goto err;
    w->ng = pcapng;
    w->snaplen = snaplen != 0 ? snaplen : PCAP_MAXSNAP;
    if (strcmp(path, "-") == 0) {
        w->f = stdout;
    } else {
        w->f = fopen(path, "wb");
        w->own = 1;
    }
    if (w->f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto err;
    }
    pcap_file_header(w, linktype);
    return w;
err:
    if (w != NULL)
        free(w->buf);
    free(w);
    return NULL;
}

int gen_pcap_write(struct gen_pcap *w, uint64_t t_us, const uint8_t *frame, uint32_t len)
{
    uint32_t cap = len < w->snaplen ? len : w->snaplen;
    uint32_t pad = w->ng ? (4 - cap % 4) % 4 : 0;
    uint8_t *p;

    if (pcap_room(w, (size_t)cap + pad + 32) < 0)
        return -1;
    p = w->buf + w->len;
    if (!w->ng) {
        le32(p, (uint32_t)(t_us / 1000000));
        le32(p + 4, (uint32_t)(t_us % 1000000));
        le32(p + 8, cap);
        le32(p + 12, len);
        memcpy(p + 16, frame, cap);
        w->len += 16 + cap;
        return 0;
    }
    le32(p, 6); /* enhanced packet block */
    le32(p + 4, 32 + cap + pad);
    le32(p + 8, 0);
    le32(p + 12, (uint32_t)(t_us >> 32));
    le32(p + 16, (uint32_t)t_us);
    le32(p + 20, cap);
    le32(p + 24, len);
    memcpy(p + 28, frame, cap);
    memset(p + 28 + cap, 0, pad);
    le32(p + 28 + cap + pad, 32 + cap + pad);
    w->len += 32 + cap + pad;
    return 0;
}

const char *gen_pcap_strerror(const struct gen_pcap *w)
{
    return w->err ? strerror(w->errnum) : "";
}

int gen_pcap_close(struct gen_pcap *w, char *err, size_t errlen)
{
    int rc;

    if (w == NULL)
        return 0;
    rc = pcap_flush(w);
    if (fflush(w->f) != 0 && rc == 0) {
        rc = -1;
        w->errnum = errno;
    }
    if (w->own && fclose(w->f) != 0 && rc == 0) {
        rc = -1;
        w->errnum = errno;
    }
    if (rc < 0)
        snprintf(err, errlen, "writing the capture: %s", strerror(w->errnum));
    free(w->buf);
    free(w);
    return rc;
}
