/* progress — the progress line of `blackout replay` on stderr.
 *
 * Beside the pipeline, not in it: replay counts packets and bytes here and the line is
 * rewritten in place ('\r') at most PROGRESS_INTERVAL_MS apart: bytes read of the total
 * (the sum of the files' sizes), packets, packets per second and the time left. With a
 * total unknown (stdin, a pipe) it shows bytes and packets only. The clock is read once
 * every `step` packets, a step sized from the rate so that a check falls a few times per
 * interval; counting a packet is two additions and a compare, never a system call.
 *
 * On stderr, the line is marked open to the log module, so that a message logged meanwhile
 * starts on a line of its own. The caller owns struct progress (no allocation);
 * progress_finish ends the line. */
#ifndef BLACKOUT_PROGRESS_H
#define BLACKOUT_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROGRESS_INTERVAL_MS 250
#define PROGRESS_STEP_MIN    64
#define PROGRESS_STEP_MAX    16384
#define PROGRESS_LINE_MAX    160

/* What one line shows. total 0 = unknown. */
struct progress_view {
    uint64_t bytes, total, packets;
    uint64_t elapsed_ms;
    bool done; /* the last line: the time taken instead of the time left */
};

struct progress {
    bool on;
    FILE *out;
    uint64_t total;       /* bytes of every file, 0 when unknown */
    uint64_t bytes_files; /* bytes of the files already read */
    uint64_t bytes_file;  /* the current file's bytes, as counted from its records */
    uint64_t packets;
    uint64_t next_check; /* packet count at which the clock is read again */
    uint64_t step;
    uint64_t start_ms, shown_ms;
    size_t shown_len; /* length of the line on screen, to blank a longer old one */
};

/* Starts counting; nothing is ever printed when on is false. total 0 = unknown. */
void progress_init(struct progress *p, bool on, FILE *out, uint64_t total);

/* Sums the sizes of regular files; 0 when any is '-' or not a regular file (unknown).
 * Never fails: an unreadable file is reported later by the reader. */
uint64_t progress_total(char *const *paths, int n);

/* Called when a file is done: its size (the bytes read of it) joins the files read. offset
 * is the reader's position, 0 when unknown (then the bytes counted from its records). */
void progress_file_done(struct progress *p, uint64_t offset);

/* Slow path of progress_packet: reads the clock, maybe prints. offset as above. */
void progress_check(struct progress *p, uint64_t offset);

/* Counts one packet of caplen bytes (record bytes approximated as caplen + 16 where the
 * reader cannot say its position). Returns true when progress_check is due: call it then
 * with the reader's offset, which may cost a system call. */
static inline bool progress_packet(struct progress *p, uint32_t caplen)
{
    p->bytes_file += (uint64_t)caplen + 16;
    return ++p->packets >= p->next_check;
}

/* Prints the last line (when on) and ends it with a newline. */
void progress_finish(struct progress *p, uint64_t offset);

/* Writes the line for v into buf ("replay  44%  312.0 of 702.0 MiB  912345 packets
 * 410200 pkt/s  ETA 3 s"). Returns its length (truncated to size - 1). */
size_t progress_format(char *buf, size_t size, const struct progress_view *v);

#endif
