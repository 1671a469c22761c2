/* pcapfile — a fast reader for classic pcap files.
 *
 * Used by the capture module for replay: the file is read in 128 KiB pieces into one
 * 512 KiB buffer (memory does not grow with the file) and records are handed out in place, each
 * checked against the bytes read and a maximum capture length first. Anything that is not a classic
 * pcap file of a link type the decoder reads (pcapng, stdin, a pipe, an exotic link type) is left
 * to libpcap. */
#ifndef BLACKOUT_PCAPFILE_H
#define BLACKOUT_PCAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCAPFILE_MAX_CAPLEN 262144u /* libpcap's largest snapshot length */

struct pcapfile;

struct pcapfile_record {
    int64_t ts_sec;
    uint32_t ts_usec;
    uint32_t caplen, len;
    const uint8_t *data;
};

/* Maps path when it is a classic pcap file (either byte order, micro- or nanosecond
 * timestamps). Returns NULL with *other set when the file should go to libpcap instead, or
 * NULL with *other clear and one line in err when it cannot be read. *linktype is the
 * file's LINKTYPE_ value. */
struct pcapfile *pcapfile_open(const char *path, uint32_t *linktype, bool *other, char *err,
                               size_t errlen);

/* Next record: 1 with *r filled, 0 at the end, -1 with one line in err when a record is cut
 * short or its lengths are impossible. */
int pcapfile_next(struct pcapfile *f, struct pcapfile_record *r, char *err, size_t errlen);

/* Bytes consumed and the file size. */
uint64_t pcapfile_offset(const struct pcapfile *f);
uint64_t pcapfile_size(const struct pcapfile *f);

void pcapfile_close(struct pcapfile *f);

#endif
