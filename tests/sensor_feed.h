/* sensor_feed — for the unit tests that drive a whole sensor: options from a word list, and
 * one UDP packet on a VLAN at a given second. Include after cmocka.h, pkt.h and sensor.h. */
#ifndef BLACKOUT_TEST_SENSOR_FEED_H
#define BLACKOUT_TEST_SENSOR_FEED_H

/* Parses args ({"blackout", "replay", ..., NULL}) into o; the test fails unless CONFIG_OK. */
static inline void feed_options(struct options *o, const char *const *args, char *err,
                                size_t errlen)
{
    char *argv[32];
    int argc = 0;
    for (; *args && argc < 31; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    assert_int_equal(config_parse(argc, argv, o, err, errlen), CONFIG_OK);
}

/* One UDP packet from src:sport to dst:53 on VLAN vlan at second t, its wire length the
 * frame's plus extra bytes. */
static inline void feed_udp(struct sensor *s, unsigned vlan, uint32_t src, uint32_t dst,
                            unsigned sport, int64_t t, uint32_t extra)
{
    struct pkt k = {.n = 0};
    pk_eth(&k, 0x8100);
    pk_vlan(&k, vlan, 0x0800);
    pk_ip4(&k, src, dst, 17, 8 + 10, 0, 0);
    pk_udp(&k, sport, 53, 10);
    const struct packet p = {.ts_sec = t,
                             .caplen = (uint32_t)k.n,
                             .len = (uint32_t)k.n + extra,
                             .data = k.b,
                             .iface = -1,
                             .link = DECODE_LINK_ETH};
    sensor_packet(s, &p);
}

#endif
