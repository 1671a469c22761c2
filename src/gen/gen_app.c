/* gen_app — DNS, HTTP, SMTP and ICMP payloads. See gen_app.h. */
#include "gen_app.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *const gen_app_names[GEN_APP_NNAMES] = {
    "kcna.kp",
    "www.kcna.kp",
    "rodong.rep.kp",
    "naenara.com.kp",
    "www.naenara.com.kp",
    "airkoryo.com.kp",
    "mfa.gov.kp",
    "vok.rep.kp",
    "friend.com.kp",
    "ryongnamsan.edu.kp",
    "korfilm.com.kp",
    "pyongyangtimes.com.kp",
    "tourismdprk.gov.kp",
    "star.co.kp",
};

void gen_wr_init(struct gen_wr *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->cap = cap;
    w->len = 0;
    w->err = 0;
}

void gen_wr_mem(struct gen_wr *w, const void *p, size_t n)
{
    if (w->err || n > w->cap - w->len) {
        w->err = 1;
        return;
    }
    memcpy(w->p + w->len, p, n);
    w->len += n;
}

static void wr_be(struct gen_wr *w, uint32_t v, int n)
{
    uint8_t b[4];

    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    gen_wr_mem(w, b, (size_t)n);
}

void gen_wr_u8(struct gen_wr *w, uint32_t v)
{
    wr_be(w, v, 1);
}

void gen_wr_u16(struct gen_wr *w, uint32_t v)
{
    wr_be(w, v, 2);
}

void gen_wr_u24(struct gen_wr *w, uint32_t v)
{
    wr_be(w, v, 3);
}

void gen_wr_u32(struct gen_wr *w, uint32_t v)
{
    wr_be(w, v, 4);
}

void gen_wr_str(struct gen_wr *w, const char *s)
{
    gen_wr_mem(w, s, strlen(s));
}

void gen_wr_rand(struct gen_wr *w, struct gen_rng *r, size_t n)
{
    if (w->err || n > w->cap - w->len) {
        w->err = 1;
        return;
    }
    gen_rng_fill(r, w->p + w->len, n);
    w->len += n;
}

void gen_wr_patch16(struct gen_wr *w, size_t at, uint32_t v)
{
    if (!w->err && at + 2 <= w->len) {
        w->p[at] = (uint8_t)(v >> 8);
        w->p[at + 1] = (uint8_t)v;
    }
}

void gen_wr_patch24(struct gen_wr *w, size_t at, uint32_t v)
{
    if (!w->err && at + 3 <= w->len) {
        w->p[at] = (uint8_t)(v >> 16);
        w->p[at + 1] = (uint8_t)(v >> 8);
        w->p[at + 2] = (uint8_t)v;
    }
}

static void wr_fmt(struct gen_wr *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void wr_fmt(struct gen_wr *w, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (w->err)
        return;
    va_start(ap, fmt);
    n = vsnprintf((char *)w->p + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->cap - w->len)
        w->err = 1;
    else
        w->len += (size_t)n;
}

/* DNS name as labels; names here are short and well-formed. */
static void dns_name(struct gen_wr *w, const char *name)
{
    while (*name != '\0') {
        const char *dot = strchr(name, '.');
        size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);
        gen_wr_u8(w, (uint32_t)(n & 63));
        gen_wr_mem(w, name, n & 63);
        name += n + (dot != NULL);
    }
    gen_wr_u8(w, 0);
}

void gen_dns_query(struct gen_wr *w, uint16_t id, const char *name, int aaaa)
{
    gen_wr_u16(w, id);
    gen_wr_u16(w, 0x0100); /* standard query, recursion desired */
    gen_wr_u16(w, 1);
    gen_wr_u16(w, 0);
    gen_wr_u16(w, 0);
    gen_wr_u16(w, 0);
    dns_name(w, name);
    gen_wr_u16(w, aaaa ? 28 : 1);
    gen_wr_u16(w, 1);
}

void gen_dns_answer(struct gen_wr *w, uint16_t id, const char *name, const struct gen_addr *addr,
                    uint32_t ttl)
{
    gen_wr_u16(w, id);
    gen_wr_u16(w, 0x8180); /* response, RD, RA, no error */
    gen_wr_u16(w, 1);
    gen_wr_u16(w, 1);
    gen_wr_u16(w, 0);
    gen_wr_u16(w, 0);
    dns_name(w, name);
    gen_wr_u16(w, addr->v6 ? 28 : 1);
    gen_wr_u16(w, 1);
    gen_wr_u16(w, 0xc00c); /* pointer to the question name */
    gen_wr_u16(w, addr->v6 ? 28 : 1);
    gen_wr_u16(w, 1);
    gen_wr_u32(w, ttl);
    gen_wr_u16(w, addr->v6 ? 16 : 4);
    gen_wr_mem(w, addr->b, addr->v6 ? 16 : 4);
}

static const char *const app_agents[] = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "curl/7.88.1",
    "Wget/1.21.3",
};

void gen_http_request(struct gen_wr *w, struct gen_rng *r, const char *host)
{
    wr_fmt(w,
           "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
           "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
           "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n"
           "Connection: close\r\n\r\n",
           host, app_agents[gen_rng_below(r, 4)]);
}

static const char *const app_words[] = {
    "Pyongyang", "news",   "the",    "people",  "report", "delegation", "visit",  "of",
    "and",       "talks",  "korea",  "culture", "sport",  "weather",    "trade",  "in",
    "a",         "photos", "friend", "history", "film",   "airline",    "flight", "today",
};

static void http_body(struct gen_wr *w, struct gen_rng *r, const char *host, size_t body_len)
{
    size_t start = w->len;

    wr_fmt(w,
           "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n"
           "<body><h1>%s</h1>\n<p>",
           host, host);
    while (!w->err && w->len - start + 24 < body_len) {
        const char *word = app_words[gen_rng_below(r, sizeof(app_words) / sizeof(app_words[0]))];
        gen_wr_str(w, word);
        gen_wr_str(w, gen_rng_below(r, 12) == 0 ? ".</p>\n<p>" : " ");
    }
    wr_fmt(w, "end.</p></body></html>\n");
}

void gen_http_response(struct gen_wr *w, struct gen_rng *r, const char *host, uint64_t t_sec,
                       size_t body_len)
{
    uint8_t body[8192];
    struct gen_wr b;
    char date[64];
    struct tm tm;
    time_t tt = (time_t)t_sec;

    gen_wr_init(&b, body, sizeof(body));
    http_body(&b, r, host, body_len < sizeof(body) - 256 ? body_len : sizeof(body) - 256);
    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
        snprintf(date, sizeof(date), "Sat, 07 Jun 2025 00:00:00 GMT");
    wr_fmt(w,
           "HTTP/1.1 200 OK\r\nDate: %s\r\nServer: Apache/2.4.6 (Red Hat)\r\n"
           "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n"
           "Connection: close\r\n\r\n",
           date, b.len);
    gen_wr_mem(w, body, b.len);
}

void gen_smtp_line(struct gen_wr *w, enum gen_smtp_line which, const char *server,
                   const char *client)
{
    switch (which) {
    case GEN_SMTP_BANNER:
        wr_fmt(w, "220 mail.%s ESMTP Postfix\r\n", server);
        break;
    case GEN_SMTP_EHLO:
        wr_fmt(w, "EHLO %s\r\n", client);
        break;
    case GEN_SMTP_EHLO_OK:
        wr_fmt(w,
               "250-mail.%s\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"
               "250 SMTPUTF8\r\n",
               server);
        break;
    case GEN_SMTP_QUIT:
        wr_fmt(w, "QUIT\r\n");
        break;
    case GEN_SMTP_BYE:
        wr_fmt(w, "221 2.0.0 Bye\r\n");
        break;
    }
}

void gen_icmp_echo(struct gen_wr *w, int v6, int reply, uint16_t id, uint16_t seq, uint64_t t_us)
{
    uint8_t type = v6 ? (reply ? 129 : 128) : (reply ? 0 : 8);
    uint64_t sec = t_us / 1000000;
    uint64_t usec = t_us % 1000000;

    gen_wr_u8(w, type);
    gen_wr_u8(w, 0);
    gen_wr_u16(w, 0); /* checksum: filled by the frame builder */
    gen_wr_u16(w, id);
    gen_wr_u16(w, seq);
    for (int i = 0; i < 16; i++) /* 64-bit struct timeval, little-endian as on x86-64 */
        gen_wr_u8(w, (uint32_t)(((i < 8 ? sec : usec) >> (8 * (i % 8))) & 0xff));
    for (uint32_t i = 0x10; i < 0x38; i++)
        gen_wr_u8(w, i);
}
