/* Unit tests for the redis module: URL parsing (good and hostile input, secrets never in
 * messages; sentinel and cluster forms), the place a URL points to, cluster key slots,
 * reconnect backoff, command sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "redis.h"

#include <stdio.h>
#include <string.h>

static char err[512];

static int parse(const char *s, struct redis_url *u)
{
    err[0] = '\0';
    return redis_url_parse(s, u, err, sizeof err);
}

static void tcp_forms(void **state)
{
    struct redis_url u;
    char w[300];

    assert_int_equal(parse("redis://127.0.0.1:6379/0", &u), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_false(u.has_pass);
    assert_false(u.unix_socket);
    assert_int_equal(parse("redis://cache.example.net", &u), 0);
    assert_string_equal(u.host, "cache.example.net");
    assert_int_equal(u.port, 6379);
    assert_int_equal(parse("redis://h:7000/", &u), 0);
    assert_int_equal(u.port, 7000);
    assert_int_equal(parse("redis://h/15", &u), 0);
    assert_int_equal(u.db, 15);
    assert_int_equal(parse("redis://[::1]:6380/2", &u), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_string_equal(redis_url_where(&u, w, sizeof w), "[::1]:6380/2");
}

static void credentials(void **state)
{
    struct redis_url u;
    char w[300];

    assert_int_equal(parse("redis://:s3cret@h:1/3", &u), 0);
    assert_true(u.has_pass);
    assert_string_equal(u.user, "");
    assert_string_equal(u.pass, "s3cret");
    assert_string_equal(redis_url_where(&u, w, sizeof w), "h:1/3");
    assert_int_equal(parse("redis://alice:pw@h", &u), 0);
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.pass, "pw");
    /* '@', ':' and '/' inside the password: the last '@' ends the user information */
    assert_int_equal(parse("redis://bob:p@ss:w/rd@h:6379/1", &u), 0);
    assert_string_equal(u.user, "bob");
    assert_string_equal(u.pass, "p@ss:w/rd");
    assert_string_equal(u.host, "h");
    assert_int_equal(u.db, 1);
    assert_int_equal(parse("redis://:%40%3a%2F%25@h", &u), 0);
    assert_string_equal(u.pass, "@:/%");
    assert_int_equal(parse("unix://:pw@/run/r.sock?db=4", &u), 0);
    assert_true(u.unix_socket);
    assert_string_equal(u.path, "/run/r.sock");
    assert_string_equal(u.pass, "pw");
    assert_int_equal(u.db, 4);
    assert_string_equal(redis_url_where(&u, w, sizeof w), "/run/r.sock?db=4");
}

/* Every refusal is one line that never quotes the user information. */
static void hostile(void **state)
{
    static const char *const bad[] = {
        "",
        "http://h",
        "rediss://:topsecret@h",
        "redis://",
        "redis://:topsecret@",
        "redis://topsecret@h",
        "redis://user:@h",
        "redis://:topsecret@h:0",
        "redis://:topsecret@h:65536",
        "redis://:topsecret@h:99999999999999999999999",
        "redis://:topsecret@h:-1",
        "redis://:topsecret@h:12ab",
        "redis://:topsecret@h/1000001",
        "redis://:topsecret@h/x",
        "redis://:topsecret@h/1/2",
        "redis://:topsecret@h?db=1",
        "redis://:topsecret@[::1",
        "redis://:topsecret@h o",
        "redis://:topsecret@h%00",
        "redis://:top%00secret@h",
        "redis://:top%4secret@h",
        "redis://:topsecret%@h",
        "unix://:topsecret@relative.sock",
        "unix:///r.sock?db=",
        "unix:///r.sock?dbx=1",
        "unix:///r.sock?db=1&x",
        "redis://:topsecret@h1,h2",
        "redis-sentinel://:topsecret@h1,h2",
        "redis-sentinel://:topsecret@h1#",
        "redis-sentinel://:topsecret@h1#my master",
        "redis-sentinel://:topsecret@h1,#m",
        "redis-sentinel://:topsecret@h1:0#m",
        "redis-sentinel://:topsecret@h1/x#m",
        "redis-cluster://:topsecret@h1,h2/1",
        "redis-cluster://:topsecret@h1,,h2",
        "redis-cluster://:topsecret@",
        "redis-cluster://:topsecret@h1,h2:70000",
        "redis-clusters://h1",
    };
    struct redis_url u;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], &u) != -1)
            fail_msg("accepted: '%s'", bad[i]);
        assert_non_null(strstr(err, "Redis URL"));
        assert_null(strstr(err, "topsecret"));
        assert_null(strchr(err, '\n'));
    }
}

static void sentinel_forms(void **state)
{
    struct redis_url u;
    char w[600];

    assert_int_equal(parse("redis-sentinel://s1,s2:26380,[::1]:5000/3#mymaster", &u), 0);
    assert_int_equal(u.mode, BO_REDIS_SENTINEL);
    assert_int_equal(u.nhosts, 3);
    assert_string_equal(u.hosts[0].host, "s1");
    assert_int_equal(u.hosts[0].port, 26379);
    assert_int_equal(u.hosts[1].port, 26380);
    assert_string_equal(u.hosts[2].host, "::1");
    assert_int_equal(u.hosts[2].port, 5000);
    assert_int_equal(u.db, 3);
    assert_string_equal(u.master, "mymaster");
    assert_false(u.has_pass);
    assert_string_equal(redis_url_where(&u, w, sizeof w),
                        "mymaster via sentinels s1:26379,s2:26380,[::1]:5000 db 3");
    /* '#' and '@' in a password: the last '#' ends the hosts, the last '@' the user */
    assert_int_equal(parse("redis-sentinel://al:p#s@w@s1#m-1.x", &u), 0);
    assert_string_equal(u.user, "al");
    assert_string_equal(u.pass, "p#s@w");
    assert_string_equal(u.master, "m-1.x");
    assert_int_equal(u.nhosts, 1);
    assert_null(strstr(redis_url_where(&u, w, sizeof w), "p#s"));
    assert_int_equal(parse("redis-sentinel://s1", &u), -1);
    assert_non_null(strstr(err, "#MASTER"));
}

static void cluster_forms(void **state)
{
    struct redis_url u;
    char w[600];

    assert_int_equal(parse("redis-cluster://:pw@n1:7000,n2,n3:7002", &u), 0);
    assert_int_equal(u.mode, BO_REDIS_CLUSTER);
    assert_int_equal(u.nhosts, 3);
    assert_int_equal(u.hosts[0].port, 7000);
    assert_int_equal(u.hosts[1].port, 6379);
    assert_string_equal(u.host, "n1");
    assert_int_equal(u.port, 7000);
    assert_string_equal(u.pass, "pw");
    assert_string_equal(redis_url_where(&u, w, sizeof w), "cluster n1:7000,n2:6379,n3:7002");
    assert_int_equal(parse("redis-cluster://n1/0", &u), 0);
    assert_int_equal(parse("redis-cluster://n1/1", &u), -1);
    assert_non_null(strstr(err, "database 0"));
    char s[600] = "redis-cluster://h0";
    for (int i = 1; i <= BO_REDIS_HOSTS_MAX; i++) {
        size_t n = strlen(s);
        snprintf(s + n, sizeof s - n, ",h%d", i);
    }
    assert_int_equal(parse(s, &u), -1);
    assert_int_equal(parse("redis://h", &u), 0);
    assert_int_equal(u.mode, BO_REDIS_SINGLE);
    assert_int_equal(u.nhosts, 1);
}

/* The values Redis gives with CLUSTER KEYSLOT. */
static void key_slots(void **state)
{
    static const struct {
        const char *key;
        unsigned slot;
    } cases[] = {
        {"foo", 12182},
        {"hello", 866},
        {"123456789", 12739},
        {"{user1000}.following", 3443},
        {"foo{}{bar}", 8363},    /* an empty tag: the whole key */
        {"foo{{bar}}zap", 4015}, /* the tag is "{bar" */
        {"foo{bar}{zap}", 5061}, /* the first tag */
        {"blackout:{s1}:heartbeat", 15224},
        {"blackout:sensors", 6447},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(redis_key_slot(cases[i].key, strlen(cases[i].key)), cases[i].slot);
    assert_int_equal(redis_key_slot("x{s1}", 5), redis_key_slot("{s1}:bins:cn", 12));
}

static void long_inputs(void **state)
{
    char s[4096], host[400];
    struct redis_url u;

    memset(host, 'a', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(s, sizeof s, "redis://%s:1/0", host);
    assert_int_equal(parse(s, &u), -1);
    char pass[1000];
    memset(pass, 'p', sizeof pass - 1);
    pass[sizeof pass - 1] = '\0';
    snprintf(s, sizeof s, "redis://:%s@h", pass);
    assert_int_equal(parse(s, &u), -1);
    assert_null(strstr(err, "pppp"));
    snprintf(s, sizeof s, "unix:///%s", pass);
    assert_int_equal(parse(s, &u), -1);
}

static void backoff(void **state)
{
    assert_int_equal(redis_backoff_ms(0, 100, 5000), 100);
    assert_int_equal(redis_backoff_ms(1, 100, 5000), 200);
    assert_int_equal(redis_backoff_ms(5, 100, 5000), 3200);
    assert_int_equal(redis_backoff_ms(6, 100, 5000), 5000);
    assert_int_equal(redis_backoff_ms(63, 100, 5000), 5000);
    assert_int_equal(redis_backoff_ms(1000, 100, 5000), 5000);
    assert_int_equal(redis_backoff_ms(62, 1, UINT64_MAX), (uint64_t)1 << 62);
    assert_int_equal(redis_backoff_ms(3, 0, 5000), 0);
    for (unsigned a = 0; a < 200; a++)
        assert_true(redis_backoff_ms(a, 100, 5000) <= 5000);
}

static void command_bytes(void **state)
{
    size_t lens[] = {3, 1, 5}; /* SET k hello */
    assert_int_equal(redis_command_bytes(3, lens),
                     strlen("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"));
}

/* Nothing listens on port 1: a connection error, not a fatal one, and no secret. */
static void connect_refused(void **state)
{
    struct redis_url u;
    assert_int_equal(parse("redis://:topsecret@127.0.0.1:1/0", &u), 0);
    struct redis *r = redis_new(&u, 500, "t");
    assert_non_null(r);
    assert_int_equal(redis_connect(r, err, sizeof err), BO_REDIS_EIO);
    assert_false(redis_connected(r));
    assert_non_null(strstr(err, "127.0.0.1:1/0"));
    assert_null(strstr(err, "topsecret"));
    redis_free(r);
    redis_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tcp_forms),       cmocka_unit_test(credentials),
        cmocka_unit_test(hostile),         cmocka_unit_test(long_inputs),
        cmocka_unit_test(backoff),         cmocka_unit_test(command_bytes),
        cmocka_unit_test(connect_refused), cmocka_unit_test(sentinel_forms),
        cmocka_unit_test(cluster_forms),   cmocka_unit_test(key_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
