/* Unit tests for the classifier (the real nDPI): a flow named from its payload gets the
 * packets after detection that can refine the label while there is no load, and none while
 * the budget of new flows is exceeded (that second and the next); a flow over the budget is
 * labelled by the port guess. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "classify.h"
#include "flow.h"
#include "pkt.h"

#include <string.h>

#define SEC 1000000LL

static const struct flow_timeouts TO = {
    .idle_us = 60 * SEC, .closing_us = 10 * SEC, .active_us = 300 * SEC};

static const char REQUEST[] = "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n"
                              "User-Agent: test\r\nAccept: */*\r\n\r\n";
static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                               "Content-Length: 0\r\n\r\n";

static const uint32_t CLIENT = IP4(198, 51, 100, 7), SERVER = IP4(175, 45, 176, 10);

/* An Ethernet/IPv4/TCP segment carrying text, decoded into *d (pointing into *p). */
static void segment(struct pkt *p, struct decoded *d, uint32_t src, unsigned sport, uint32_t dst,
                    unsigned dport, const char *text)
{
    size_t n = strlen(text);

    memset(p, 0, sizeof *p);
    pk_eth(p, 0x0800);
    pk_ip4(p, src, dst, 6, 20 + n, 0, 0);
    pk_tcp(p, sport, dport, 0x18, 0);
    pk_bytes(p, text, n);
    assert_int_equal(decode_packet(DECODE_LINK_ETH, 0, p->b, p->n, d), DECODE_OK);
}

struct rig {
    struct flow_table *flows;
    struct classify *cls;
};

/* The classifier on a thread of its own (as with two CPUs or more), or in the caller's
 * thread (as with one): every test runs both ways. */
static bool one_thread;

static void rig_init_n(struct rig *r, uint32_t budget, uint32_t n)
{
    const struct classify_config cc = {.max_active = n,
                                       .tcp_pkts = 12,
                                       .udp_pkts = 10,
                                       .extra = true,
                                       .extra_pkts = 4,
                                       .budget = budget,
                                       .one_thread = one_thread};
    char err[256];

    r->flows = flow_new(n, &TO);
    r->cls = classify_new(&cc, err, sizeof err);
    assert_non_null(r->flows);
    assert_non_null(r->cls);
}

static void rig_init(struct rig *r, uint32_t budget)
{
    rig_init_n(r, budget, 64);
}

static void done(void *ctx, struct flow *f, enum flow_end why)
{
    (void)why;
    classify_done(ctx, f);
}

/* As the sensor ends: every flow's label made final (its nDPI flow given back), then free. */
static void rig_free(struct rig *r)
{
    flow_flush(r->flows, done, r->cls);
    classify_free(r->cls);
    flow_free(r->flows);
}

/* One HTTP segment of the conversation on client port `port`, at time t (us): request (toward
 * the server) or response. Returns the flow. */
static struct flow *talk(struct rig *r, unsigned port, bool request, int64_t t)
{
    struct pkt p;
    struct decoded d;
    bool created;

    if (request)
        segment(&p, &d, CLIENT, port, SERVER, 80, REQUEST);
    else
        segment(&p, &d, SERVER, 80, CLIENT, port, RESPONSE);
    struct flow *f = flow_get(r->flows, &d, t, &created);
    assert_non_null(f);
    classify_packet(r->cls, f, &d, t);
    return f;
}

/* What the classifier knows of f once it has done the work handed to it. */
static unsigned known(const struct rig *r, const struct flow *f)
{
    uint16_t l;
    return classify_peek(r->cls, f, &l);
}

static const char *label(const struct rig *r, const struct flow *f)
{
    uint16_t l;
    classify_peek(r->cls, f, &l);
    return classify_name(r->cls, l);
}

/* Without load the response follows the request into nDPI (it may refine the label). */
static void extra_packets_without_load(void **state)
{
    struct rig r;
    rig_init(&r, 10);

    struct flow *f = talk(&r, 40000, true, 1 * SEC);
    assert_true(known(&r, f) & CLASSIFY_DETECTED);
    assert_string_equal(label(&r, f), "HTTP");
    assert_int_equal(classify_stats(r.cls)->packets, 1);
    talk(&r, 40000, false, 1 * SEC + 1000);
    assert_int_equal(classify_stats(r.cls)->packets, 2);
    assert_int_equal(classify_stats(r.cls)->shed, 0);
    rig_free(&r);
}

/* Over the budget (1 new flow per second): the second flow of the second is labelled by
 * guess, and the first flow's label is final at detection, the response not inspected; two
 * seconds later load is over and a new flow gets its response inspected again. */
static void no_extra_packets_under_load(void **state)
{
    struct rig r;
    rig_init(&r, 1);

    struct flow *a = talk(&r, 40001, true, 5 * SEC);
    assert_int_equal(classify_stats(r.cls)->packets, 1);
    struct flow *b = talk(&r, 40002, true, 5 * SEC + 100);
    assert_int_equal(classify_stats(r.cls)->shed, 1);
    assert_true(known(&r, b) & CLASSIFY_FINAL);
    assert_string_equal(label(&r, b), "HTTP"); /* port 80 */
    talk(&r, 40001, false, 5 * SEC + 200);
    assert_int_equal(classify_stats(r.cls)->packets, 1);
    assert_true(known(&r, a) & CLASSIFY_FINAL);
    assert_string_equal(label(&r, a), "HTTP");
    /* the next second is still under load: a flow detected then is final at once */
    struct flow *c = talk(&r, 40003, true, 6 * SEC + 100);
    talk(&r, 40003, false, 6 * SEC + 200);
    assert_int_equal(classify_stats(r.cls)->packets, 2);
    assert_true(known(&r, c) & CLASSIFY_FINAL);
    /* two seconds after the last one over the budget: refined again */
    struct flow *d = talk(&r, 40004, true, 7 * SEC + 100);
    assert_false(known(&r, d) & CLASSIFY_FINAL);
    talk(&r, 40004, false, 7 * SEC + 200);
    assert_int_equal(classify_stats(r.cls)->packets, 4);
    rig_free(&r);
}

/* A flow still being refined when load begins gets no more packets. */
static void load_ends_refining(void **state)
{
    struct rig r;
    rig_init(&r, 1);

    struct flow *a = talk(&r, 40010, true, 10 * SEC);
    assert_false(known(&r, a) & CLASSIFY_FINAL);
    talk(&r, 40011, true, 11 * SEC);       /* the budget's one flow of second 11 */
    talk(&r, 40012, true, 11 * SEC + 100); /* over it */
    assert_int_equal(classify_stats(r.cls)->shed, 1);
    unsigned long long before = classify_stats(r.cls)->packets;
    talk(&r, 40010, false, 11 * SEC + 200);
    assert_int_equal(classify_stats(r.cls)->packets, before);
    assert_true(known(&r, a) & CLASSIFY_FINAL);
    rig_free(&r);
}

/* Load is of a second and the one after it: packet time that goes back (a later file given
 * first, a clock stepped back) to before a second over the budget is not under load. */
static void load_is_not_in_the_past(void **state)
{
    struct rig r;
    rig_init(&r, 1);

    talk(&r, 40020, true, 1000000 * SEC);
    talk(&r, 40021, true, 1000000 * SEC + 100); /* over the budget at t = 1,000,000 s */
    assert_int_equal(classify_stats(r.cls)->shed, 1);
    struct flow *f = talk(&r, 40022, true, 500000 * SEC);
    assert_true(known(&r, f) & CLASSIFY_DETECTED);
    assert_false(known(&r, f) & CLASSIFY_FINAL); /* its response may still refine the label */
    unsigned long long before = classify_stats(r.cls)->packets;
    talk(&r, 40022, false, 500000 * SEC + 100);
    assert_int_equal(classify_stats(r.cls)->packets, before + 1);
    rig_free(&r);
}

/* Thousands of flows, each one large request ended at once, none waited for: more bytes
 * than the ring holds go through it (it wraps), flow ids are given back and taken again
 * while the classifier still works on their earlier flows, and every answer is the
 * inspection's: HTTP with the request's host. */
static void answers_in_order_through_the_ring(void **state)
{
    enum { FLOWS = 4000 };
    static struct classify_result res[FLOWS];
    static uint64_t ticket[FLOWS];
    char text[1500];
    struct rig r;

    rig_init_n(&r, 0, FLOWS);
    int n = snprintf(text, sizeof text, "GET / HTTP/1.1\r\nHost: www.example.com\r\nX-Pad: ");
    memset(text + n, 'a', sizeof text - (size_t)n - 5);
    memcpy(text + sizeof text - 5, "\r\n\r\n", 5);
    for (unsigned i = 0; i < FLOWS; i++) {
        struct pkt p;
        struct decoded d;
        bool created;
        segment(&p, &d, CLIENT, 20000 + i, SERVER, 80, text);
        struct flow *f = flow_get(r.flows, &d, 1 * SEC + i, &created);
        assert_non_null(f);
        classify_packet(r.cls, f, &d, 1 * SEC + i);
        ticket[i] = classify_end(r.cls, f, &res[i]);
        assert_true(ticket[i] > 0);
    }
    for (unsigned i = 0; i < FLOWS; i++) {
        classify_wait(r.cls, ticket[i]);
        assert_string_equal(classify_name(r.cls, res[i].label), "HTTP");
        assert_string_equal(res[i].host, "www.example.com");
    }
    assert_int_equal(classify_stats(r.cls)->packets, FLOWS);
    assert_int_equal(classify_stats(r.cls)->detected, FLOWS);
    assert_int_equal(classify_stats(r.cls)->active, 0);
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(extra_packets_without_load),
        cmocka_unit_test(no_extra_packets_under_load),
        cmocka_unit_test(load_ends_refining),
        cmocka_unit_test(load_is_not_in_the_past),
        cmocka_unit_test(answers_in_order_through_the_ring),
    };
    int failed = cmocka_run_group_tests_name("classifier on its own thread", tests, NULL, NULL);
    one_thread = true;
    return failed +
           cmocka_run_group_tests_name("classifier in the caller's thread", tests, NULL, NULL);
}
