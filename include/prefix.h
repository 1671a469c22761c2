/* prefix — the country map: IPv4 or IPv6 address -> index of a watched country (0 = none).
 *
 * Pipeline stage 3 (match) asks "which watched country is this address in?" for both ends
 * of every packet. IPv4 is one byte per /24 (a flat 16 MiB table, zero pages until
 * written): the country's index, or PREFIX_SPLIT for a /24 that longer prefixes divide
 * between countries; a split /24 is found by its rank in a bitmap (a count per /16 plus a
 * popcount) and holds its runs (first host, country) in a short sorted array; a bit per /16
 * (8 KiB) says whether any of its /24s is watched, so an address far from every watched
 * block is answered without touching the table. IPv6 is the
 * address space cut into sorted runs (first address, country); a table of where the runs of
 * each /16 start, with a table for the next 8 bits of every bucket holding more than a few
 * runs (down to /64), leaves a binary search over a handful of runs. IPv4 answers in one
 * memory read (a table mostly written is advised into huge pages), IPv6 in a few.
 *
 * Sources, in the order the caller loads them: the built-in set of a country (KP), and
 * what callers add with prefix_add_cidr / prefix_add_v4_range: the text files of source.h
 * (RIR delegated-stats files, prefix lists) and the MaxMind DB reader (geoip.h).
 * prefix_finish then resolves them: the most specific prefix wins,
 * whatever the order of the sources; for the same prefix given twice with different
 * countries the one added later wins (counted as a conflict). It then keeps the selected
 * countries only ("KP,IR" or "all"), numbered 1..N in the order given ("all":
 * alphabetical), and maps every other address to 0. A /24 of KP inside a /16 of CN stays
 * KP also when only CN is watched (it is then 0).
 *
 * Build with prefix_new, the loading calls, then prefix_finish once
 * before the first lookup; lookups need no lock and never allocate. The map owns all its
 * memory. */
#ifndef BLACKOUT_PREFIX_H
#define BLACKOUT_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text.h"

#define PREFIX_COUNTRIES_MAX 254           /* watched countries in one map */
#define PREFIX_SPLIT         255           /* /24 divided by longer prefixes */
#define PREFIX_MAX_ENTRIES   (1u << 22)    /* prefixes loaded into one map (IPv4 ranges split) */
#define PREFIX_LINE_MAX      TEXT_LINE_MAX /* longest line read from a prefix or RIR file */
#define PREFIX_CODES         (26 * 26 + 1) /* 0 = none, then AA..ZZ */

/* One parsed CIDR (or single address), as the first and last address it covers. */
struct cidr {
    uint8_t version; /* 4 or 6 */
    uint8_t len;     /* prefix length */
    uint32_t first4, last4;
    uint8_t first6[16], last6[16];
};

struct prefix_entry; /* a loaded prefix, private to prefix.c */

/* The next 8 bits of a dense IPv6 bucket: where its runs start, and its dense buckets. */
struct prefix_v6_table {
    uint32_t start[257];
    uint32_t sub[256];
};

/* What loading saw, for the log. */
struct prefix_stats {
    uint64_t entries;   /* prefixes loaded (IPv4 ranges count once per CIDR) */
    uint64_t zz;        /* entries with the code ZZ (unknown country), skipped */
    uint64_t conflicts; /* the same prefix given two countries: the later kept */
    unsigned countries; /* distinct country codes loaded */
};

/* Fields are private to prefix.c; they are here so the IPv4 lookup can be inlined. */
struct prefix_set {
    /* lookup tables, built by prefix_finish */
    uint8_t *v4;          /* [1 << 24] country index per /24, or PREFIX_SPLIT */
    uint64_t *v4_any;     /* bit per /16: some /24 of it is watched (8 KiB, always cached) */
    uint64_t *split;      /* bit per /24: split */
    uint32_t *split_base; /* [65536 + 1] split /24s in the /16s before */
    uint32_t *split_off;  /* [nsplit + 1] first run of each split /24 */
    uint16_t *runs;       /* host << 8 | country index, sorted per split /24 */
    size_t nsplit, nruns;
    uint64_t *v6_hi, *v6_lo; /* first address of each IPv6 run, sorted; run 0 starts at :: */
    uint8_t *v6_cc;          /* country index of each run */
    size_t nv6;
    uint32_t *v6_first; /* [65536 + 1] first run starting in each IPv6 /16 */
    uint32_t *v6_sub;   /* [65536] table of a dense /16 (+1), or 0 */
    struct prefix_v6_table *v6_tables;
    size_t nv6_tables, cap_v6_tables;
    unsigned ncountries;
    char codes[PREFIX_COUNTRIES_MAX + 1][3]; /* index -> "KP"; [0] = "" */
    uint64_t v4_addresses, v6_runs;          /* watched space, for the log */
    /* loading */
    struct prefix_entry *entries;
    size_t nentries, cap_entries;
    bool loaded[PREFIX_CODES];
    struct prefix_stats stats;
    bool finished;
};

/* Returns an empty map, or NULL when out of memory. */
struct prefix_set *prefix_new(void);
void prefix_free(struct prefix_set *p);

/* Parses "a.b.c.d/n", "a.b.c.d", "v6addr/n" or "v6addr". Rejects host bits set under the
 * mask. Returns 0, or -1 with a message in err. */
int prefix_parse_cidr(const char *text, struct cidr *out, char *err, size_t errlen);

/* The code 1..676 of a two-letter country code (either case), or 0 when it is not two
 * ASCII letters. */
unsigned prefix_code(const char *cc);

/* Parses a --country value: "all", or codes joined with ','. Writes the codes (upper case,
 * duplicates dropped) to out. Returns their number, 0 for "all", or -1 with a message in
 * err (not two letters, ZZ, more than max). */
int prefix_country_list(const char *text, char (*out)[3], unsigned max, char *err, size_t errlen);

/* Adds a parsed prefix, or an IPv4 range (cut into CIDRs), of country cc (two letters; ZZ
 * is counted and skipped). Return 1 (added), 0 (ZZ), or -1 with a message in err (bad
 * code, caps, after prefix_finish). */
int prefix_add_cidr(struct prefix_set *p, const struct cidr *c, const char *cc, char *err,
                    size_t errlen);
int prefix_add_v4_range(struct prefix_set *p, uint32_t first, uint32_t last, const char *cc,
                        char *err, size_t errlen);

/* Adds the built-in set of a country ("KP"). Returns -1 (message in err) for a country
 * without a built-in set. */
int prefix_load_builtin(struct prefix_set *p, const char *cc, char *err, size_t errlen);

/* Resolves the loaded prefixes (most specific wins) and keeps the countries of the
 * --country value `countries` ("all" or NULL: every loaded code). Required once before
 * lookups; the loaded prefixes are freed. Returns 0, or -1 with a message in err (a
 * country with no address in the sources, too many countries, out of memory). */
int prefix_finish(struct prefix_set *p, const char *countries, char *err, size_t errlen);

/* After prefix_finish: watched countries, an index's code ("" for 0 or out of range), and
 * the index of a code (0 when not watched). */
unsigned prefix_ncountries(const struct prefix_set *p);
const char *prefix_country_code(const struct prefix_set *p, unsigned idx);
unsigned prefix_country_find(const struct prefix_set *p, const char *cc);

/* Watched IPv4 addresses and IPv6 runs, what loading saw, and the bytes the lookup tables
 * take (allocated; of the 16 MiB IPv4 table only written pages are resident). */
uint64_t prefix_v4_addresses(const struct prefix_set *p);
size_t prefix_v6_ranges(const struct prefix_set *p);
struct prefix_stats prefix_stats(const struct prefix_set *p);
size_t prefix_bytes(const struct prefix_set *p);

unsigned prefix_country_v4_split(const struct prefix_set *p, uint32_t a);

/* The watched country of IPv4 address a (host order): 1..N, or 0. */
static inline unsigned prefix_country_v4(const struct prefix_set *p, uint32_t a)
{
    if (!(p->v4_any[a >> 22] >> (a >> 16 & 63) & 1))
        return 0; /* nothing watched in its /16: the 16 MiB table is not touched */
    unsigned c = p->v4[a >> 8];
    return c != PREFIX_SPLIT ? c : prefix_country_v4_split(p, a);
}

/* The watched country of an IPv6 address (16 bytes, network order): 1..N, or 0. */
unsigned prefix_country_v6(const struct prefix_set *p, const uint8_t a[16]);

/* Is the address in a watched country? */
static inline bool prefix_has_v4(const struct prefix_set *p, uint32_t a)
{
    return prefix_country_v4(p, a) != 0;
}

static inline bool prefix_has_v6(const struct prefix_set *p, const uint8_t a[16])
{
    return prefix_country_v6(p, a) != 0;
}

/* Does the parsed prefix contain the address (16-byte form, IPv4 as ::ffff:a.b.c.d)? */
bool cidr_contains(const struct cidr *c, uint8_t version, uint32_t a4, const uint8_t a16[16]);

#endif
