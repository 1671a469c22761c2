/* fuzz_redis_url — the --redis URL parser and the password-free form of what it parsed. */

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
            strnlen(u.pass, sizeof u.pass) == sizeof u.pass)
            abort();
    }
    free(s);
    return 0;
}
