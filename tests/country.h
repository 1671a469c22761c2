/* country — lookup helpers the country map's tests share (test_prefix, test_source,
 * test_geoip): an address's watched index and code, IPv6 from its text. Include after
 * cmocka.h and prefix.h. */
#ifndef BLACKOUT_TESTS_COUNTRY_H
#define BLACKOUT_TESTS_COUNTRY_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

static inline unsigned cc6(const struct prefix_set *p, const char *text)
{
    uint8_t a[16];
    assert_int_equal(inet_pton(AF_INET6, text, a), 1);
    return prefix_country_v6(p, a);
}

static inline bool has6(const struct prefix_set *p, const char *text)
{
    return cc6(p, text) != 0;
}

/* The code of the country of an address, "" when none. */
static inline const char *v4cc(const struct prefix_set *p, uint32_t a)
{
    return prefix_country_code(p, prefix_country_v4(p, a));
}

static inline const char *v6cc(const struct prefix_set *p, const char *text)
{
    return prefix_country_code(p, cc6(p, text));
}

#endif
