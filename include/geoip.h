/* geoip — a MaxMind DB country database (GeoLite2-Country, DB-IP Country Lite, ...) read
 * once into the country map (prefix.h). The only module that includes maxminddb.h.
 *
 * At start (and on a reload) the database's search tree is walked once, node by node
 * (MMDB_read_node): every record that holds data is a network, whose country is the
 * record's country.iso_code (else registered_country.iso_code); each is added to the map
 * with prefix_add_cidr. The IPv4 subtree of an IPv6 database is found under ::/96 (or
 * ::ffff:0:0/96 when ::/96 is empty) and walked as IPv4; the database's aliases of it
 * (::ffff:0:0/96, 2001::/32, 2002::/16) are not walked again. No libmaxminddb call is
 * made per packet: lookups are the map's. */
#ifndef BLACKOUT_GEOIP_H
#define BLACKOUT_GEOIP_H

#include "prefix.h"

#include <stddef.h>

/* Adds every network of the database at path to p. Returns the number of networks added
 * (those with a country code other than ZZ), or -1 with "FILE: problem" in err (not a
 * MaxMind DB, a broken search tree, a bad country code, no country at all); p may then
 * hold part of the file and must be freed. */
int geoip_load(struct prefix_set *p, const char *path, char *err, size_t errlen);

#endif
