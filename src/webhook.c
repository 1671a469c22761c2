/* webhook — alerts POSTed to a URL. See webhook.h. */
#include "webhook.h"

#include "records.h"
#include "text.h"
#include "version.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#define REPLY_SHOWN 120 /* bytes of an answer quoted in a message */
#define SECRETS_MAX 4   /* user, password, path, query */

struct webhook {
    CURL *curl;
    char *url;
    char **headers;
    unsigned nheaders;
    unsigned timeout_s;
    enum webhook_format format;
    char shown[WEBHOOK_URL_SHOWN];
    char *secrets[SECRETS_MAX]; /* parts of the URL never to print */
    char errbuf[CURL_ERROR_SIZE];
    char reply[REPLY_SHOWN + 1];
    size_t reply_len;
    struct json body;
};

/* ---- checks and redaction ---- */

/* The URL's parts (curl's URL parser); NULL when it is not an absolute http(s) URL with a
 * host. Free with curl_url_cleanup. */
static CURLU *parse_url(const char *url)
{
    CURLU *h = curl_url();
    char *scheme = NULL, *host = NULL;
    bool ok = h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] &&
              (text_ieq(scheme, "http") || text_ieq(scheme, "https"));
    curl_free(scheme);
    curl_free(host);
    if (!ok) {
        curl_url_cleanup(h);
        return NULL;
    }
    return h;
}

int webhook_check_url(const char *url, char *err, size_t errlen)
{
    CURLU *h = parse_url(url);
    if (!h) {
        snprintf(err, errlen,
                 "not an http:// or https:// URL with a host (the URL is not shown: it may "
                 "hold a secret)");
        return -1;
    }
    curl_url_cleanup(h);
    return 0;
}

int webhook_check_header(const char *h, char *err, size_t errlen)
{
    size_t n = strcspn(h, ":");
    bool token = n > 0 && h[n] == ':';

    for (size_t i = 0; token && i < n; i++)
        token = h[i] > 32 && h[i] < 127 && !strchr("()<>@,;:\\\"/[]?={}", h[i]);
    if (!token || strpbrk(h, "\r\n")) {
        snprintf(err, errlen,
                 "a header is 'Name: value' on one line, the name a token (the value is not "
                 "shown)");
        return -1;
    }
    return 0;
}

int webhook_check_format(const char *f, char *err, size_t errlen)
{
    if (strcmp(f, "json") == 0 || strcmp(f, "alertmanager") == 0)
        return 0;
    snprintf(err, errlen, "'%.40s' is not a webhook format (json, alertmanager)", f);
    return -1;
}

/* A part of the URL, or "" (free with curl_free). */
static char *part(CURLU *h, CURLUPart what)
{
    char *s = NULL;
    if (curl_url_get(h, what, &s, 0) != CURLUE_OK)
        return NULL;
    return s;
}

const char *webhook_redact(const char *url, char *buf, size_t size)
{
    CURLU *h = parse_url(url);
    if (!h) {
        snprintf(buf, size, "(an unreadable URL)");
        return buf;
    }
    char *scheme = part(h, CURLUPART_SCHEME), *user = part(h, CURLUPART_USER),
         *pass = part(h, CURLUPART_PASSWORD), *host = part(h, CURLUPART_HOST),
         *port = part(h, CURLUPART_PORT), *path = part(h, CURLUPART_PATH),
         *query = part(h, CURLUPART_QUERY);
    bool more = (path && strcmp(path, "/") != 0) || query;
    snprintf(buf, size, "%s://%s%s%s%s%s", scheme, user || pass ? "***@" : "", host,
             port ? ":" : "", port ? port : "", more ? "/…" : "/");
    char *parts[] = {scheme, user, pass, host, port, path, query};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        curl_free(parts[i]);
    curl_url_cleanup(h);
    return buf;
}

/* Replaces every occurrence of secret in s by "***" (secrets shorter than 3 bytes are
 * left: they would match everywhere). */
static void scrub(char *s, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    char *p;

    if (n < 3)
        return;
    for (p = strstr(s, secret); p; p = strstr(p + 3, secret)) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + n, strlen(p + n) + 1);
    }
}

/* ---- the handle ---- */

static size_t on_reply(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct webhook *w = ctx;
    size_t n = size * nmemb;

    for (size_t i = 0; i < n && w->reply_len < REPLY_SHOWN; i++) {
        unsigned char c = (unsigned char)data[i];
        w->reply[w->reply_len++] = c >= 32 && c < 127 ? (char)c : ' ';
    }
    w->reply[w->reply_len] = '\0';
    return n;
}

static int keep_secrets(struct webhook *w)
{
    CURLU *h = parse_url(w->url);
    if (!h)
        return -1;
    CURLUPart what[SECRETS_MAX] = {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_PATH,
                                   CURLUPART_QUERY};
    for (int i = 0; i < SECRETS_MAX; i++) {
        w->secrets[i] = part(h, what[i]);
        if (w->secrets[i] && strcmp(w->secrets[i], "/") == 0) {
            curl_free(w->secrets[i]);
            w->secrets[i] = NULL;
        }
    }
    curl_url_cleanup(h);
    return 0;
}

static int set_options(struct webhook *w)
{
    CURL *c = w->curl;
    long ms = (long)w->timeout_s * 1000;

    return curl_easy_setopt(c, CURLOPT_URL, w->url) != CURLE_OK ||
                   curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
                   curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
                   curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
                   curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
                   curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms) != CURLE_OK ||
                   curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms) != CURLE_OK ||
                   curl_easy_setopt(c, CURLOPT_USERAGENT, "blackout/" BLACKOUT_VERSION) !=
                       CURLE_OK ||
                   curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_reply) != CURLE_OK ||
                   curl_easy_setopt(c, CURLOPT_WRITEDATA, w) != CURLE_OK ||
                   curl_easy_setopt(c, CURLOPT_ERRORBUFFER, w->errbuf) != CURLE_OK
               ? -1
               : 0;
}

struct webhook *webhook_new(const struct webhook_config *c, char *err, size_t errlen)
{
    struct webhook *w = calloc(1, sizeof *w);

    if (!w || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(w);
        snprintf(err, errlen, "cannot start libcurl for --webhook");
        return NULL;
    }
    json_init(&w->body);
    w->timeout_s = c->timeout_s;
    w->format = c->format;
    w->url = strdup(c->url);
    w->headers = calloc(c->nheaders + 1, sizeof *w->headers);
    for (unsigned i = 0; w->headers && i < c->nheaders; i++) {
        w->headers[w->nheaders] = strdup(c->headers[i]);
        w->nheaders += w->headers[w->nheaders] != NULL;
    }
    w->curl = curl_easy_init();
    if (!w->url || !w->headers || w->nheaders != c->nheaders || !w->curl || keep_secrets(w) < 0 ||
        set_options(w) < 0) {
        snprintf(err, errlen, "cannot set up --webhook (libcurl, out of memory)");
        webhook_free(w);
        return NULL;
    }
    webhook_redact(w->url, w->shown, sizeof w->shown);
    return w;
}

void webhook_free(struct webhook *w)
{
    if (!w)
        return;
    if (w->curl)
        curl_easy_cleanup(w->curl);
    for (int i = 0; i < SECRETS_MAX; i++)
        curl_free(w->secrets[i]);
    for (unsigned i = 0; i < w->nheaders; i++)
        free(w->headers[i]);
    free(w->headers);
    if (w->url)
        memset(w->url, 0, strlen(w->url));
    free(w->url);
    json_free(&w->body);
    free(w);
    curl_global_cleanup();
}

/* The request's headers (curl copies each line). NULL when out of memory. */
static struct curl_slist *request_headers(const struct webhook *w, const char *id)
{
    char line[128];
    struct curl_slist *l = NULL, *n;

    snprintf(line, sizeof line, "X-Blackout-Id: %s", id);
    /* "Expect:" drops curl's 100-continue wait on larger bodies */
    const char *fixed[] = {"Content-Type: application/json", "Expect:", line};
    const size_t nfixed = sizeof fixed / sizeof fixed[0];
    for (size_t i = 0; i < nfixed + w->nheaders; i++) {
        const char *h = i < nfixed ? fixed[i] : w->headers[i - nfixed];
        n = curl_slist_append(l, h);
        if (!n) {
            curl_slist_free_all(l);
            return NULL;
        }
        l = n;
    }
    return l;
}

/* Why a request failed, into err, without a secret. */
static void failure(struct webhook *w, CURLcode rc, long status, char *err, size_t errlen)
{
    while (w->reply_len > 0 && w->reply[w->reply_len - 1] == ' ') /* a line break, usually */
        w->reply[--w->reply_len] = '\0';
    if (rc == CURLE_OK) {
        snprintf(err, errlen, "webhook %s answered %ld%s%s", w->shown, status,
                 w->reply_len ? ": " : "", w->reply);
    } else {
        snprintf(err, errlen, "webhook %s: %s%s", w->shown,
                 w->errbuf[0] ? w->errbuf : curl_easy_strerror(rc),
                 rc == CURLE_OPERATION_TIMEDOUT ? " (--webhook-timeout)" : "");
    }
    for (int i = 0; i < SECRETS_MAX; i++)
        scrub(err, w->secrets[i]);
}

int webhook_post(struct webhook *w, const char *id, const char *json, size_t len, char *err,
                 size_t errlen)
{
    const char *body = json;
    long status = 0;

    if (!id[0] || strspn(id, "0123456789-") != strlen(id)) { /* it becomes a header line */
        snprintf(err, errlen, "an alert without a stream entry ID: not sent to %s", w->shown);
        return -1;
    }
    if (w->format == WEBHOOK_ALERTMANAGER) {
        if (webhook_alertmanager_body(id, json, len, (int64_t)time(NULL), &w->body) < 0) {
            snprintf(err, errlen, "alert %s: its event JSON is unreadable, not sent to %s", id,
                     w->shown);
            return -1;
        }
        body = w->body.buf;
        len = w->body.len;
    }
    struct curl_slist *headers = request_headers(w, id);
    if (!headers) {
        snprintf(err, errlen, "out of memory for the webhook's headers");
        return -1;
    }
    w->errbuf[0] = '\0';
    w->reply_len = 0;
    w->reply[0] = '\0';
    curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    CURLcode rc = curl_easy_perform(w->curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(headers);
    if (rc == CURLE_OK && status >= 200 && status <= 299)
        return 0;
    failure(w, rc, status, err, errlen);
    return -1;
}

/* ---- the Alertmanager form ---- */

static void rfc3339(int64_t t, char *buf, size_t size)
{
    struct tm tm;
    time_t tt = (time_t)(t < 0 ? 0 : t);
    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *alert_name(enum event_kind k)
{
    switch (k) {
    case EVENT_ROUTE_DOWN:
    case EVENT_ROUTE_UP:
        return "BlackoutRouteDown";
    case EVENT_COUNTRY_DOWN:
    case EVENT_COUNTRY_UP:
        return "BlackoutCountryDown";
    case EVENT_SENSOR_BLIND:
    case EVENT_SENSOR_OK:
        break;
    }
    return "BlackoutSensorBlind";
}

/* The labels; the country's when the event names one (older entries do not; the sensor's own
 * events name "*"). */
static void am_labels(const struct event *e, struct json *out)
{
    bool country_wide = e->kind == EVENT_COUNTRY_DOWN || e->kind == EVENT_COUNTRY_UP;

    json_key(out, "labels");
    json_obj_open(out);
    json_kstr(out, "alertname", alert_name((enum event_kind)e->kind));
    json_kstr(out, "sensor", e->sensor);
    json_kstr(out, "route", e->route);
    if (e->country[0] && strcmp(e->country, "*") != 0)
        json_kstr(out, "country", e->country);
    json_kstr(out, "severity", country_wide ? "critical" : "warning");
    json_obj_close(out);
}

static void am_annotations(const struct event *e, const char *id, struct json *out)
{
    char line[512], t[32];

    json_key(out, "annotations");
    json_obj_open(out);
    json_kstr(out, "summary", event_text(e, line, sizeof line));
    json_kstr(out, "event", event_kind_name((enum event_kind)e->kind));
    rfc3339(e->since, t, sizeof t);
    json_kstr(out, "since", t);
    rfc3339(e->detected, t, sizeof t);
    json_kstr(out, "detected", t);
    json_kstr(out, "blackout_id", id);
    if (e->kind == EVENT_COUNTRY_DOWN && e->cause != CAUSE_NONE)
        json_kstr(out, "cause", event_cause_name((enum event_cause)e->cause));
    if (e->duration >= 0) {
        snprintf(line, sizeof line, "%lld", (long long)e->duration);
        json_kstr(out, "duration", line);
    }
    json_obj_close(out);
}

int webhook_alertmanager_body(const char *id, const char *json, size_t len, int64_t now,
                              struct json *out)
{
    struct event e;
    char t[32];

    if (event_from_json(json, len, &e) < 0)
        return -1;
    bool down = event_is_down((enum event_kind)e.kind);
    int64_t starts = down || e.duration < 0 ? e.since : e.since - e.duration;
    int64_t ends = down ? (now > e.detected ? now : e.detected) + WEBHOOK_AM_HOLD_S : e.since;

    json_reset(out);
    json_arr_open(out);
    json_obj_open(out);
    am_labels(&e, out);
    am_annotations(&e, id, out);
    rfc3339(starts, t, sizeof t);
    json_kstr(out, "startsAt", t);
    rfc3339(ends, t, sizeof t);
    json_kstr(out, "endsAt", t);
    json_obj_close(out);
    json_arr_close(out);
    return json_ok(out) ? 0 : -1;
}
