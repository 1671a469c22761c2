/* offload — GRO and LRO through SIOCETHTOOL. See offload.h. */
#include "offload.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* One ethtool command with a struct ethtool_value. Returns 0, or -1 with errno set. */
static int ethtool_value(const char *iface, uint32_t cmd, uint32_t *data)
{
    struct ethtool_value v = {.cmd = cmd, .data = *data};
    struct ifreq ifr;

    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", iface);
    ifr.ifr_data = (char *)&v;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = ioctl(fd, SIOCETHTOOL, &ifr);
    int saved = errno;
    close(fd);
    errno = saved;
    if (rc == 0)
        *data = v.data;
    return rc == 0 ? 0 : -1;
}

/* The driver has no such setting: as good as off. */
static bool not_there(int e)
{
    return e == EOPNOTSUPP || e == EINVAL || e == ENODEV;
}

int offload_get(const char *iface, unsigned *on, char *err, size_t errlen)
{
    uint32_t gro = 0, flags = 0;

    *on = 0;
    if (ethtool_value(iface, ETHTOOL_GGRO, &gro) < 0 && !not_there(errno)) {
        snprintf(err, errlen, "%s: cannot read its receive offloads: %s", iface, strerror(errno));
        return -1;
    }
    if (ethtool_value(iface, ETHTOOL_GFLAGS, &flags) < 0 && !not_there(errno)) {
        snprintf(err, errlen, "%s: cannot read its receive offloads: %s", iface, strerror(errno));
        return -1;
    }
    *on = (gro ? OFFLOAD_GRO : 0u) | ((flags & ETH_FLAG_LRO) ? OFFLOAD_LRO : 0u);
    return 0;
}

int offload_set(const char *iface, unsigned mask, bool enable, char *err, size_t errlen)
{
    uint32_t v = enable, flags = 0;
    const char *what = "gro";

    if ((mask & OFFLOAD_GRO) && ethtool_value(iface, ETHTOOL_SGRO, &v) < 0)
        goto err;
    what = "lro";
    if (mask & OFFLOAD_LRO) {
        if (ethtool_value(iface, ETHTOOL_GFLAGS, &flags) < 0)
            goto err;
        flags = enable ? flags | ETH_FLAG_LRO : flags & ~(uint32_t)ETH_FLAG_LRO;
        if (ethtool_value(iface, ETHTOOL_SFLAGS, &flags) < 0)
            goto err;
    }
    return 0;
err:
    snprintf(err, errlen, "%s: cannot turn %s %s: %s", iface, what, enable ? "on" : "off",
             strerror(errno));
    return -1;
}

const char *offload_args(unsigned mask, bool enable, char *buf, size_t len)
{
    const char *v = enable ? "on" : "off";

    snprintf(buf, len, "%s%s%s%s%s", (mask & OFFLOAD_GRO) ? "gro " : "",
             (mask & OFFLOAD_GRO) ? v : "", mask == (OFFLOAD_GRO | OFFLOAD_LRO) ? " " : "",
             (mask & OFFLOAD_LRO) ? "lro " : "", (mask & OFFLOAD_LRO) ? v : "");
    return buf;
}
