/*
 * The testee protocol's wire for the C examples (device.c, driver.c):
 * NDJSON lines on stdin/stdout, the few JSON fields a testee reads, base64,
 * guest memory through mem.read / mem.write, ring fields in the
 * conversation's byte order, and replies. Header-only: each example is one
 * `cc` command.
 *
 * See docs/TESTEE-PROTOCOL.md.
 */
#ifndef TESTEE_IO_H
#define TESTEE_IO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---- memory of our own: out of it, the testee stops (the suite reports the exit) ---- */

static inline void *checked(void *p) {
  if (!p) {
    fputs("testee: out of memory\n", stderr);
    exit(2);
  }
  return p;
}

#define xmalloc(n) checked(malloc(n))
#define xcalloc(n, size) checked(calloc((n), (size)))
#define xrealloc(p, n) checked(realloc((p), (n)))

/* ---- output: one JSON line at a time --------------------------------- */

static inline void out_line(const char *s) {
  fputs(s, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static inline char *b64_encode(const uint8_t *p, size_t n) {
  char *o = xmalloc(4 * ((n + 2) / 3) + 1), *q = o;
  size_t i;
  for (i = 0; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    *q++ = B64[v >> 18]; *q++ = B64[v >> 12 & 63]; *q++ = B64[v >> 6 & 63]; *q++ = B64[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
    *q++ = B64[v >> 18]; *q++ = B64[v >> 12 & 63];
    *q++ = i + 1 < n ? B64[v >> 6 & 63] : '=';
    *q++ = '=';
  }
  *q = 0;
  return o;
}

static inline int b64_val(char c) {
  const char *p = c ? strchr(B64, c) : NULL;
  return p ? (int)(p - B64) : -1;
}

/* decodes up to max bytes; returns the count */
static inline size_t b64_decode(const char *s, uint8_t *out, size_t max) {
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0, v;
  for (; *s && *s != '"' && *s != '='; s++) {
    if ((v = b64_val(*s)) < 0) break;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < max) out[n++] = (uint8_t)(acc >> bits);
    }
  }
  return n;
}

/* ---- input: lines and the few JSON fields we need --------------------- */

static char *line_buf;
static size_t line_cap;

static inline char *read_line(void) {
  ssize_t n = getline(&line_buf, &line_cap, stdin);
  if (n <= 0) return NULL;
  if (line_buf[n - 1] == '\n') line_buf[n - 1] = 0;
  return line_buf;
}

/* the text after "key": in a flat JSON object, or NULL */
static inline const char *field(const char *line, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(line, pat);
  if (!p) return NULL;
  p += strlen(pat);
  while (*p == ' ') p++;
  return p;
}

static inline uint64_t num(const char *line, const char *key) {
  const char *p = field(line, key);
  if (!p) return 0;
  if (*p == '"') return strtoull(p + 1, NULL, 0); /* "0x…" */
  return strtoull(p, NULL, 10);
}

static inline int flag(const char *line, const char *key) {
  const char *p = field(line, key);
  return p && strncmp(p, "true", 4) == 0;
}

static inline int str_is(const char *line, const char *key, const char *value) {
  const char *p = field(line, key);
  size_t n = strlen(value);
  return p && *p == '"' && strncmp(p + 1, value, n) == 0 && p[1 + n] == '"';
}

/* ---- guest memory, through the suite ---------------------------------- */

/* ids of mem.read (and of a driver's calls): from 1 after each reset, so a transcript replays alone */
static unsigned msg_id;
/* ring fields: little-endian with VERSION_1, else the guest's order */
static int big_endian;

static inline void mem_read(uint64_t addr, void *dst, size_t len) {
  char head[128];
  snprintf(head, sizeof head, "{\"op\":\"mem.read\",\"id\":%u,\"addr\":\"0x%llx\",\"len\":%zu}",
           ++msg_id, (unsigned long long)addr, len);
  out_line(head);
  char *l = read_line();
  if (!l) exit(0);
  const char *d = field(l, "data");
  memset(dst, 0, len);
  if (d && *d == '"') b64_decode(d + 1, dst, len);
}

static inline void mem_write(uint64_t addr, const void *src, size_t len) {
  char *b = b64_encode(src, len);
  char *o = xmalloc(strlen(b) + 96);
  sprintf(o, "{\"op\":\"mem.write\",\"addr\":\"0x%llx\",\"data\":\"%s\"}", (unsigned long long)addr, b);
  out_line(o);
  free(o);
  free(b);
}

static inline uint64_t get(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v |= (uint64_t)p[big_endian ? n - 1 - i : i] << (8 * i);
  return v;
}

static inline void put(uint8_t *p, int n, uint64_t v) {
  for (int i = 0; i < n; i++) p[big_endian ? n - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t rd(uint64_t addr, int n) {
  uint8_t b[8];
  mem_read(addr, b, (size_t)n);
  return get(b, n);
}

static inline void wr(uint64_t addr, int n, uint64_t v) {
  uint8_t b[8];
  put(b, n, v);
  mem_write(addr, b, (size_t)n);
}

/* ---- replies ------------------------------------------------------------ */

static char reply[1 << 16];

static inline void result(uint64_t seq, const char *fields) {
  snprintf(reply, sizeof reply, "{\"seq\":%llu,\"result\":{%s}}", (unsigned long long)seq, fields);
  out_line(reply);
}

/* kind: "unsupported" or "errored"; message: no quotes or backslashes */
static inline void answer(uint64_t seq, const char *kind, const char *message) {
  snprintf(reply, sizeof reply, "{\"seq\":%llu,\"%s\":\"%s\"}", (unsigned long long)seq, kind,
           message);
  out_line(reply);
}

#endif
