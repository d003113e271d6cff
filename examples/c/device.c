/*
 * A small virtio-balloon device (profile v3) in plain C, tested by the
 * conformance suite over the testee protocol (docs/TESTEE-PROTOCOL.md):
 * NDJSON requests on stdin, replies, memory accesses and interrupts on
 * stdout, a log on stderr. It implements its own split virtqueue: every
 * descriptor, ring field and payload it touches is read or written in the
 * suite's guest memory with mem.read / mem.write messages.
 *
 * Offers VERSION_1, ANY_LAYOUT, INDIRECT_DESC, EVENT_IDX, MUST_TELL_HOST and
 * DEFLATE_ON_OOM (neither changes what a device does); queues inflateq
 * and deflateq with PFN arrays; num_pages and actual in the config space.
 * and the stats queue (STATS_VQ: a buffer is held until the host asks, known
 * tags kept). No page bitmaps, no MISC_VQ: the suite reports the cases about
 * them as unsupported (the device does not offer them).
 *
 * Build:  cc -O2 -Wall -Wextra -o examples/c/device examples/c/device.c
 * Test:   deno task conform --device-cmd ./examples/c/device
 *
 * Break a ring rule on purpose (each makes a case fail):
 *   -DBREAK_USED_LEN      used length = bytes read, not 0 (device.pfn.used-len)
 *   -DBREAK_USED_EARLY    the buffer is used before the pages are applied (device.pfn.used-after-apply)
 *   -DBREAK_ONE_PER_KICK  one chain per notification (device.ring.several-in-flight)
 *   -DBREAK_NO_WRAP       stops at the end of the ring instead of going round (device.ring.wrap)
 *   -DBREAK_ALWAYS_IRQ    interrupts despite NO_INTERRUPT / used_event
 *                         (device.notify.*.suppressed: SHOULD rules, so warnings; --strict fails them)
 *   -DBREAK_WRITABLE      reads device-writable buffers as PFNs (robustness.pfn.writable)
 *   -DBREAK_WRITE_READABLE  writes each device-readable buffer back after reading it
 *                         (device.ring.readable-not-written.*)
 *   -DBREAK_IDX_FIRST     writes used.idx before the used element it publishes
 *                         (device.ring.used-len-before-idx)
 *   -DBREAK_USED_FLAGS    sets bit 1 of used.flags, which no spec defines (device.ring.used-flags*)
 *   -DBREAK_INDIRECT_WRITE  honours VIRTQ_DESC_F_WRITE on a descriptor pointing to an
 *                         indirect table: takes the whole table for device-writable
 *                         (device.ring.indirect-write-flag)
 *
 * The numbers and offsets come from balloon_spec.h, generated from the
 * suite's spec tables (deno task testee-doc); the wire (lines, JSON fields,
 * base64, mem.read / mem.write) from testee_io.h, shared with driver.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balloon_spec.h"
#include "testee_io.h"

#define QUEUES 3 /* inflateq, deflateq, statsq */
#define QUEUE_MAX 256
#define MAX_CHAIN_BYTES (1u << 20)

/* ---- the device --------------------------------------------------------- */

struct queue {
  unsigned size;
  uint64_t desc, avail, used;
  int ready;
  uint16_t last_avail, used_idx;
};

static struct {
  uint32_t status;
  uint64_t offered, driver;
  uint8_t config[SIZEOF_VIRTIO_BALLOON_CONFIG];
  uint32_t generation, actual;
  struct queue q[QUEUES];
  uint32_t pages;    /* guest RAM in 4 KiB pages */
  uint8_t *balloon;  /* one bit per guest page */
  int guest_be;
  int stats_held;    /* a stats buffer is held until the host asks */
  uint16_t stats_head;
  int stats_count;   /* entries kept from the last well-formed stats buffer (-1: none yet) */
  struct { uint16_t tag; uint64_t val; } stats[64];
} dev;

static int has(int bit) { return (dev.driver >> bit) & 1; }

static void reset_device(void) {
  dev.stats_held = 0;
  dev.status = 0;
  dev.driver = 0;
  memset(dev.q, 0, sizeof dev.q);
  big_endian = dev.guest_be;
}

static void raise_used(unsigned qi) {
  char l[64];
  snprintf(l, sizeof l, "{\"op\":\"event\",\"event\":\"used\",\"queue\":%u}", qi);
  out_line(l);
}

/* whether the driver wants an interrupt after the used index moved from old to new */
static int wants_interrupt(struct queue *q, uint16_t old, uint16_t new) {
#ifdef BREAK_ALWAYS_IRQ
  (void)q; (void)old; (void)new;
  return 1;
#else
  if (has(VB_F_EVENT_IDX)) {
    uint16_t event = (uint16_t)rd(q->avail + SIZEOF_VIRTQ_AVAIL_HDR + RING_ENTRY_BYTES * q->size,
                                  RING_ENTRY_BYTES);
    return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
  }
  return !(rd(q->avail + OFF_VIRTQ_AVAIL_HDR_FLAGS, 2) & VIRTQ_AVAIL_F_NO_INTERRUPT);
#endif
}

/* walks one chain: readable bytes into buf; returns -1 when malformed */
static long read_chain(struct queue *q, uint16_t head, uint8_t *buf, int *writable) {
  uint64_t table = q->desc;
  unsigned limit = q->size, i = head, seen = 0;
  size_t n = 0;
  *writable = 0;
#ifdef BREAK_INDIRECT_WRITE
  uint16_t forced = 0; /* flags the indirect descriptor passes on to its table */
#endif
  for (;;) {
    if (i >= limit || ++seen > limit) return -1;
    uint8_t d[SIZEOF_VIRTQ_DESC];
    mem_read(table + (uint64_t)i * SIZEOF_VIRTQ_DESC, d, sizeof d);
    uint64_t addr = get(d + OFF_VIRTQ_DESC_ADDR, 8);
    uint32_t len = (uint32_t)get(d + OFF_VIRTQ_DESC_LEN, 4);
    uint16_t flags = (uint16_t)get(d + OFF_VIRTQ_DESC_FLAGS, 2);
    uint16_t next = (uint16_t)get(d + OFF_VIRTQ_DESC_NEXT, 2);
    if (flags & VIRTQ_DESC_F_INDIRECT) {
      if (!has(VB_F_INDIRECT_DESC) || table != q->desc || len % SIZEOF_VIRTQ_DESC) return -1;
      if (addr + len > (uint64_t)dev.pages << VIRTIO_BALLOON_PFN_SHIFT) return -1;
      table = addr;
      limit = len / SIZEOF_VIRTQ_DESC;
      i = 0;
      seen = 0;
#ifdef BREAK_INDIRECT_WRITE
      forced = flags & VIRTQ_DESC_F_WRITE;
#endif
      continue;
    }
#ifdef BREAK_INDIRECT_WRITE
    flags |= forced;
#endif
#ifdef BREAK_WRITABLE
    flags &= (uint16_t)~VIRTQ_DESC_F_WRITE; /* reads device-writable buffers as PFNs */
#endif
    if (flags & VIRTQ_DESC_F_WRITE) {
      *writable = 1;
    } else {
      if (addr + len > (uint64_t)dev.pages << VIRTIO_BALLOON_PFN_SHIFT) return -1;
      if (n + len > MAX_CHAIN_BYTES) return -1;
      mem_read(addr, buf + n, len);
#ifdef BREAK_WRITE_READABLE
      mem_write(addr, buf + n, len); /* the same bytes, but the device must not write there */
#endif
      n += len;
    }
    if (!(flags & VIRTQ_DESC_F_NEXT)) return (long)n;
    i = next;
  }
}

static void discard(uint32_t pfn, uint32_t count) {
  char l[96];
  snprintf(l, sizeof l, "{\"op\":\"mem.discard\",\"pfn\":%u,\"count\":%u}", pfn, count);
  out_line(l);
}

/* applies a PFN array to the balloon, or nothing when one PFN is outside RAM */
static void apply(unsigned qi, const uint8_t *buf, long n) {
  if (n < 0 || n % PFN_ENTRY_BYTES) return; /* malformed: rejected as a whole */
  for (long i = 0; i < n; i += PFN_ENTRY_BYTES) {
    if (get(buf + i, PFN_ENTRY_BYTES) >= dev.pages) return;
  }
  uint32_t run = 0, count = 0; /* consecutive PFNs are discarded in one message */
  for (long i = 0; i < n; i += PFN_ENTRY_BYTES) {
    uint32_t pfn = (uint32_t)get(buf + i, PFN_ENTRY_BYTES);
    if (qi == VB_Q_INFLATEQ) {
      dev.balloon[pfn / 8] |= (uint8_t)(1u << (pfn % 8));
      if (count > 0 && pfn == run + count) {
        count++;
        continue;
      }
      if (count > 0) discard(run, count);
      run = pfn;
      count = 1;
    } else {
      dev.balloon[pfn / 8] &= (uint8_t)~(1u << (pfn % 8));
    }
  }
  if (count > 0) discard(run, count);
}

static void use(struct queue *q, uint16_t head, uint32_t len) {
  uint64_t elem = q->used + SIZEOF_VIRTQ_USED_HDR +
                  (uint64_t)(q->used_idx % q->size) * SIZEOF_VIRTQ_USED_ELEM;
  uint8_t e[SIZEOF_VIRTQ_USED_ELEM];
  put(e + OFF_VIRTQ_USED_ELEM_ID, 4, head);
  put(e + OFF_VIRTQ_USED_ELEM_LEN, 4, len);
#ifdef BREAK_IDX_FIRST
  q->used_idx++;
  wr(q->used + OFF_VIRTQ_USED_HDR_IDX, 2, q->used_idx); /* published before it is written */
  mem_write(elem, e, sizeof e);
#else
  mem_write(elem, e, sizeof e);
  q->used_idx++;
  wr(q->used + OFF_VIRTQ_USED_HDR_IDX, 2, q->used_idx);
#endif
#ifdef BREAK_USED_FLAGS
  wr(q->used + OFF_VIRTQ_USED_HDR_FLAGS, 2, VIRTQ_USED_F_NO_NOTIFY << 1);
#endif
}

static uint8_t chain_buf[MAX_CHAIN_BYTES];

static int known_tag(uint16_t tag) {
  static const int tags[] = VB_STATS_TAGS;
  for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
    if (tags[i] == tag) return 1;
  }
  return 0;
}

/* a stats buffer: kept (known tags only) when whole entries; held until the host asks */
static void take_stats(struct queue *q, uint16_t head, const uint8_t *buf, long n) {
  if (dev.stats_held) use(q, dev.stats_head, 0); /* a second buffer: the old one goes back */
  if (n >= 0 && n % SIZEOF_VIRTIO_BALLOON_STAT == 0) {
    dev.stats_count = 0;
    for (long i = 0; i < n && dev.stats_count < 64; i += SIZEOF_VIRTIO_BALLOON_STAT) {
      uint16_t tag = (uint16_t)get(buf + i + OFF_VIRTIO_BALLOON_STAT_TAG, 2);
      if (!known_tag(tag)) continue; /* unknown tags are ignored */
      dev.stats[dev.stats_count].tag = tag;
      dev.stats[dev.stats_count].val = get(buf + i + OFF_VIRTIO_BALLOON_STAT_VAL, 8);
      dev.stats_count++;
    }
  }
  dev.stats_held = 1;
  dev.stats_head = head;
}

static void process(unsigned qi) {
  struct queue *q = &dev.q[qi];
  if (qi >= QUEUES || !q->ready || !(dev.status & VB_S_DRIVER_OK)) return;
  uint16_t old = q->used_idx;
  for (;;) {
    uint16_t avail = (uint16_t)rd(q->avail + OFF_VIRTQ_AVAIL_HDR_IDX, 2);
    if (avail == q->last_avail) break;
#ifdef BREAK_NO_WRAP
    if (q->last_avail >= q->size) break; /* never goes round the ring */
#endif
    uint16_t head = (uint16_t)rd(q->avail + SIZEOF_VIRTQ_AVAIL_HDR +
                                     (uint64_t)(q->last_avail % q->size) * RING_ENTRY_BYTES,
                                 RING_ENTRY_BYTES);
    q->last_avail++;
    int writable;
    long n = read_chain(q, head, chain_buf, &writable);
    if (qi == VB_Q_STATSQ) {
      take_stats(q, head, chain_buf, n);
      continue;
    }
    uint32_t used_len = 0;
#ifdef BREAK_USED_LEN
    used_len = n > 0 ? (uint32_t)n : 0;
#endif
#ifdef BREAK_USED_EARLY
    use(q, head, used_len);
    raise_used(qi); /* the driver sees the buffer used before its pages are applied */
    if (!writable) apply(qi, chain_buf, n);
#else
    if (!writable) apply(qi, chain_buf, n);
    use(q, head, used_len);
#endif
#ifdef BREAK_ONE_PER_KICK
    break;
#endif
  }
  if (has(VB_F_EVENT_IDX)) {
    /* avail_event: tell the driver to notify for the next buffer */
    wr(q->used + SIZEOF_VIRTQ_USED_HDR + (uint64_t)SIZEOF_VIRTQ_USED_ELEM * q->size,
       RING_ENTRY_BYTES, q->last_avail);
  }
  if (q->used_idx != old && wants_interrupt(q, old, q->used_idx)) raise_used(qi);
}

/* ---- requests ----------------------------------------------------------- */

static void host_state(uint64_t seq) {
  size_t cap = 256, len = 0;
  char *s = xmalloc(cap);
  len += (size_t)sprintf(s, "\"actual\":%u,\"ballooned\":[", dev.actual);
  int first = 1;
  for (uint32_t p = 0; p < dev.pages;) {
    if (!(dev.balloon[p / 8] >> (p % 8) & 1)) { p++; continue; }
    uint32_t start = p;
    while (p < dev.pages && (dev.balloon[p / 8] >> (p % 8) & 1)) p++;
    if (len + 48 > cap) s = xrealloc(s, cap *= 2);
    len += (size_t)sprintf(s + len, "%s[%u,%u]", first ? "" : ",", start, p - start);
    first = 0;
  }
  s = xrealloc(s, len + 64 + 48 * 64);
  len += (size_t)sprintf(s + len, "]");
  if (dev.stats_count >= 0) {
    len += (size_t)sprintf(s + len, ",\"stats\":[");
    for (int i = 0; i < dev.stats_count; i++) {
      len += (size_t)sprintf(s + len, "%s{\"tag\":%u,\"val\":\"0x%llx\"}", i ? "," : "",
                             dev.stats[i].tag, (unsigned long long)dev.stats[i].val);
    }
    len += (size_t)sprintf(s + len, "]");
  }
  char *o = xmalloc(len + 128);
  sprintf(o, "{\"seq\":%llu,\"result\":{%s}}", (unsigned long long)seq, s);
  out_line(o);
  free(o);
  free(s);
}

static void handle(const char *l) {
  uint64_t seq = num(l, "seq");
  char buf[256];
  if (str_is(l, "op", "hello")) {
    if (num(l, "protocol") != TESTEE_PROTOCOL_VERSION) {
      snprintf(buf, sizeof buf, "this device speaks testee protocol %d, not %llu",
               TESTEE_PROTOCOL_VERSION, (unsigned long long)num(l, "protocol"));
      answer(seq, "errored", buf);
    } else if (!str_is(l, "profile", "v3")) {
      answer(seq, "unsupported", "this device implements profile v3 only");
    } else {
      result(seq, "\"protocol\":1,\"role\":\"device\",\"name\":\"c-example\","
                  "\"synchronous\":true,\"host\":[\"state\"],\"state\":[\"ballooned\",\"actual\",\"stats\"]");
    }
  } else if (str_is(l, "op", "reset")) {
    dev.pages = (uint32_t)num(l, "pages");
    free(dev.balloon);
    dev.balloon = xcalloc(dev.pages / 8 + 1, 1);
    dev.guest_be = str_is(l, "endian", "be");
    msg_id = 0; /* ids count from 1 in each scenario: its transcript replays alone */
    dev.offered = 1ull << VB_F_VERSION_1 | 1ull << VB_F_ANY_LAYOUT | 1ull << VB_F_MUST_TELL_HOST |
                  1ull << VB_F_DEFLATE_ON_OOM | 1ull << VB_F_STATS_VQ |
                  1ull << VB_F_INDIRECT_DESC | 1ull << VB_F_EVENT_IDX;
    memset(dev.config, 0, sizeof dev.config);
    dev.generation = 0;
    dev.actual = 0;
    dev.stats_count = -1;
    reset_device();
    result(seq, "");
  } else if (str_is(l, "op", "status.read")) {
    snprintf(buf, sizeof buf, "\"value\":%u", dev.status);
    result(seq, buf);
  } else if (str_is(l, "op", "status.write")) {
    uint32_t v = (uint32_t)num(l, "value"), added = v & ~dev.status;
    if (v == 0) {
      reset_device();
    } else {
      if ((added & VB_S_FEATURES_OK) && (dev.driver & ~dev.offered)) v &= ~(uint32_t)VB_S_FEATURES_OK;
      dev.status = v;
    }
    result(seq, "");
  } else if (str_is(l, "op", "features.read")) {
    snprintf(buf, sizeof buf, "\"value\":\"0x%llx\"", (unsigned long long)dev.offered);
    result(seq, buf);
  } else if (str_is(l, "op", "features.write")) {
    dev.driver = num(l, "value");
    big_endian = has(VB_F_VERSION_1) ? 0 : dev.guest_be;
    result(seq, "");
  } else if (str_is(l, "op", "config.read")) {
    uint64_t off = num(l, "offset"), len = num(l, "length");
    if (len == 0 || off + len > sizeof dev.config) {
      answer(seq, "errored", "config.read outside the 8-byte config space");
      return;
    }
    char *b = b64_encode(dev.config + off, (size_t)len);
    snprintf(buf, sizeof buf, "\"data\":\"%s\",\"generation\":%u", b, dev.generation);
    free(b);
    result(seq, buf);
  } else if (str_is(l, "op", "config.write")) {
    uint8_t data[16];
    uint64_t off = num(l, "offset");
    const char *d = field(l, "data");
    size_t n = d && *d == '"' ? b64_decode(d + 1, data, sizeof data) : 0;
    if (n == 0 || off + n > sizeof dev.config) {
      answer(seq, "errored", "config.write outside the 8-byte config space");
      return;
    }
    memcpy(dev.config + off, data, n);
    /* the host takes actual when its most significant byte is written (config is little-endian) */
    if (off + n == OFF_VIRTIO_BALLOON_CONFIG_ACTUAL + 4) {
      const uint8_t *a = dev.config + OFF_VIRTIO_BALLOON_CONFIG_ACTUAL;
      dev.actual = (uint32_t)a[0] | (uint32_t)a[1] << 8 | (uint32_t)a[2] << 16 | (uint32_t)a[3] << 24;
    }
    result(seq, "");
  } else if (str_is(l, "op", "queue.max")) {
    snprintf(buf, sizeof buf, "\"size\":%d", num(l, "queue") < QUEUES ? QUEUE_MAX : 0);
    result(seq, buf);
  } else if (str_is(l, "op", "queue.setup")) {
    uint64_t qi = num(l, "queue"), size = num(l, "size");
    if (qi >= QUEUES || size == 0 || size > QUEUE_MAX || (size & (size - 1))) {
      answer(seq, "errored", "queue.setup: no such queue, or a size that is not a power of two up to 256");
      return;
    }
    struct queue *q = &dev.q[qi];
    q->size = (unsigned)size;
    q->desc = num(l, "desc");
    q->avail = num(l, "avail");
    q->used = num(l, "used");
    q->ready = 1;
    q->last_avail = q->used_idx = 0;
    (void)flag(l, "eventIdx"); /* the negotiated features say it */
    result(seq, "");
  } else if (str_is(l, "op", "notify")) {
    process((unsigned)num(l, "queue"));
    result(seq, "");
  } else if (str_is(l, "op", "settle")) {
    result(seq, ""); /* all work is done in notify */
  } else if (str_is(l, "op", "host.target")) {
    uint32_t pages = (uint32_t)num(l, "pages");
    uint8_t *p = dev.config + OFF_VIRTIO_BALLOON_CONFIG_NUM_PAGES;
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(pages >> (8 * i)); /* config is little-endian */
    dev.generation++;
    out_line("{\"op\":\"event\",\"event\":\"config\"}");
    result(seq, "");
  } else if (str_is(l, "op", "host.stats")) {
    int held = dev.stats_held;
    if (held) {
      struct queue *q = &dev.q[VB_Q_STATSQ];
      uint16_t old = q->used_idx;
      dev.stats_held = 0;
      use(q, dev.stats_head, 0);
      if (wants_interrupt(q, old, q->used_idx)) raise_used(VB_Q_STATSQ);
    }
    result(seq, held ? "\"held\":true" : "\"held\":false");
  } else if (str_is(l, "op", "host.state")) {
    host_state(seq);
  } else {
    const char *op = field(l, "op");
    snprintf(buf, sizeof buf, "op %.40s is not implemented by this device", op ? op : "(none)");
    for (char *c = buf; *c; c++) if (*c == '"') *c = '\'';
    answer(seq, "unsupported", buf);
  }
}

int main(void) {
  char *l;
  fprintf(stderr, "c-example device: ready\n");
  while ((l = read_line()) != NULL) {
    if (*l) handle(l);
  }
  return 0;
}
