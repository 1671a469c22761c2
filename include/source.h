/* source — the text files of the country map's addresses: prefix lists and the registries'
 * delegated-stats files, read line by line into a map under construction (prefix.h).
 *
 * Called at start and on every reload, before prefix_finish; each returns the number of
 * lines taken or -1 with "FILE:LINE: problem" (or "FILE: problem") in err. A failed load
 * leaves part of the file in the map: the caller frees the map (nothing half-loaded is
 * ever used). */
#ifndef BLACKOUT_SOURCE_H
#define BLACKOUT_SOURCE_H

#include "prefix.h"

#include <stddef.h>

/* "CIDR [CC]" per line, '#' comments, blank lines ignored; a line without CC belongs to
 * country cc (NULL: such a line is an error); CC ZZ is counted and skipped. */
int source_load_prefixes(struct prefix_set *p, const char *path, const char *cc, char *err,
                         size_t errlen);

/* RIR delegated-stats, classic or extended ("registry|cc|type|start|value|date|status
 * [|opaque-id...]"): the allocated and assigned ipv4 lines (start and address count, cut
 * into CIDRs) and ipv6 lines (start and prefix length) of every country. The version,
 * summary, asn, available and reserved lines are skipped. */
int source_load_rir(struct prefix_set *p, const char *path, char *err, size_t errlen);

#endif
