/* webhook — alerts POSTed to a URL: the `--webhook` handler of `blackout alerts`.
 *
 * Beside the alert consumer (alert.h), which decides what is acknowledged: one
 * webhook_post per alert, 0 on a 2xx answer (the entry is acknowledged), -1 otherwise (it
 * stays pending and alert.c retries it on its --exec schedule). The only module that
 * includes curl/curl.h (libcurl, one easy handle reused, so connections are kept alive).
 *
 * Each request: POST to the URL, `Content-Type: application/json`, `X-Blackout-Id:` the
 * stream entry ID, the --webhook-header lines, `User-Agent: blackout/VERSION`; no
 * redirects followed, http and https only, the whole request bounded by --webhook-timeout
 * (connect included). The body is the event's JSON as stored (--webhook-format json), or
 * an Alertmanager v2 alert list (alertmanager; webhook_alertmanager_body).
 *
 * Secrets: the URL may hold credentials (user:password@, a token in its path or query) and
 * the headers tokens; no message ever shows them. Messages name the URL as
 * webhook_redact() shows it: scheme, "***@" when it has a user part, host, port, and "/…"
 * for any path or query. */
#ifndef BLACKOUT_WEBHOOK_H
#define BLACKOUT_WEBHOOK_H

#include "json.h"

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_HEADERS_MAX 64
#define WEBHOOK_URL_SHOWN   160
#define WEBHOOK_AM_HOLD_S   (7 * 86400) /* endsAt of an open alert: this long after it is sent */

enum webhook_format { WEBHOOK_JSON, WEBHOOK_ALERTMANAGER };

struct webhook_config {
    const char *url;
    const char *const *headers; /* "Name: value" */
    unsigned nheaders;
    unsigned timeout_s;
    enum webhook_format format;
};

struct webhook;

/* Returns a handle, or NULL with one line in err (libcurl cannot start, out of memory). The
 * URL and headers are copied. */
struct webhook *webhook_new(const struct webhook_config *c, char *err, size_t errlen);

/* POSTs one alert: id its stream entry ID, json the event's JSON. Returns 0 when answered 2xx,
 * or -1 with one line in err (the answer's status and its first bytes, a timeout, a
 * connection error, an event the alertmanager format cannot read). */
int webhook_post(struct webhook *w, const char *id, const char *json, size_t len, char *err,
                 size_t errlen);

/* webhook_free(NULL) is safe. */
void webhook_free(struct webhook *w);

/* Config checks (exit 2), messages without the value: an absolute http or https URL with a
 * host; a header "Name: value" (a token name, no line breaks); "json" or "alertmanager". */
int webhook_check_url(const char *url, char *err, size_t errlen);
int webhook_check_header(const char *h, char *err, size_t errlen);
int webhook_check_format(const char *f, char *err, size_t errlen);

/* The URL as messages show it (see above). Returns buf. */
const char *webhook_redact(const char *url, char *buf, size_t size);

/* The Alertmanager v2 body for one event (POST /api/v2/alerts): a list of one alert with
 *   labels       alertname (BlackoutRouteDown, BlackoutCountryDown, BlackoutSensorBlind),
 *                sensor, route, country (when the event names it), severity
 *   annotations  summary (the readable line of `blackout alerts`), event, since, detected,
 *                blackout_id, and cause, duration when the event has them
 *   startsAt     when the silence began (the event's since; for an *_up, since - duration)
 *   endsAt       *_down: WEBHOOK_AM_HOLD_S after max(now, detected), so Alertmanager keeps
 *                it firing; *_up: when traffic came back (its since): the alert of the same
 *                labels is resolved.
 * now: seconds since the epoch. Returns 0, or -1 when json is not an event. */
int webhook_alertmanager_body(const char *id, const char *json, size_t len, int64_t now,
                              struct json *out);

#endif
