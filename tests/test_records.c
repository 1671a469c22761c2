/* Unit tests for events: JSON written and read back, what is refused, and the readable
 * line (its columns and what each kind of event says). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "records.h"

#include <stdio.h>
#include <string.h>

#define T0 1749254400 /* 2025-06-07 00:00:00Z */

static struct event make(enum event_kind k, const char *route)
{
    struct event e = {.kind = (uint8_t)k, .duration = -1};
    bool own = k == EVENT_SENSOR_BLIND || k == EVENT_SENSOR_OK;
    snprintf(e.country, sizeof e.country, "%s", own ? "*" : "KP");
    snprintf(e.route, sizeof e.route, "%s", route);
    snprintf(e.sensor, sizeof e.sensor, "s1");
    e.since = T0 + 3600;
    e.detected = T0 + 3610;
    return e;
}

static void round_trip(void **state)
{
    struct event e = make(EVENT_COUNTRY_DOWN, "*"), back;
    struct json j;
    e.cause = CAUSE_ATTACK;
    e.baseline_pps = 64.695;
    e.evidence = (struct event_evidence){.routes_silent = 2,
                                         .routes_total = 3,
                                         .in_ratio = 0.25,
                                         .surge_before = true,
                                         .one_way = true,
                                         .sensors_silent = 2,
                                         .sensors_total = 2};
    snprintf(e.sensor, sizeof e.sensor, "we\"ird\\");
    json_init(&j);
    event_json(&e, &j);
    assert_true(json_ok(&j));
    assert_non_null(strstr(j.buf, "\"sensors_total\":2"));
    assert_int_equal(event_from_json(j.buf, j.len, &back), 0);
    assert_int_equal(back.kind, EVENT_COUNTRY_DOWN);
    assert_int_equal(back.cause, CAUSE_ATTACK);
    assert_string_equal(back.route, "*");
    assert_string_equal(back.country, "KP");
    assert_non_null(strstr(j.buf, "\"event\":\"country_down\",\"country\":\"KP\",\"route\":\"*\""));
    assert_string_equal(back.sensor, "we\"ird\\");
    assert_int_equal(back.since, e.since);
    assert_int_equal(back.detected, e.detected);
    assert_int_equal(back.duration, -1);
    assert_true(back.baseline_pps > 64.69 && back.baseline_pps < 64.7);
    assert_int_equal(back.evidence.routes_silent, 2);
    assert_int_equal(back.evidence.routes_total, 3);
    assert_int_equal(back.evidence.sensors_silent, 2);
    assert_int_equal(back.evidence.sensors_total, 2);
    assert_true(back.evidence.surge_before && back.evidence.one_way);
    assert_true(back.evidence.in_ratio == 0.25);
    json_free(&j);

    e = make(EVENT_SENSOR_OK, "*");
    e.duration = 600;
    e.evidence.drops = 12345;
    json_init(&j);
    event_json(&e, &j);
    assert_null(strstr(j.buf, "sensors_")); /* only combined events carry them */
    assert_int_equal(event_from_json(j.buf, j.len, &back), 0);
    assert_int_equal(back.duration, 600);
    assert_int_equal(back.evidence.drops, 12345);
    json_free(&j);
}

/* A collapse: residuals, kind and the country_down's routes, written and read back. */
static void collapse_evidence(void **state)
{
    struct event e = make(EVENT_COUNTRY_DOWN, "*"), back;
    struct json j;
    char line[512];
    e.cause = CAUSE_INTERNAL;
    e.evidence.routes_silent = e.evidence.routes_total = 2;
    e.evidence.residual_in = 0.125;
    e.evidence.residual_out = 0.063;
    e.evidence.kind = DOWN_KIND_COLLAPSE;
    e.evidence.nroutes = 2;
    e.evidence.routes[0] = (struct event_route){"cn", T0 + 3000, 0.25, 0.125, DOWN_KIND_COLLAPSE};
    e.evidence.routes[1] = (struct event_route){"r.2", T0 + 3600, 0, 0, DOWN_KIND_SILENT};
    json_init(&j);
    event_json(&e, &j);
    assert_non_null(strstr(j.buf,
                           "\"one_way\":false,\"residual_in\":0.125,\"residual_out\":0.063,"
                           "\"kind\":\"collapse\",\"routes\":{\"cn\":{\"since\":1749257400,"
                           "\"residual_in\":0.25,\"residual_out\":0.125,\"kind\":\"collapse\"},"
                           "\"r.2\":{\"since\":1749258000,\"residual_in\":0,"
                           "\"residual_out\":0,\"kind\":\"silent\"}}}"));
    assert_int_equal(event_from_json(j.buf, j.len, &back), 0);
    assert_int_equal(back.evidence.kind, DOWN_KIND_COLLAPSE);
    assert_true(back.evidence.residual_in == 0.125);
    assert_int_equal(back.evidence.nroutes, 2);
    assert_string_equal(back.evidence.routes[0].name, "cn");
    assert_int_equal(back.evidence.routes[0].since, T0 + 3000);
    assert_true(back.evidence.routes[0].residual_out == 0.125);
    assert_string_equal(back.evidence.routes[1].name, "r.2"); /* a dot in a route name */
    assert_int_equal(back.evidence.routes[1].kind, DOWN_KIND_SILENT);
    event_text(&back, line, sizeof line);
    assert_non_null(strstr(line, "cause internal, routes 2/2 down, collapse to in 13% out 6% of "
                                 "expected"));
    json_free(&j);

    /* other events carry none of it */
    e = make(EVENT_ROUTE_UP, "cn");
    json_init(&j);
    event_json(&e, &j);
    assert_null(strstr(j.buf, "kind"));
    assert_null(strstr(j.buf, "residual"));
    json_free(&j);
    static const char bad[] = "{\"type\":\"event\",\"event\":\"country_down\",\"evidence\":"
                              "{\"routes\":{\"cn\":{\"since\":\"noon\"}}}}";
    assert_int_equal(event_from_json(bad, strlen(bad), &back), -1);
}

static void refused(void **state)
{
    struct event e;
    static const char *const bad[] = {
        "",
        "{\"type\":\"bin\",\"event\":\"route_down\"}",
        "{\"type\":\"event\",\"event\":\"route_sideways\"}",
        "{\"type\":\"event\"}",
        "{\"type\":\"event\",\"event\":\"route_down\",\"since\":\"soon\"}",
        "{\"type\":\"event\",\"event\":\"route_down\",\"since\":1e30}",
        "{\"type\":\"event\",\"event\":\"route_down\",\"route\":\"c\\u0000n\"}",
        "{\"type\":\"event\",\"event\":\"route_down\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (event_from_json(bad[i], strlen(bad[i]), &e) != -1)
            fail_msg("accepted: %s", bad[i]);
    static const char ok[] = "{\"type\":\"event\",\"event\":\"route_up\",\"route\":\"cn\","
                             "\"extra\":[1,2],\"cause\":\"meteor\"}";
    assert_int_equal(event_from_json(ok, strlen(ok), &e), 0);
    assert_int_equal(e.cause, CAUSE_UNKNOWN);
}

static void readable_lines(void **state)
{
    char line[512];
    struct event e = make(EVENT_COUNTRY_DOWN, "*");
    e.cause = CAUSE_INTERNAL;
    e.evidence.routes_silent = e.evidence.routes_total = 2;
    assert_string_equal(event_text(&e, line, sizeof line),
                        "2025-06-07 01:00:10Z  country_down  KP/*      sensor s1        since "
                        "01:00:00Z (10 s to detect)    cause internal, routes 2/2 silent");

    e = make(EVENT_ROUTE_UP, "cn");
    e.since = T0 + 5400;
    e.detected = T0 + 5420;
    e.duration = 1800;
    e.baseline_pps = 32.46;
    e.observed_pps = 26;
    e.evidence.sensors_total = 2;
    e.evidence.sensors_silent = 1;
    assert_string_equal(event_text(&e, line, sizeof line),
                        "2025-06-07 01:30:20Z  route_up      KP/cn     sensor s1        since "
                        "01:30:00Z (20 s to detect)    down 30 min, back at 80% of 32.5 pkt/s, "
                        "back at 1/2 sensors");

    /* a silence that began the day before shows its date; a long delay reads in minutes */
    e = make(EVENT_ROUTE_DOWN, "ru");
    e.since = T0 - 150;
    e.detected = T0 + 10;
    e.baseline_pps = 4;
    e.evidence.in_ratio = 0.5;
    e.evidence.one_way = true;
    event_text(&e, line, sizeof line);
    assert_non_null(strstr(line, "since 2025-06-06 23:57:30Z (2 min 40 s to detect)"));
    assert_non_null(strstr(line, "was 4.0 pkt/s, now in 50% out 0%, one way (nothing comes back)"));

    e = make(EVENT_SENSOR_BLIND, "*");
    e.evidence.drops = 7;
    event_text(&e, line, sizeof line);
    assert_non_null(strstr(line, "sensor_blind  *         sensor s1 "));
    assert_non_null(strstr(line, "sees 0% of its usual traffic, 7 drops"));
    e = make(EVENT_COUNTRY_UP, "*");
    e.duration = 90000;
    e.evidence.routes_total = 2;
    e.evidence.routes_silent = 1;
    event_text(&e, line, sizeof line);
    assert_non_null(strstr(line, "down 1 d 1 h, routes 1/2 back"));
    /* a short buffer is cut, never overrun */
    char small[24];
    assert_int_equal(strlen(event_text(&e, small, sizeof small)), sizeof small - 1);
}

/* Events read back from Redis may hold any finite number: event_text stays defined (the
 * inputs of tests/fuzz/regress/fuzz_json/route-up-huge-ratio and detect-delay-overflow). */
static void extreme_values_read_back(void **state)
{
    static const char huge_ratio[] =
        "{\"type\":\"event\",\"event\":\"route_up\",\"route\":\"ru\",\"sensor\":\"s2\","
        "\"since\":1749259800,\"detected\":1749259810,\"baseline_pps\":4,\"observed_pps\":3e9,"
        "\"duration\":1800}";
    static const char far_apart[] =
        "{\"type\":\"event\",\"event\":\"route_down\",\"route\":\"cn\",\"sensor\":\"s1\","
        "\"since\":-9e18,\"detected\":9e18,\"baseline_pps\":4,\"observed_pps\":0,"
        "\"duration\":-1}";
    struct event e;
    char line[512];

    assert_int_equal(event_from_json(huge_ratio, strlen(huge_ratio), &e), 0);
    assert_non_null(strstr(event_text(&e, line, sizeof line), "back at 100000000% of 4.0 pkt/s"));
    assert_int_equal(event_from_json(far_apart, strlen(far_apart), &e), 0);
    event_text(&e, line, sizeof line);
    assert_non_null(strstr(line, "since -9000000000000000000 ("));
    assert_non_null(strstr(line, "(106751991167300 d 15 h to detect)")); /* INT64_MAX s */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(collapse_evidence),
        cmocka_unit_test(refused),
        cmocka_unit_test(readable_lines),
        cmocka_unit_test(extreme_values_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
