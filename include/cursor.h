/* cursor — a bounds-checked reader over captured packet bytes.
 *
 * Every read of packet memory in the decoder goes through these helpers. Each one checks
 * that the bytes are there before reading, by comparing lengths (never by forming a pointer
 * past the end), and returns false without reading or moving when they are not. The cursor
 * never owns the buffer. Invariant: pos <= len. */
#ifndef BLACKOUT_CURSOR_H
#define BLACKOUT_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
    const uint8_t *buf; /* start of the readable bytes */
    size_t len;         /* bytes readable from buf */
    size_t pos;         /* next byte to read */
};

static inline void cur_init(struct cursor *c, const uint8_t *buf, size_t len)
{
    c->buf = buf;
    c->len = len;
    c->pos = 0;
}

/* Bytes left to read. */
static inline size_t cur_left(const struct cursor *c)
{
    return c->len - c->pos;
}

static inline bool cur_need(const struct cursor *c, size_t n)
{
    return cur_left(c) >= n;
}

static inline const uint8_t *cur_ptr(const struct cursor *c)
{
    return c->buf + c->pos;
}

static inline bool cur_skip(struct cursor *c, size_t n)
{
    if (!cur_need(c, n))
        return false;
    c->pos += n;
    return true;
}

static inline bool cur_u8(struct cursor *c, uint8_t *v)
{
    if (!cur_need(c, 1))
        return false;
    *v = c->buf[c->pos];
    c->pos += 1;
    return true;
}

static inline bool cur_be16(struct cursor *c, uint16_t *v)
{
    if (!cur_need(c, 2))
        return false;
    *v = (uint16_t)((unsigned)c->buf[c->pos] << 8 | c->buf[c->pos + 1]);
    c->pos += 2;
    return true;
}

static inline bool cur_be32(struct cursor *c, uint32_t *v)
{
    if (!cur_need(c, 4))
        return false;
    const uint8_t *p = c->buf + c->pos;
    *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    c->pos += 4;
    return true;
}

/* Reads a 32-bit value in little-endian order (BSD null link headers are in the writer's
 * byte order). */
static inline bool cur_le32(struct cursor *c, uint32_t *v)
{
    if (!cur_need(c, 4))
        return false;
    const uint8_t *p = c->buf + c->pos;
    *v = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
    c->pos += 4;
    return true;
}

static inline bool cur_copy(struct cursor *c, void *dst, size_t n)
{
    if (!cur_need(c, n))
        return false;
    memcpy(dst, c->buf + c->pos, n);
    c->pos += n;
    return true;
}

/* Returns the next n bytes as a checked window and moves past them, or NULL (not moving) when
 * fewer are left. Fields of the window are read with rd_be16/rd_be32 at offsets below n:
 * one length check covers a whole fixed-size header. */
static inline const uint8_t *cur_take(struct cursor *c, size_t n)
{
    if (!cur_need(c, n))
        return NULL;
    const uint8_t *p = c->buf + c->pos;
    c->pos += n;
    return p;
}

/* Big-endian reads inside a window returned by cur_take (offset + width <= its size). */
static inline uint16_t rd_be16(const uint8_t *w)
{
    return (uint16_t)((unsigned)w[0] << 8 | w[1]);
}

static inline uint32_t rd_be32(const uint8_t *w)
{
    return (uint32_t)w[0] << 24 | (uint32_t)w[1] << 16 | (uint32_t)w[2] << 8 | w[3];
}

/* Looks at the byte `off` bytes ahead without moving. */
static inline bool cur_peek_u8(const struct cursor *c, size_t off, uint8_t *v)
{
    if (off >= cur_left(c))
        return false;
    *v = c->buf[c->pos + off];
    return true;
}

/* Shrinks the readable region to at most n bytes from the current position (an IP header's
 * total length cuts off link-layer padding). Never grows it. */
static inline void cur_limit(struct cursor *c, size_t n)
{
    if (n < cur_left(c))
        c->len = c->pos + n;
}

#endif
