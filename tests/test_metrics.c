/* Unit tests for the metrics endpoint: listen addresses, the triple buffer's states (one
 * side at a time, then a publisher and a reader thread at once), the exposition text, and
 * the HTTP server itself on a loopback port (200, 404, 405, a port already taken). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char err[512];

static void addresses(void **state)
{
    struct metrics_addr a;

    assert_int_equal(metrics_parse_addr("127.0.0.1:9469", &a, err, sizeof err), 0);
    assert_string_equal(a.text, "127.0.0.1:9469");
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(metrics_parse_addr("[::1]:80", &a, err, sizeof err), 0);
    assert_string_equal(a.text, "[::1]:80");
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(metrics_parse_addr("0.0.0.0:0", &a, err, sizeof err), 0);
    const char *bad[] = {"",
                         "9469",
                         ":9469",
                         "127.0.0.1",
                         "127.0.0.1:",
                         "127.0.0.1:65536",
                         "127.0.0.1:-1",
                         "localhost:9469",
                         "::1:9469",
                         "[::1]9469",
                         "[127.0.0.1]:80",
                         "1.2.3.4:80x",
                         "[]:80",
                         "[::1]:",
                         "256.0.0.1:80",
                         "1.2.3.4: 80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(metrics_check_addr(bad[i], err, sizeof err), -1);
        assert_non_null(strstr(err, "is not ADDR:PORT"));
        assert_null(strchr(err, '\n'));
    }
}

static void fill(struct metrics *m, const char *sensor)
{
    struct metrics_snapshot *s = metrics_back(m);
    assert_int_equal(s->nrows, 0);
    snprintf(s->sensor, sizeof s->sensor, "%s", sensor);
}

/* The buffer states, scripted: nothing before the first publish; a publish seen once taken;
 * a second take without a publish keeps the same snapshot; of two publishes before a take
 * the later wins; the three buffers are always distinct, so neither side ever touches the
 * other's. */
static void buffer_states(void **state)
{
    struct metrics *m = metrics_new(4);
    assert_non_null(m);
    assert_null(metrics_take(m));

    fill(m, "a");
    const struct metrics_snapshot *back_a = metrics_back(m);
    snprintf(metrics_back(m)->sensor, METRICS_NAME_MAX, "a");
    metrics_publish(m);
    const struct metrics_snapshot *f = metrics_take(m);
    assert_ptr_equal(f, back_a);
    assert_string_equal(f->sensor, "a");
    assert_int_equal(f->seq, 1);
    assert_ptr_not_equal(metrics_back(m), f); /* the publisher fills another buffer */

    assert_ptr_equal(metrics_take(m), f); /* nothing new: the same one, whole */
    assert_string_equal(metrics_take(m)->sensor, "a");

    fill(m, "b");
    metrics_publish(m);
    fill(m, "c");
    struct metrics_snapshot *c = metrics_back(m);
    snprintf(c->sensor, METRICS_NAME_MAX, "c");
    assert_ptr_not_equal(c, f); /* the reader still holds "a" */
    metrics_publish(m);
    f = metrics_take(m);
    assert_string_equal(f->sensor, "c");
    assert_int_equal(f->seq, 3);
    assert_ptr_equal(f, c);

    /* the reader holds "c"; the publisher goes on with the two others in turn */
    for (int i = 0; i < 5; i++) {
        struct metrics_snapshot *b = metrics_back(m);
        assert_ptr_not_equal(b, f);
        snprintf(b->sensor, METRICS_NAME_MAX, "n%d", i);
        metrics_publish(m);
    }
    assert_string_equal(f->sensor, "c");
    f = metrics_take(m);
    assert_string_equal(f->sensor, "n4");
    assert_int_equal(f->seq, 8);

    /* rows beyond the room are refused and counted */
    struct metrics_snapshot *b = metrics_back(m);
    for (int i = 0; i < 4; i++)
        assert_non_null(metrics_add_row(b));
    assert_null(metrics_add_row(b));
    assert_int_equal(b->refused, 1);
    assert_int_equal(b->nrows, 4);
    metrics_free(m);
    metrics_free(NULL);
}

/* A publisher and a reader thread at once: every snapshot the reader sees is whole (every
 * row holds the snapshot's own number) and they never go back in time. */
#define ROUNDS 20000

static void *publisher(void *arg)
{
    struct metrics *m = arg;
    for (uint64_t i = 1; i <= ROUNDS; i++) {
        struct metrics_snapshot *s = metrics_back(m);
        for (int r = 0; r < 8; r++) {
            struct metrics_row *row = metrics_add_row(s);
            row->pkts[0] = row->pkts[1] = row->flows = i;
        }
        s->backlog_bins = i;
        metrics_publish(m);
    }
    return NULL;
}

static void threads(void **state)
{
    struct metrics *m = metrics_new(8);
    pthread_t t;
    uint64_t last = 0, seen = 0;

    assert_int_equal(pthread_create(&t, NULL, publisher, m), 0);
    while (last < ROUNDS) {
        const struct metrics_snapshot *s = metrics_take(m);
        if (!s)
            continue;
        assert_int_equal(s->nrows, 8);
        for (int r = 0; r < 8; r++) {
            assert_int_equal(s->rows[r].pkts[0], s->backlog_bins);
            assert_int_equal(s->rows[r].flows, s->backlog_bins);
        }
        assert_true(s->backlog_bins >= last);
        assert_int_equal(s->seq, s->backlog_bins);
        seen += s->backlog_bins != last;
        last = s->backlog_bins;
    }
    pthread_join(t, NULL);
    assert_true(seen >= 1);
    metrics_free(m);
}

static void sample_snapshot(struct metrics_snapshot *s)
{
    snprintf(s->sensor, sizeof s->sensor, "s\"1\\\n");
    struct metrics_row *r = metrics_add_row(s);
    snprintf(r->country, sizeof r->country, "KP");
    snprintf(r->route, sizeof r->route, "cn");
    r->counted = r->judged = true;
    r->pkts[0] = 41;
    r->pkts[1] = 40;
    r->bytes[0] = 5120;
    r->bytes[1] = 9870;
    r->flows = 12;
    r->state = METRICS_DOWN;
    r->expected_pps = 8.5;
    r->expected_dir_pps[0] = 4;
    r->observed_dir_pps[0] = 1;
    r = metrics_add_row(s);
    snprintf(r->country, sizeof r->country, "KP");
    snprintf(r->route, sizeof r->route, "gone"); /* removed by a reload: totals only */
    r->counted = true;
    r = metrics_add_row(s);
    snprintf(r->country, sizeof r->country, "KP");
    snprintf(r->route, sizeof r->route, "*");
    r->judged = true;
    r->state = METRICS_UP;
    struct metrics_count *c = metrics_add_control(s);
    snprintf(c->name, sizeof c->name, "cn");
    c->n = 310;
    s->nifaces = 1;
    snprintf(s->ifaces[0].name, sizeof s->ifaces[0].name, "eth1");
    s->ifaces[0].n = 7;
    s->redis = s->redis_connected = true;
    s->backlog_bins = 3;
    s->flush.nbounds = 2;
    s->flush.bounds[0] = 0.001;
    s->flush.bounds[1] = 0.5;
    s->flush.counts[0] = 4;
    s->flush.counts[1] = 1;
    s->flush.counts[2] = 2;
    s->flush.sum = 3.25;
    s->have_bin = true;
    s->last_bin_end = 1749254410;
}

static void exposition(void **state)
{
    struct metrics *m = metrics_new(8);
    struct metrics_text t = {0};

    sample_snapshot(metrics_back(m));
    metrics_publish(m);
    assert_int_equal(metrics_render(metrics_take(m), &t), 0);
    const char *want[] = {
        "# TYPE blackout_packets_total counter\n",
        "blackout_packets_total{sensor=\"s\\\"1\\\\\\n\",country=\"KP\",route=\"cn\","
        "direction=\"in\"} 41\n",
        "route=\"cn\",direction=\"out\"} 9870\n",
        "blackout_packets_total{sensor=\"s\\\"1\\\\\\n\",country=\"KP\",route=\"gone\","
        "direction=\"out\"} 0\n",
        "blackout_flows_total{sensor=\"s\\\"1\\\\\\n\",country=\"KP\",route=\"cn\"} 12\n",
        "blackout_control_packets_total{sensor=\"s\\\"1\\\\\\n\",route=\"cn\"} 310\n",
        "blackout_capture_drops_total{sensor=\"s\\\"1\\\\\\n\",interface=\"eth1\"} 7\n",
        "route=\"cn\",state=\"learning\"} 0\n",
        "route=\"cn\",state=\"down\"} 1\n",
        "route=\"*\",state=\"up\"} 1\n",
        "blackout_route_expected_pps{sensor=\"s\\\"1\\\\\\n\",country=\"KP\",route=\"cn\"} 8.5\n",
        "blackout_route_residual{sensor=\"s\\\"1\\\\\\n\",country=\"KP\",route=\"cn\","
        "direction=\"in\"} 0.25\n",
        "blackout_sensor_blind{sensor=\"s\\\"1\\\\\\n\"} 0\n",
        "blackout_redis_backlog_bins{sensor=\"s\\\"1\\\\\\n\"} 3\n",
        "# TYPE blackout_redis_flush_seconds histogram\n",
        "blackout_redis_flush_seconds_bucket{sensor=\"s\\\"1\\\\\\n\",le=\"0.001\"} 4\n",
        "blackout_redis_flush_seconds_bucket{sensor=\"s\\\"1\\\\\\n\",le=\"0.5\"} 5\n",
        "blackout_redis_flush_seconds_bucket{sensor=\"s\\\"1\\\\\\n\",le=\"+Inf\"} 7\n",
        "blackout_redis_flush_seconds_sum{sensor=\"s\\\"1\\\\\\n\"} 3.25\n",
        "blackout_redis_flush_seconds_count{sensor=\"s\\\"1\\\\\\n\"} 7\n",
        "blackout_redis_connected{sensor=\"s\\\"1\\\\\\n\"} 1\n",
        "blackout_last_bin_end_seconds{sensor=\"s\\\"1\\\\\\n\"} 1749254410\n",
        "blackout_build_info{sensor=\"s\\\"1\\\\\\n\",version=\"",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!strstr(t.buf, want[i]))
            fail_msg("missing: %s\nin:\n%s", want[i], t.buf);
    }
    /* no residual where nothing is expected, no state for a route no longer in force */
    assert_null(strstr(t.buf, "} inf"));
    assert_null(strstr(t.buf, "} nan"));
    assert_null(strstr(t.buf, "route=\"gone\",state="));
    assert_null(strstr(t.buf, "blackout_route_residual{sensor=\"s\\\"1\\\\\\n\",country=\"KP\","
                              "route=\"cn\",direction=\"out\"}"));
    /* every family: HELP, then TYPE, once each */
    for (unsigned i = 0; metrics_family_name(i); i++) {
        char help[128], type[128];
        snprintf(help, sizeof help, "# HELP %s ", metrics_family_name(i));
        snprintf(type, sizeof type, "# TYPE %s ", metrics_family_name(i));
        const char *h = strstr(t.buf, help), *ty = strstr(t.buf, type);
        assert_non_null(h);
        assert_non_null(ty);
        assert_true(h < ty);
        assert_null(strstr(h + 1, help));
    }
    assert_int_equal(t.buf[t.len - 1], '\n');

    /* without Redis and before a bin: the families are there, without samples */
    struct metrics_snapshot *b = metrics_back(m);
    snprintf(b->sensor, sizeof b->sensor, "s2");
    metrics_publish(m);
    assert_int_equal(metrics_render(metrics_take(m), &t), 0);
    assert_non_null(strstr(t.buf, "# TYPE blackout_redis_connected gauge\n# HELP"));
    assert_non_null(strstr(t.buf, "# TYPE blackout_redis_flush_seconds histogram\n# HELP"));
    assert_non_null(strstr(t.buf, "# TYPE blackout_last_bin_end_seconds gauge\n# HELP"));
    assert_non_null(strstr(t.buf, "blackout_sensor_blind{sensor=\"s2\"} 0\n"));
    metrics_text_free(&t);
    metrics_free(m);
}

/* ---- the server, over a loopback socket ---- */

static unsigned port_of(const struct metrics *m)
{
    const char *p = strrchr(metrics_url(m), ':');
    assert_non_null(p);
    return (unsigned)strtoul(p + 1, NULL, 10);
}

/* Sends a request and returns the whole answer (the server closes after it). */
static char *request(unsigned port, const char *req)
{
    static char buf[65536];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    size_t n = 0;
    ssize_t r;

    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    for (r = 1; n < sizeof buf - 1 && r > 0; n += r > 0 ? (size_t)r : 0)
        r = read(fd, buf + n, sizeof buf - 1 - n);
    buf[n] = '\0';
    close(fd);
    return buf;
}

static void server(void **state)
{
    struct metrics *m = metrics_new(8);
    struct metrics *other = metrics_new(8);
    char addr[64];

    assert_int_equal(metrics_listen(m, "127.0.0.1:0", err, sizeof err), 0);
    unsigned port = port_of(m);
    assert_true(port > 0);
    assert_non_null(strstr(request(port, "GET /metrics HTTP/1.0\r\n\r\n"), "HTTP/1.1 503"));
    sample_snapshot(metrics_back(m));
    metrics_publish(m);

    char *r = request(port, "GET /metrics HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    assert_non_null(strstr(r, "\r\n\r\n# HELP blackout_packets_total "));
    assert_non_null(strstr(r, "blackout_build_info{"));
    r = request(port, "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(request(port, "GET / HTTP/1.0\r\n\r\n"), "HTTP/1.1 404"));
    assert_non_null(strstr(request(port, "GET /metrics/x HTTP/1.0\r\n\r\n"), "HTTP/1.1 404"));
    r = request(port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
    assert_non_null(strstr(r, "HTTP/1.1 405"));
    assert_non_null(strstr(r, "Allow: GET\r\n"));
    assert_non_null(strstr(request(port, "HEAD /metrics HTTP/1.0\r\n\r\n"), "HTTP/1.1 405"));
    assert_non_null(strstr(request(port, "DELETE /x HTTP/1.0\r\n\r\n"), "HTTP/1.1 405"));

    /* a second listener on the same port: one line, saying why */
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    assert_int_equal(metrics_listen(other, addr, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot listen: Address already in use"));
    assert_int_equal(metrics_listen(other, "127.0.0.1", err, sizeof err), -1);
    assert_non_null(strstr(err, "is not ADDR:PORT"));
    metrics_free(other);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(addresses),  cmocka_unit_test(buffer_states), cmocka_unit_test(threads),
        cmocka_unit_test(exposition), cmocka_unit_test(server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
