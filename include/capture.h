/* capture — packets in: pcap/pcapng files (offline) and live interfaces, through libpcap.
 *
 * Pipeline stage 1. The only module that includes pcap.h. It maps the link type to the
 * decoder's framing and refuses link types the decoder does not read. Packets handed out
 * point into libpcap's buffer and are valid until the next capture_next call (files) or
 * until the callback returns (live).
 *
 * Live handles are made with pcap_create/pcap_activate: promiscuous, snaplen and kernel
 * ring size as configured, frames received on the interface only (a mirror port's traffic;
 * the host's own transmissions are not), non-blocking, immediate mode off so that libpcap
 * uses a TPACKET_V3 ring whose blocks the kernel hands over when full or after timeout_ms.
 * The caller polls capture_fd of every handle and calls capture_dispatch when one is
 * readable. Statistics are libpcap's, widened to 64 bits. */
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

/* ---- live interfaces ---- */

struct capture_live_config {
    unsigned snaplen;   /* bytes kept per frame */
    unsigned buffer_mb; /* kernel ring size */
    int timeout_ms;     /* a partly filled ring block is handed over after this long */
};

/* Opens interface `iface` for capture; `index` is stamped into every packet (p->iface).
 * Returns NULL with one line in err ("eth1: You don't have permission to ..."). Warnings
 * from pcap_activate (no promiscuous mode, ...) are logged. */
struct capture *capture_open_live(const char *iface, int index,
                                  const struct capture_live_config *cfg, char *err, size_t errlen);

/* The descriptor to poll for POLLIN. */
int capture_fd(const struct capture *c);

typedef void (*capture_packet_fn)(void *ctx, const struct packet *p);

/* Hands up to max packets waiting in the ring to fn, without blocking. Returns how many,
 * or -1 with one line in err (the interface went down or disappeared). */
int capture_dispatch(struct capture *c, int max, capture_packet_fn fn, void *ctx, char *err,
                     size_t errlen);

/* Cumulative since the handle was opened: frames the kernel passed to the ring, frames it
 * dropped because the ring was full, and frames the interface itself dropped (rx missed
 * and FIFO errors). */
struct capture_stats {
    uint64_t received, dropped, if_dropped;
};

/* Returns 0, or -1 with one line in err. */
int capture_stats(struct capture *c, struct capture_stats *st, char *err, size_t errlen);

/* The file or interface name. */
const char *capture_name(const struct capture *c);

void capture_close(struct capture *c);

#endif
