/* pcapfile — classic pcap files read in large blocks. See pcapfile.h. */
#include "pcapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC_USEC 0xa1b2c3d4u
#define MAGIC_NSEC 0xa1b23c4du
/* The buffer holds any record (at most 256 KiB); it is filled CHUNK bytes at a time, so the
 * bytes read() just copied are still in the core's cache when the records are decoded (with
 * 4 MiB reads, each record's first touch was a cache miss). */
#define BLOCK ((size_t)512 << 10)
#define CHUNK ((size_t)128 << 10)

struct pcapfile {
    int fd;
    uint8_t *buf;
    size_t have, pos; /* bytes in buf, next record in buf */
    bool eof, swapped, nsec, own_fd;
    uint64_t consumed, size, records;
    char name[256];
};

static uint32_t rd32(const struct pcapfile *f, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return f->swapped ? __builtin_bswap32(v) : v;
}

/* Makes at least n bytes available from pos (moving the tail to the front and reading).
 * Returns false on a read error (errno set) or when the file ends first. */
static bool fill(struct pcapfile *f, size_t n)
{
    if (f->have - f->pos >= n)
        return true;
    memmove(f->buf, f->buf + f->pos, f->have - f->pos);
    f->have -= f->pos;
    f->pos = 0;
    while (f->have < n && !f->eof) {
        size_t room = BLOCK - f->have;
        ssize_t r = read(f->fd, f->buf + f->have, room < CHUNK ? room : CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return false;
        if (r == 0)
            f->eof = true;
        f->have += (size_t)r;
    }
    errno = 0;
    return f->have >= n;
}

/* fill's test, inlined into the per-record path: a read is needed once per CHUNK bytes. */
static inline bool have(struct pcapfile *f, size_t n)
{
    return f->have - f->pos >= n || fill(f, n);
}

/* Reads the global header; returns false for anything that is not classic pcap. */
static bool read_header(struct pcapfile *f, uint32_t *linktype)
{
    uint32_t magic;

    if (!fill(f, 24))
        return false;
    memcpy(&magic, f->buf, 4);
    f->swapped = magic == __builtin_bswap32(MAGIC_USEC) || magic == __builtin_bswap32(MAGIC_NSEC);
    if (f->swapped)
        magic = __builtin_bswap32(magic);
    if (magic != MAGIC_USEC && magic != MAGIC_NSEC)
        return false;
    f->nsec = magic == MAGIC_NSEC;
    *linktype = rd32(f, f->buf + 20) & 0x0fffffff; /* the top bits carry FCS information */
    f->pos = 24;
    f->consumed = 24;
    return true;
}

struct pcapfile *pcapfile_open(const char *path, uint32_t *linktype, bool *other, char *err,
                               size_t errlen)
{
    struct stat st;

    (void)err;
    (void)errlen;
    *other = true;
    /* stdin could not be handed to libpcap after its first bytes were read here */
    if (strcmp(path, "-") == 0)
        return NULL;
    struct pcapfile *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    f->own_fd = true;
    if (f->fd < 0 || fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out; /* libpcap says what is wrong, in its words */
    f->size = (uint64_t)st.st_size;
    f->buf = malloc(BLOCK);
    if (!f->buf)
        goto out;
    posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    snprintf(f->name, sizeof f->name, "%s", path);
    if (!read_header(f, linktype))
        goto out;
    *other = false;
    return f;
out:
    pcapfile_close(f);
    return NULL;
}

int pcapfile_next(struct pcapfile *f, struct pcapfile_record *r, char *err, size_t errlen)
{
    if (!have(f, 16)) {
        if (errno) {
            snprintf(err, errlen, "%s: %s", f->name, strerror(errno));
            return -1;
        }
        if (f->have == f->pos)
            return 0;
        snprintf(err, errlen,
                 "%s: truncated dump file: record %llu header cut short at offset %llu", f->name,
                 (unsigned long long)f->records + 1, (unsigned long long)f->consumed);
        return -1;
    }
    const uint8_t *h = f->buf + f->pos;
    uint32_t sec = rd32(f, h), frac = rd32(f, h + 4);
    uint32_t caplen = rd32(f, h + 8), len = rd32(f, h + 12);
    if (caplen > PCAPFILE_MAX_CAPLEN) {
        snprintf(err, errlen,
                 "%s: corrupt record %llu at offset %llu: captured length %u is over %u", f->name,
                 (unsigned long long)f->records + 1, (unsigned long long)f->consumed, caplen,
                 PCAPFILE_MAX_CAPLEN);
        return -1;
    }
    if (!have(f, 16 + (size_t)caplen)) {
        snprintf(err, errlen,
                 "%s: truncated dump file: record %llu at offset %llu needs %u bytes, %zu left",
                 f->name, (unsigned long long)f->records + 1, (unsigned long long)f->consumed,
                 caplen, f->have - f->pos - 16);
        return -1;
    }
    h = f->buf + f->pos;
    r->ts_sec = sec;
    r->ts_usec = f->nsec ? frac / 1000 : frac;
    if (r->ts_usec > 999999)
        r->ts_usec = 999999;
    r->caplen = caplen;
    r->len = len < caplen ? caplen : len;
    r->data = h + 16;
    f->pos += 16 + (size_t)caplen;
    f->consumed += 16 + (uint64_t)caplen;
    f->records++;
    return 1;
}

uint64_t pcapfile_offset(const struct pcapfile *f)
{
    return f->consumed;
}

uint64_t pcapfile_size(const struct pcapfile *f)
{
    return f->size;
}

void pcapfile_close(struct pcapfile *f)
{
    if (!f)
        return;
    if (f->own_fd && f->fd >= 0)
        close(f->fd);
    free(f->buf);
    free(f);
}
