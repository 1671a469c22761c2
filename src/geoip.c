/* geoip — MaxMind DB country databases into the country map. See geoip.h. */
#include "geoip.h"

#include <maxminddb.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 4096 /* data records seen (a country database has a few hundred) */
#define NO_NODE     UINT64_MAX

struct cached {
    uint32_t key; /* data offset + 1; 0 = free */
    char cc[3];   /* "" = no country in the record */
};

struct walk {
    const MMDB_s *db;
    struct prefix_set *p;
    const char *path;
    uint64_t v4_root; /* node of the IPv4 subtree in an IPv6 database, or NO_NODE */
    uint64_t visits;  /* nodes read: a tree reads each node at most once */
    uint8_t addr[16]; /* bits of the network being walked (IPv4: the first 4 bytes) */
    int added;
    char *err;
    size_t errlen;
    struct cached cache[CACHE_SLOTS];
};

static int fail(struct walk *w, const char *what)
{
    snprintf(w->err, w->errlen, "%s: %s", w->path, what);
    return -1;
}

/* The country code of a data record into cc ("" when it has none). Returns 0, or -1 when
 * the record cannot be read. */
static int record_country(struct walk *w, MMDB_entry_s *entry, char cc[3])
{
    MMDB_entry_data_s d;
    int rc = MMDB_get_value(entry, &d, "country", "iso_code", NULL);

    if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || (rc == MMDB_SUCCESS && !d.has_data))
        rc = MMDB_get_value(entry, &d, "registered_country", "iso_code", NULL);
    if (rc != MMDB_SUCCESS && rc != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
        snprintf(w->err, w->errlen, "%s: data record at %u: %s", w->path, entry->offset,
                 MMDB_strerror(rc));
        return -1;
    }
    cc[0] = '\0';
    if (rc != MMDB_SUCCESS || !d.has_data)
        return 0;
    if (d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size != 2) {
        snprintf(w->err, w->errlen,
                 "%s: data record at %u: a country code that is not two "
                 "letters",
                 w->path, entry->offset);
        return -1;
    }
    memcpy(cc, d.utf8_string, 2);
    cc[2] = '\0';
    return 0;
}

static int cached_country(struct walk *w, MMDB_entry_s *entry, char cc[3])
{
    uint32_t key = entry->offset + 1;
    size_t i = (key * 2654435761u) % CACHE_SLOTS;

    for (size_t n = 0; n < CACHE_SLOTS; n++, i = (i + 1) % CACHE_SLOTS) {
        if (w->cache[i].key == key) {
            memcpy(cc, w->cache[i].cc, 3);
            return 0;
        }
        if (w->cache[i].key == 0) {
            if (record_country(w, entry, cc) < 0)
                return -1;
            w->cache[i].key = key;
            memcpy(w->cache[i].cc, cc, 3);
            return 0;
        }
    }
    return record_country(w, entry, cc);
}

/* A data record: the network of the walked bits, len bits long. */
static int add_network(struct walk *w, MMDB_entry_s *entry, unsigned len, bool v4)
{
    struct cidr c;
    char cc[3], why[160];

    if (cached_country(w, entry, cc) < 0)
        return -1;
    if (cc[0] == '\0')
        return 0;
    memset(&c, 0, sizeof c);
    c.len = (uint8_t)len;
    if (v4) {
        c.version = 4;
        c.first4 = (uint32_t)w->addr[0] << 24 | (uint32_t)w->addr[1] << 16 |
                   (uint32_t)w->addr[2] << 8 | w->addr[3];
    } else {
        c.version = 6;
        memcpy(c.first6, w->addr, 16);
    }
    int rc = prefix_add_cidr(w->p, &c, cc, why, sizeof why);
    if (rc < 0)
        return fail(w, why);
    w->added += rc;
    return 0;
}

static int walk_node(struct walk *w, uint64_t node, unsigned depth, bool v4);

static int walk_record(struct walk *w, uint64_t rec, uint8_t type, MMDB_entry_s *entry,
                       unsigned len, bool v4)
{
    switch (type) {
    case MMDB_RECORD_TYPE_EMPTY:
        return 0;
    case MMDB_RECORD_TYPE_SEARCH_NODE:
        if (!v4 && rec == w->v4_root)
            return 0; /* the IPv4 subtree, or an alias of it: walked as IPv4 */
        return walk_node(w, rec, len, v4);
    case MMDB_RECORD_TYPE_DATA:
        return add_network(w, entry, len, v4);
    }
    return fail(w, "broken search tree (a record points outside the file)");
}

static void set_bit(uint8_t *a, unsigned bit, bool on)
{
    uint8_t m = (uint8_t)(0x80u >> (bit & 7));
    a[bit >> 3] = on ? (uint8_t)(a[bit >> 3] | m) : (uint8_t)(a[bit >> 3] & ~m);
}

/* The node at depth bits: its left record has bit `depth` 0, its right record 1. */
static int walk_node(struct walk *w, uint64_t node, unsigned depth, bool v4)
{
    MMDB_search_node_s n;

    if (depth >= (v4 ? 32u : 128u))
        return fail(w, "broken search tree (deeper than an address)");
    if (++w->visits > w->db->metadata.node_count)
        return fail(w, "broken search tree (nodes reached twice)");
    if (node > UINT32_MAX || MMDB_read_node(w->db, (uint32_t)node, &n) != MMDB_SUCCESS)
        return fail(w, "broken search tree (a node cannot be read)");
    set_bit(w->addr, depth, false);
    if (walk_record(w, n.left_record, n.left_record_type, &n.left_record_entry, depth + 1, v4) < 0)
        return -1;
    set_bit(w->addr, depth, true);
    int rc =
        walk_record(w, n.right_record, n.right_record_type, &n.right_record_entry, depth + 1, v4);
    set_bit(w->addr, depth, false);
    return rc;
}

/* Follows the 96 bits of prefix (::/96 or ::ffff:0:0/96) from the root: the node there, or
 * NO_NODE when the path ends before. */
static uint64_t node_at_96(const MMDB_s *db, const uint8_t prefix[12])
{
    MMDB_search_node_s n;
    uint64_t node = 0;

    for (unsigned bit = 0; bit < 96; bit++) {
        if (node >= db->metadata.node_count || MMDB_read_node(db, (uint32_t)node, &n) != 0)
            return NO_NODE;
        bool one = (prefix[bit >> 3] >> (7 - (bit & 7))) & 1;
        if ((one ? n.right_record_type : n.left_record_type) != MMDB_RECORD_TYPE_SEARCH_NODE)
            return NO_NODE;
        node = one ? n.right_record : n.left_record;
    }
    return node;
}

static int walk_db(struct walk *w)
{
    static const uint8_t v4_compat[12] = {0};
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (w->db->metadata.ip_version == 4)
        return walk_node(w, 0, 0, true);
    w->v4_root = node_at_96(w->db, v4_compat);
    if (w->v4_root == NO_NODE)
        w->v4_root = node_at_96(w->db, v4_mapped);
    if (w->v4_root != NO_NODE && walk_node(w, w->v4_root, 0, true) < 0)
        return -1;
    memset(w->addr, 0, sizeof w->addr);
    return walk_node(w, 0, 0, false);
}

int geoip_load(struct prefix_set *p, const char *path, char *err, size_t errlen)
{
    MMDB_s db;
    struct walk *w = calloc(1, sizeof *w);
    int rc = w ? MMDB_open(path, MMDB_MODE_MMAP, &db) : MMDB_OUT_OF_MEMORY_ERROR;

    if (rc != MMDB_SUCCESS) {
        if (rc == MMDB_FILE_OPEN_ERROR || rc == MMDB_IO_ERROR)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        else if (rc == MMDB_OUT_OF_MEMORY_ERROR)
            snprintf(err, errlen, "%s: out of memory", path);
        else
            snprintf(err, errlen, "%s: not a MaxMind DB (%s)", path, MMDB_strerror(rc));
        free(w);
        return -1;
    }
    w->db = &db;
    w->p = p;
    w->path = path;
    w->v4_root = NO_NODE;
    w->err = err;
    w->errlen = errlen;
    rc = walk_db(w);
    if (rc == 0 && w->added == 0) {
        snprintf(err, errlen, "%s: no network with a country code (not a country database?)", path);
        rc = -1;
    }
    rc = rc < 0 ? -1 : w->added;
    MMDB_close(&db);
    free(w);
    return rc;
}
