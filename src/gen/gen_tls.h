/* gen_tls — TLS records for blackout-gen: a well-formed ClientHello with the
 * server_name extension (TLS 1.3, or 1.2 offering session resumption), the
 * matching ServerHello, ChangeCipherSpec, and records of random
 * (encrypted-looking) content. Written through a struct gen_wr. */
#ifndef GEN_TLS_H
#define GEN_TLS_H

#include <stdint.h>

#include "gen_app.h"
#include "gen_rng.h"

#define GEN_TLS_SID 32

/* Record content types. */
#define GEN_TLS_CCS       20
#define GEN_TLS_HANDSHAKE 22
#define GEN_TLS_APPDATA   23

/* ClientHello for sni; sid is the 32-byte legacy session id. */
void gen_tls_client_hello(struct gen_wr *w, struct gen_rng *r, const char *sni, int tls13,
                          const uint8_t *sid);

/* ServerHello answering it (TLS 1.3 via supported_versions, or TLS 1.2
 * resuming sid). */
void gen_tls_server_hello(struct gen_wr *w, struct gen_rng *r, int tls13, const uint8_t *sid);

/* ChangeCipherSpec record. */
void gen_tls_ccs(struct gen_wr *w);

/* One record of type with len bytes of random content. */
void gen_tls_record(struct gen_wr *w, struct gen_rng *r, uint8_t type, uint16_t len);

#endif
