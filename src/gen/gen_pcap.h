/* gen_pcap — writes classic pcap (microsecond timestamps) or pcapng (one
 * section, one interface, microsecond resolution) through a large buffer,
 * little-endian as written by an x86 host. Owns the output FILE unless it
 * is stdout. */
#ifndef GEN_PCAP_H
#define GEN_PCAP_H

#include <stddef.h>
#include <stdint.h>

struct gen_pcap;

/* Open path ("-" = stdout) and write the file header. snaplen 0 = keep whole
 * frames (header says 262144). Returns NULL with err filled on failure. */
struct gen_pcap *gen_pcap_open(const char *path, int pcapng, uint32_t linktype, uint32_t snaplen,
                               char *err, size_t errlen);

/* Append one frame of len wire bytes at time t_us (microseconds since the
 * epoch); at most snaplen bytes are stored. Returns 0, or -1 on a write
 * error (sticky). */
int gen_pcap_write(struct gen_pcap *w, uint64_t t_us, const uint8_t *frame, uint32_t len);

/* Text of the first write error ("" if none). */
const char *gen_pcap_strerror(const struct gen_pcap *w);

/* Flush, close and free. Returns 0, or -1 if any write failed (err filled).
 * NULL is accepted. */
int gen_pcap_close(struct gen_pcap *w, char *err, size_t errlen);

#endif
