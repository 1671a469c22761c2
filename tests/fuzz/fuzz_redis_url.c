/* fuzz_redis_url — the --redis URL parser (one server, sentinels, cluster seeds) and the
 * password-free form of what it parsed. */

#include "fuzz.h"
#include "redis.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    char err[512], where[BO_REDIS_HOST_MAX + BO_REDIS_PATH_MAX + 64];
    struct redis_url u;

    if (!s)
        return 0;
    if (redis_url_parse(s, &u, err, sizeof err) == 0) {
        redis_url_where(&u, where, sizeof where);
        /* what was parsed is terminated within its field */
        if (strnlen(u.host, sizeof u.host) == sizeof u.host ||
            strnlen(u.path, sizeof u.path) == sizeof u.path ||
            strnlen(u.user, sizeof u.user) == sizeof u.user ||
            strnlen(u.pass, sizeof u.pass) == sizeof u.pass ||
            strnlen(u.master, sizeof u.master) == sizeof u.master || u.nhosts > BO_REDIS_HOSTS_MAX)
            abort();
        for (unsigned i = 0; i < u.nhosts; i++)
            if (strnlen(u.hosts[i].host, sizeof u.hosts[i].host) == sizeof u.hosts[i].host ||
                u.hosts[i].port == 0 || u.hosts[i].port > 65535)
                abort();
        /* a sentinel URL names its master, a cluster has database 0 */
        if ((u.mode == BO_REDIS_SENTINEL && !u.master[0]) || (u.mode == BO_REDIS_CLUSTER && u.db))
            abort();
    }
    free(s);
    return 0;
}
