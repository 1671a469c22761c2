/* prefix — the country's address set: built-in KP, CIDR files, RIR delegated-stats files.
 *
 * Pipeline stage 3 (match) asks "is this address in the country?" for both ends of every
 * packet, so the IPv4 test is a few bit tests: a 2^16-bit map of /16s that hold anything,
 * then 2^24-bit maps of /24s that are wholly or partly inside, and only for partly covered
 * /24s a binary search over 256-bit masks. IPv6 is a sorted array of merged ranges.
 *
 * Build a set with prefix_new, fill it with the prefix_load_* / prefix_add_* calls, then
 * call prefix_finish once before the first lookup. The set owns all its memory. */
#ifndef BLACKOUT_PREFIX_H
#define BLACKOUT_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text.h"

#define PREFIX_MAX_PARTS (1u << 20)    /* partly covered /24s */
#define PREFIX_MAX_V6    (1u << 20)    /* IPv6 ranges */
#define PREFIX_LINE_MAX  TEXT_LINE_MAX /* longest line read from a prefix or RIR file */

/* One parsed CIDR (or single address), as the first and last address it covers. */
struct cidr {
    uint8_t version; /* 4 or 6 */
    uint8_t len;     /* prefix length */
    uint32_t first4, last4;
    uint8_t first6[16], last6[16];
};

struct prefix_part {
    uint32_t net24;
    uint64_t bits[4];
};

struct prefix_range6 {
    uint64_t first_hi, first_lo, last_hi, last_lo;
};

/* Fields are private to prefix.c; they are here so the IPv4 test can be inlined. */
struct prefix_set {
    uint64_t *any16;  /* bit per /16: some address in it is in the set */
    uint64_t *full24; /* bit per /24: all of it is in the set */
    uint64_t *part24; /* bit per /24: part of it is, see parts */
    struct prefix_part *parts;
    size_t nparts, cap_parts;
    struct prefix_range6 *v6;
    size_t nv6, cap_v6;
    size_t nentries; /* prefixes and ranges added */
    bool finished;
    char code[4]; /* the set's country code (index 1) */
};

/* Returns an empty set, or NULL when out of memory. */
struct prefix_set *prefix_new(void);
void prefix_free(struct prefix_set *p);

/* Parses "a.b.c.d/n", "a.b.c.d", "v6addr/n" or "v6addr". Rejects host bits set under the
 * mask. Returns 0, or -1 with a message in err. */
int prefix_parse_cidr(const char *text, struct cidr *out, char *err, size_t errlen);

/* Adds a parsed prefix or an IPv4 range. Return 0, or -1 with a message in err (caps). */
int prefix_add_cidr(struct prefix_set *p, const struct cidr *c, char *err, size_t errlen);
int prefix_add_v4_range(struct prefix_set *p, uint32_t first, uint32_t last, char *err,
                        size_t errlen);

/* Adds the built-in set of a country ("KP"). Returns -1 (message in err) for a country
 * without a built-in set. */
int prefix_load_builtin(struct prefix_set *p, const char *cc, char *err, size_t errlen);

/* One CIDR per line, '#' comments, blank lines ignored. Returns the number of prefixes
 * read, or -1 with "FILE:LINE: problem" in err. */
int prefix_load_file(struct prefix_set *p, const char *path, char *err, size_t errlen);

/* RIR delegated-stats ("registry|cc|type|start|value|date|status..."): the allocated and
 * assigned ipv4/ipv6 lines of country cc. Returns the number of entries taken, or -1 with
 * "FILE:LINE: problem" in err. */
int prefix_load_rir(struct prefix_set *p, const char *path, const char *cc, char *err,
                    size_t errlen);

/* Sorts and merges; required once before lookups. Returns 0, or -1 out of memory. */
int prefix_finish(struct prefix_set *p);

/* Number of IPv4 addresses in the set and of IPv6 ranges (after prefix_finish). */
uint64_t prefix_v4_addresses(const struct prefix_set *p);
size_t prefix_v6_ranges(const struct prefix_set *p);

bool prefix_has_v4_part(const struct prefix_set *p, uint32_t a);
bool prefix_has_v6(const struct prefix_set *p, const uint8_t a[16]);

static inline bool prefix_bit(const uint64_t *map, uint32_t i)
{
    return (map[i >> 6] >> (i & 63)) & 1;
}

/* Is IPv4 address a (host order) in the set? */
static inline bool prefix_has_v4(const struct prefix_set *p, uint32_t a)
{
    if (!prefix_bit(p->any16, a >> 16))
        return false;
    if (prefix_bit(p->full24, a >> 8))
        return true;
    if (!prefix_bit(p->part24, a >> 8))
        return false;
    return prefix_has_v4_part(p, a);
}

/* The set as countries: index 1 is the set's country (code given by prefix_set_code), 0 none.
 * Returns the country index of an address. */
static inline unsigned prefix_country_v4(const struct prefix_set *p, uint32_t a)
{
    return prefix_has_v4(p, a);
}
static inline unsigned prefix_country_v6(const struct prefix_set *p, const uint8_t a[16])
{
    return prefix_has_v6(p, a);
}

/* Names the set's country (a two-letter code, copied). */
void prefix_set_code(struct prefix_set *p, const char *cc);

/* Countries in the set (their indexes are 1..n), and the code of index idx (NULL when out of
 * range). */
unsigned prefix_ncountries(const struct prefix_set *p);
const char *prefix_country_code(const struct prefix_set *p, unsigned idx);

/* Does the parsed prefix contain the address (16-byte form, IPv4 as ::ffff:a.b.c.d)? */
bool cidr_contains(const struct cidr *c, uint8_t version, uint32_t a4, const uint8_t a16[16]);

#endif
