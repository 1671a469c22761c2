/* capture — packets in: pcap/pcapng files (offline) through libpcap.
 *
 * Pipeline stage 1. The only module that includes pcap.h. It maps the file's link type to
 * the decoder's framing and refuses link types the decoder does not read. Packets handed
 * out point into libpcap's buffer and are valid until the next capture_next call. */
#ifndef BLACKOUT_CAPTURE_H
#define BLACKOUT_CAPTURE_H

#include "decode.h"

#include <stddef.h>
#include <stdint.h>

struct packet {
    int64_t ts_sec; /* packet time, seconds since the epoch */
    uint32_t ts_usec;
    uint32_t caplen; /* bytes captured */
    uint32_t len;    /* bytes on the wire */
    const uint8_t *data;
    int iface;    /* capture interface index, -1 for files */
    uint8_t link; /* enum decode_link */
};

struct capture;

/* Opens a pcap or pcapng file ("-" = stdin). Returns NULL with one line in err when the
 * file cannot be read or its link type is not supported ("FILE: unsupported link type ..."). */
struct capture *capture_open_file(const char *path, char *err, size_t errlen);

/* Next packet: returns 1 with *p filled, 0 at the end of the file, -1 on a read error (a
 * record cut short or corrupt) with one line in err. */
int capture_next(struct capture *c, struct packet *p, char *err, size_t errlen);

/* Bytes of the file consumed so far and its size (0 when unknown, e.g. stdin). */
uint64_t capture_offset(const struct capture *c);
uint64_t capture_size(const struct capture *c);

void capture_close(struct capture *c);

#endif
