/* fuzz_packet — captured frames through the per-packet path: decode, country match and
 * route, the flow table and nDPI classification, then each flow record's JSON.
 *
 * Input: byte 0 picks the link type (low 3 bits: enum decode_link), the capture interface
 * (bits 4-5: none, eth0, eth1) and whether IP tunnels stay closed (bit 6: --tunnels off). Then up
 * to MAX_FRAMES frames, each as one byte of seconds since the previous frame, two bytes of length
 * (big-endian) and the frame (cut to what is left of the input). Each frame goes through the path
 * twice at the same time, so that its flow is found as well as made; its decode must equal the
 * general decoder's (DECODE_NO_FAST). Every input gets a fresh flow
 * table, flushed at the end (every nDPI flow goes back to the pool): inputs do not depend on each
 * other and memory stays bounded. nDPI, the country set and the route table are built once. */

#include "classify.h"
#include "decode.h"
#include "flow.h"
#include "fuzz.h"
#include "prefix.h"
#include "records.h"
#include "route.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define START_US   (1749254400LL * 1000000) /* the generator's default start */
#define MAX_FRAMES 16

static struct prefix_set *country;
static struct route_table routes;
static struct classify *cls;
static struct flow_table *flows; /* one per input */
static const struct flow_timeouts timeouts = {
    .idle_us = 60 * 1000000LL, .closing_us = 10 * 1000000LL, .active_us = 300 * 1000000LL};

/* The built-in KP set, half of IPv4 (so random addresses are country traffic about as often
 * as not, in both directions) and some IPv6; rules of every match kind. */
static const char *const extra_prefixes[] = {"0.0.0.0/1", "2000::/4", "fd00::/8"};
static const char *const rules[] = {
    "cn=vlan:100,mac:02:00:00:00:01:00",
    "ru=vlan:101,mac:02:00:00:00:01:01",
    "lan=iface:eth1",
    "pfx=prefix:175.45.176.0/24,prefix:2001:db8::/32",
    "tap=erspan:100,vni:100,erspan:0",
};
static const char *const ifaces[] = {"eth0", "eth1"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const struct classify_config cc = {
        .max_active = 16, .tcp_pkts = 8, .udp_pkts = 4, .extra = true, .extra_pkts = 4};
    char err[256];
    struct cidr c;

    (void)argc;
    (void)argv;
    fuzz_quiet();
    country = prefix_new();
    if (!country || prefix_load_builtin(country, "KP", err, sizeof err) < 0)
        abort();
    for (size_t i = 0; i < sizeof extra_prefixes / sizeof extra_prefixes[0]; i++)
        if (prefix_parse_cidr(extra_prefixes[i], &c, err, sizeof err) < 0 ||
            prefix_add_cidr(country, &c, "KP", err, sizeof err) < 0)
            abort();
    if (prefix_finish(country, "KP", err, sizeof err) < 0)
        abort();
    route_init(&routes);
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (route_add(&routes, rules[i], err, sizeof err) < 0)
            abort();
    if (route_finish(&routes, err, sizeof err) < 0 ||
        route_bind_ifaces(&routes, ifaces, 2, err, sizeof err) < 0)
        abort();
    cls = classify_new(&cc, err, sizeof err);
    if (!cls)
        abort();
    return 0;
}

/* A flow leaves: final label, then its record as JSON (host names come from packets). */
static void on_flow(void *ctx, struct flow *f, enum flow_end why)
{
    struct flow_record r;
    struct json j;

    (void)ctx;
    classify_done(cls, f);
    flow_to_record(f, why, &r);
    snprintf(r.route, sizeof r.route, "%s", routes.names[f->pair[0]]);
    snprintf(r.proto, sizeof r.proto, "%s", classify_name(cls, f->label));
    snprintf(r.host, sizeof r.host, "%s", f->host);
    json_init(&j);
    flow_record_json(&r, "fuzz", &j);
    json_free(&j);
}

/* The one-pass decoder of the common frame gives what the general decoder gives. */
static void same_as_general(enum decode_link link, unsigned flags, const uint8_t *buf, size_t len,
                            const struct decoded *d)
{
    struct decoded g;

    decode_packet(link, flags | DECODE_NO_FAST, buf, len, &g);
    g.flags = d->flags;
    if (memcmp(&g, d, offsetof(struct decoded, src)) != 0 ||
        (d->has_ip && (memcmp(g.src, d->src, 16) != 0 || memcmp(g.dst, d->dst, 16) != 0)))
        abort();
}

/* The stages of sensor_packet after decode, less the bins. */
static void one_packet(enum decode_link link, unsigned flags, int iface, const uint8_t *buf,
                       size_t len, int64_t now_us)
{
    struct decoded d;
    struct route_verdict v;
    bool created;

    decode_packet(link, flags, buf, len, &d);
    same_as_general(link, flags, buf, len, &d);
    (void)decode_status_name((enum decode_status)d.status);
    for (unsigned i = 0; i < d.nencap; i++)
        (void)decode_encap_name((enum decode_encap)d.encap[i]);
    uint32_t bytes = decode_bytes(&d, (uint32_t)len + 100); /* wire longer than captured */
    if (bytes > len + 100)
        abort();
    route_match(&routes, country, &d, iface, &v);
    if (!v.nhits)
        return;
    struct flow *f = flow_get(flows, &d, now_us, &created);
    if (!f)
        return;
    if (created)
        f->pair[0] = (uint16_t)v.hit[0].route;
    (void)flow_from_src(f, &d);
    flow_count(flows, f, v.hit[0].dir, bytes, d.tcp_flags, now_us, on_flow, NULL);
    classify_packet(cls, f, &d, now_us);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum decode_link link = (enum decode_link)(data[0] & 7);
    int iface = (int)((data[0] >> 4) & 3) - 1; /* -1: a file, no interface */
    unsigned flags = (data[0] & 0x40) ? 0 : DECODE_TUNNELS;
    int64_t now_us = START_US;

    if (iface > 1)
        iface = 1;
    flows = flow_new(64, &timeouts);
    if (!flows)
        return 0;
    size_t off = 1;
    for (unsigned n = 0; n < MAX_FRAMES && off + 3 <= size; n++) {
        int64_t gap_us = (int64_t)data[off] * 1000000;
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        now_us += gap_us;
        if (gap_us > 0) /* the sensor expires flows when the packet second changes */
            flow_expire(flows, now_us, on_flow, NULL);
        one_packet(link, flags, iface, data + off, len, now_us);
        one_packet(link, flags, iface, data + off, len, now_us);
        off += len;
    }
    flow_flush(flows, on_flow, NULL);
    flow_free(flows);
    flows = NULL;
    return 0;
}
