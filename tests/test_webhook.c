/* Unit tests for the webhook: URL, header and format checks (messages without the value),
 * redaction of URLs with credentials, a failed request whose message shows no secret, and
 * the Alertmanager v2 body of down, up and sensor events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json.h"
#include "records.h"
#include "webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[1024];

static void urls(void **state)
{
    const char *good[] = {"http://127.0.0.1:8080/hook", "https://hooks.example.org/a/b?x=1",
                          "http://u:p@[::1]:9/", "HTTPS://example.org"};
    const char *bad[] = {"",
                         "http//x",
                         "ftp://example.org/",
                         "file:///etc/passwd",
                         "example.org/hook",
                         "http://",
                         "http://exa mple.org/",
                         "http://:secret@/x",
                         "https://user:hunter2@exa\nmple.org/"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(webhook_check_url(good[i], err, sizeof err), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(webhook_check_url(bad[i], err, sizeof err), -1);
        assert_non_null(strstr(err, "not an http:// or https:// URL"));
        assert_null(strstr(err, "hunter2"));
    }
}

static void headers(void **state)
{
    assert_int_equal(webhook_check_header("Authorization: Bearer abc", err, sizeof err), 0);
    assert_int_equal(webhook_check_header("X-Token:abc", err, sizeof err), 0);
    assert_int_equal(webhook_check_header("X-Empty:", err, sizeof err), 0);
    const char *bad[] = {"no colon s3cret",       ": s3cret",     "Bad Name: s3cret",
                         "X-A: s3cret\r\nX-B: 1", "X(y): s3cret", "X-A: s3cret\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(webhook_check_header(bad[i], err, sizeof err), -1);
        assert_null(strstr(err, "s3cret"));
    }
    assert_int_equal(webhook_check_format("json", err, sizeof err), 0);
    assert_int_equal(webhook_check_format("alertmanager", err, sizeof err), 0);
    assert_int_equal(webhook_check_format("xml", err, sizeof err), -1);
}

static void redaction(void **state)
{
    char buf[WEBHOOK_URL_SHOWN];

    assert_string_equal(webhook_redact("https://user:hunter2@hooks.example.org:8443/T0/B1/"
                                       "s3cretpath?token=abc",
                                       buf, sizeof buf),
                        "https://***@hooks.example.org:8443/…");
    assert_string_equal(webhook_redact("http://127.0.0.1:9093/api/v2/alerts", buf, sizeof buf),
                        "http://127.0.0.1:9093/…");
    assert_string_equal(webhook_redact("http://example.org", buf, sizeof buf),
                        "http://example.org/");
    assert_string_equal(webhook_redact("http://:pw@[::1]/?q", buf, sizeof buf),
                        "http://***@[::1]/…");
    assert_string_equal(webhook_redact("nonsense", buf, sizeof buf), "(an unreadable URL)");
}

/* Nothing listens on port 1: the failure says so, without the URL's secrets. */
static void failure_without_secrets(void **state)
{
    const char *hdr[] = {"Authorization: Bearer t0ken-value"};
    const struct webhook_config c = {.url = "http://alice:hunter2@127.0.0.1:1/hooks/s3cretpath",
                                     .headers = hdr,
                                     .nheaders = 1,
                                     .timeout_s = 2,
                                     .format = WEBHOOK_JSON};
    struct webhook *w = webhook_new(&c, err, sizeof err);
    assert_non_null(w);
    const char *json = "{\"type\":\"event\"}";
    assert_int_equal(webhook_post(w, "1-0", json, strlen(json), err, sizeof err), -1);
    assert_non_null(strstr(err, "webhook http://***@127.0.0.1:1/…: "));
    assert_null(strstr(err, "hunter2"));
    assert_null(strstr(err, "alice"));
    assert_null(strstr(err, "s3cretpath"));
    assert_null(strstr(err, "t0ken"));
    assert_null(strchr(err, '\n'));
    /* an ID that would add a header line is refused before any request */
    assert_int_equal(webhook_post(w, "1-0\r\nX-Evil: 1", json, strlen(json), err, sizeof err), -1);
    assert_non_null(strstr(err, "without a stream entry ID"));
    webhook_free(w);
    webhook_free(NULL);
}

/* The event's JSON as the sink stores it. */
static void event_line(const struct event *e, char *buf, size_t size)
{
    struct json j;
    json_init(&j);
    event_json(e, &j);
    assert_true(json_ok(&j));
    snprintf(buf, size, "%.*s", (int)j.len, j.buf);
    json_free(&j);
}

static void alertmanager_body(void **state)
{
    struct event down = {.kind = EVENT_COUNTRY_DOWN,
                         .cause = CAUSE_INTERNAL,
                         .country = "KP",
                         .route = "*",
                         .sensor = "s1",
                         .since = 1749258000,
                         .detected = 1749258010,
                         .baseline_pps = 64.7,
                         .duration = -1,
                         .evidence = {.routes_silent = 2, .routes_total = 2}};
    struct event up = down;
    char line[2048];
    struct json j;

    up.kind = EVENT_COUNTRY_UP;
    up.cause = CAUSE_NONE;
    up.since = 1749259800;
    up.detected = 1749259820;
    up.duration = 1800;
    json_init(&j);

    event_line(&down, line, sizeof line);
    assert_int_equal(
        webhook_alertmanager_body("1749258011000-0", line, strlen(line), 1749258100, &j), 0);
    json_raw(&j, "", 1);
    const char *want_down =
        "[{\"labels\":{\"alertname\":\"BlackoutCountryDown\",\"sensor\":\"s1\",\"route\":\"*\","
        "\"country\":\"KP\",\"severity\":\"critical\"},\"annotations\":{\"summary\":\"";
    assert_memory_equal(j.buf, want_down, strlen(want_down));
    assert_non_null(strstr(j.buf, "\"event\":\"country_down\",\"since\":\"2025-06-07T01:00:00Z\","
                                  "\"detected\":\"2025-06-07T01:00:10Z\",\"blackout_id\":"
                                  "\"1749258011000-0\",\"cause\":\"internal\"},"));
    /* endsAt: a week after it was sent, so Alertmanager keeps it firing */
    assert_non_null(strstr(j.buf, "\"startsAt\":\"2025-06-07T01:00:00Z\",\"endsAt\":"
                                  "\"2025-06-14T01:01:40Z\"}]"));

    event_line(&up, line, sizeof line);
    assert_int_equal(
        webhook_alertmanager_body("1749259821000-0", line, strlen(line), 1749259900, &j), 0);
    json_raw(&j, "", 1);
    /* the same labels: it resolves the down's alert, from when the silence began to the
     * return */
    const char *want_up =
        "[{\"labels\":{\"alertname\":\"BlackoutCountryDown\",\"sensor\":\"s1\",\"route\":\"*\","
        "\"country\":\"KP\",\"severity\":\"critical\"},";
    assert_memory_equal(j.buf, want_up, strlen(want_up));
    assert_non_null(strstr(j.buf, "\"duration\":\"1800\"}"));
    assert_non_null(strstr(j.buf, "\"startsAt\":\"2025-06-07T01:00:00Z\",\"endsAt\":"
                                  "\"2025-06-07T01:30:00Z\"}]"));
    assert_null(strstr(j.buf, "\"cause\""));

    struct event route = down;
    route.kind = EVENT_ROUTE_DOWN;
    snprintf(route.route, sizeof route.route, "cn");
    route.country[0] = '\0';
    event_line(&route, line, sizeof line); /* no country in the event (older entries): no label */
    assert_int_equal(webhook_alertmanager_body("2-0", line, strlen(line), 0, &j), 0);
    json_raw(&j, "", 1);
    assert_non_null(strstr(j.buf, "{\"alertname\":\"BlackoutRouteDown\",\"sensor\":\"s1\","
                                  "\"route\":\"cn\",\"severity\":\"warning\"}"));
    /* the detection time when the clock is behind it */
    assert_non_null(strstr(j.buf, "\"endsAt\":\"2025-06-14T01:00:10Z\""));

    struct event blind = down;
    blind.kind = EVENT_SENSOR_BLIND;
    snprintf(blind.country, sizeof blind.country, "*");
    event_line(&blind, line, sizeof line);
    assert_int_equal(webhook_alertmanager_body("3-0", line, strlen(line), 0, &j), 0);
    json_raw(&j, "", 1);
    assert_non_null(strstr(j.buf, "\"alertname\":\"BlackoutSensorBlind\""));
    assert_null(strstr(j.buf, "\"country\"")); /* the sensor's own event: no country label */

    assert_int_equal(webhook_alertmanager_body("4-0", "not json", 8, 0, &j), -1);
    assert_int_equal(webhook_alertmanager_body("4-0", "{\"type\":\"bin\"}", 14, 0, &j), -1);
    json_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(urls),
        cmocka_unit_test(headers),
        cmocka_unit_test(redaction),
        cmocka_unit_test(failure_without_secrets),
        cmocka_unit_test(alertmanager_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
