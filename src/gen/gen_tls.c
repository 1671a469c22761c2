/* gen_tls — ClientHello, ServerHello and opaque records. See gen_tls.h. */
#include "gen_tls.h"

#include <string.h>

static const uint16_t tls_suites13[] = {0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f,
                                        0xcca9, 0xcca8, 0xc02c, 0xc030, 0xc013,
                                        0xc014, 0x009c, 0x009d, 0x002f, 0x0035};

static const uint16_t tls_sigalgs[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805,
                                       0x0501, 0x0806, 0x0601, 0x0201};

/* Open a length-prefixed block of n bytes (2 or 3); returns where to patch. */
static size_t tls_open(struct gen_wr *w, int n)
{
    size_t at = w->len;

    if (n == 3)
        gen_wr_u24(w, 0);
    else
        gen_wr_u16(w, 0);
    return at;
}

static void tls_close(struct gen_wr *w, size_t at, int n)
{
    size_t len = w->len - at - (size_t)n;

    if (n == 3)
        gen_wr_patch24(w, at, (uint32_t)len);
    else
        gen_wr_patch16(w, at, (uint32_t)len);
}

static void tls_ext_sni(struct gen_wr *w, const char *sni)
{
    size_t n = strlen(sni);

    gen_wr_u16(w, 0x0000);
    gen_wr_u16(w, (uint32_t)(n + 5));
    gen_wr_u16(w, (uint32_t)(n + 3));
    gen_wr_u8(w, 0); /* host_name */
    gen_wr_u16(w, (uint32_t)n);
    gen_wr_mem(w, sni, n);
}

static void tls_ext_common(struct gen_wr *w)
{
    static const uint8_t fixed[] = {
        0x00, 0x17, 0x00, 0x00,                                     /* extended_master_secret */
        0xff, 0x01, 0x00, 0x01, 0x00,                               /* renegotiation_info */
        0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, /* supported_groups */
        0x00, 0x18, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,             /* ec_point_formats */
        0x00, 0x23, 0x00, 0x00,                                     /* session_ticket */
        0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 'h',  '2',  0x08, /* ALPN */
        'h',  't',  't',  'p',  '/',  '1',  '.',  '1',  0x00, 0x05,
        0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00, /* status_request */
    };
    size_t at;

    gen_wr_mem(w, fixed, sizeof(fixed));
    gen_wr_u16(w, 0x000d); /* signature_algorithms */
    at = tls_open(w, 2);
    gen_wr_u16(w, (uint32_t)sizeof(tls_sigalgs));
    for (size_t i = 0; i < sizeof(tls_sigalgs) / sizeof(tls_sigalgs[0]); i++)
        gen_wr_u16(w, tls_sigalgs[i]);
    tls_close(w, at, 2);
}

static void tls_ext_13(struct gen_wr *w, struct gen_rng *r)
{
    static const uint8_t fixed[] = {
        0x00, 0x2d, 0x00, 0x02, 0x01, 0x01,                         /* psk_key_exchange_modes */
        0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03,       /* supported_versions */
        0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, /* key_share x25519 */
    };

    gen_wr_mem(w, fixed, sizeof(fixed));
    gen_wr_rand(w, r, 32);
}

void gen_tls_client_hello(struct gen_wr *w, struct gen_rng *r, const char *sni, int tls13,
                          const uint8_t *sid)
{
    size_t rec, hs, suites, exts;
    size_t nsuites = sizeof(tls_suites13) / sizeof(tls_suites13[0]);

    gen_wr_u8(w, GEN_TLS_HANDSHAKE);
    gen_wr_u16(w, 0x0301);
    rec = tls_open(w, 2);
    gen_wr_u8(w, 1); /* client_hello */
    hs = tls_open(w, 3);
    gen_wr_u16(w, 0x0303);
    gen_wr_rand(w, r, 32);
    gen_wr_u8(w, GEN_TLS_SID);
    gen_wr_mem(w, sid, GEN_TLS_SID);
    suites = tls_open(w, 2);
    for (size_t i = tls13 ? 0 : 3; i < nsuites; i++)
        gen_wr_u16(w, tls_suites13[i]);
    tls_close(w, suites, 2);
    gen_wr_u8(w, 1); /* compression methods: null */
    gen_wr_u8(w, 0);
    exts = tls_open(w, 2);
    tls_ext_sni(w, sni);
    tls_ext_common(w);
    if (tls13)
        tls_ext_13(w, r);
    tls_close(w, exts, 2);
    tls_close(w, hs, 3);
    tls_close(w, rec, 2);
}

void gen_tls_server_hello(struct gen_wr *w, struct gen_rng *r, int tls13, const uint8_t *sid)
{
    static const uint8_t ext13[] = {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, /* supported_versions */
                                    0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20};
    static const uint8_t ext12[] = {0xff, 0x01, 0x00, 0x01, 0x00, 0x00, 0x17, 0x00,
                                    0x00, 0x00, 0x10, 0x00, 0x0b, 0x00, 0x09, 0x08,
                                    'h',  't',  't',  'p',  '/',  '1',  '.',  '1'};
    size_t rec, hs, exts;

    gen_wr_u8(w, GEN_TLS_HANDSHAKE);
    gen_wr_u16(w, 0x0303);
    rec = tls_open(w, 2);
    gen_wr_u8(w, 2); /* server_hello */
    hs = tls_open(w, 3);
    gen_wr_u16(w, 0x0303);
    gen_wr_rand(w, r, 32);
    gen_wr_u8(w, GEN_TLS_SID);
    gen_wr_mem(w, sid, GEN_TLS_SID);
    gen_wr_u16(w, tls13 ? 0x1301 : 0xc02f);
    gen_wr_u8(w, 0);
    exts = tls_open(w, 2);
    if (tls13) {
        gen_wr_mem(w, ext13, sizeof(ext13));
        gen_wr_rand(w, r, 32);
    } else {
        gen_wr_mem(w, ext12, sizeof(ext12));
    }
    tls_close(w, exts, 2);
    tls_close(w, hs, 3);
    tls_close(w, rec, 2);
}

void gen_tls_ccs(struct gen_wr *w)
{
    static const uint8_t ccs[] = {GEN_TLS_CCS, 0x03, 0x03, 0x00, 0x01, 0x01};

    gen_wr_mem(w, ccs, sizeof(ccs));
}

void gen_tls_record(struct gen_wr *w, struct gen_rng *r, uint8_t type, uint16_t len)
{
    gen_wr_u8(w, type);
    gen_wr_u16(w, 0x0303);
    gen_wr_u16(w, len);
    gen_wr_rand(w, r, len);
}
