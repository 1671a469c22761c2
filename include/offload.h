/* offload — the receive offloads of a capture interface, through the ethtool ioctl.
 *
 * Beside the capture stage (used by live.c when it opens an interface). Generic receive
 * offload (GRO) and large receive offload (LRO) merge the segments of a flow into one large
 * packet before a capture socket sees them, so a sensor counts fewer packets than crossed
 * the wire. Hardware GRO (rx-gro-hw) is not read or changed here: where the kernel makes it
 * depend on GRO it goes off with it, else `ethtool -K IFACE rx-gro-hw off` is needed.
 * Reading works without privilege; changing needs CAP_NET_ADMIN (root, before --user).
 * Each call opens and closes its own socket: nothing is kept. */
#ifndef BLACKOUT_OFFLOAD_H
#define BLACKOUT_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>

enum offload_kind {
    OFFLOAD_GRO = 1 << 0,
    OFFLOAD_LRO = 1 << 1,
};

/* Sets *on to the offloads that are on for iface (an interface without them, or whose
 * driver does not answer, has none). Returns 0, or -1 with one line in err. */
int offload_get(const char *iface, unsigned *on, char *err, size_t errlen);

/* Turns the offloads in mask on (enable) or off. Returns 0, or -1 with one line in err
 * naming the interface and the offload. */
int offload_set(const char *iface, unsigned mask, bool enable, char *err, size_t errlen);

/* The arguments of `ethtool -K IFACE ...` that turn the offloads in mask on or off
 * ("gro off lro off"), into buf. Returns buf. */
const char *offload_args(unsigned mask, bool enable, char *buf, size_t len);

#endif
