/* gen_app — application payloads that nDPI recognises: DNS queries and
 * answers, HTTP requests and responses, SMTP dialogue, ICMP echo messages,
 * and the country host names they carry. TLS records are in gen_tls.
 *
 * Payloads are written through struct gen_wr, a bounded writer: a write past
 * the end sets err and writes nothing, so callers check err once at the end. */
#ifndef GEN_APP_H
#define GEN_APP_H

#include <stddef.h>
#include <stdint.h>

#include "gen_net.h"
#include "gen_rng.h"

struct gen_wr {
    uint8_t *p;
    size_t cap;
    size_t len;
    int err; /* set when a write did not fit */
};

void gen_wr_init(struct gen_wr *w, uint8_t *p, size_t cap);
void gen_wr_u8(struct gen_wr *w, uint32_t v);
void gen_wr_u16(struct gen_wr *w, uint32_t v);
void gen_wr_u24(struct gen_wr *w, uint32_t v);
void gen_wr_u32(struct gen_wr *w, uint32_t v);
void gen_wr_mem(struct gen_wr *w, const void *p, size_t n);
void gen_wr_str(struct gen_wr *w, const char *s);
void gen_wr_rand(struct gen_wr *w, struct gen_rng *r, size_t n);
/* Overwrite a 16- or 24-bit length at offset at (already written). */
void gen_wr_patch16(struct gen_wr *w, size_t at, uint32_t v);
void gen_wr_patch24(struct gen_wr *w, size_t at, uint32_t v);

/* Country host names (all under .kp), and how many there are. */
#define GEN_APP_NNAMES 14
extern const char *const gen_app_names[GEN_APP_NNAMES];

/* DNS over UDP: a recursive query for name (A, or AAAA when aaaa), and its
 * answer carrying addr. */
void gen_dns_query(struct gen_wr *w, uint16_t id, const char *name, int aaaa);
void gen_dns_answer(struct gen_wr *w, uint16_t id, const char *name, const struct gen_addr *addr,
                    uint32_t ttl);

/* HTTP/1.1: GET / with a Host header; a 200 OK whose body has about
 * body_len bytes, dated t_sec. */
void gen_http_request(struct gen_wr *w, struct gen_rng *r, const char *host);
void gen_http_response(struct gen_wr *w, struct gen_rng *r, const char *host, uint64_t t_sec,
                       size_t body_len);

/* SMTP: the server banner, EHLO, the EHLO reply, QUIT and the 221 reply. */
enum gen_smtp_line {
    GEN_SMTP_BANNER,
    GEN_SMTP_EHLO,
    GEN_SMTP_EHLO_OK,
    GEN_SMTP_QUIT,
    GEN_SMTP_BYE
};
void gen_smtp_line(struct gen_wr *w, enum gen_smtp_line which, const char *server,
                   const char *client);

/* ICMP (v6 = ICMPv6) echo request or reply with 56 data bytes as ping(8)
 * sends them; the checksum field is left zero for the frame builder. */
void gen_icmp_echo(struct gen_wr *w, int v6, int reply, uint16_t id, uint16_t seq, uint64_t t_us);

#endif
