/*
 * A small virtio-balloon driver in plain C, tested by the conformance suite
 * over the testee protocol's driver role (docs/TESTEE-PROTOCOL.md, "Driver
 * testees"): the suite plays the device, the host and the guest, and sends
 * requests on stdin (probe, interrupt, remove, freeze, restore,
 * migrate-page, oom); the driver acts with calls on stdout (dev.* on the
 * device, guest.* on the guest's page allocator, mem.* on guest RAM, wait
 * and sleep to let the device run), a log on stderr. It implements its own
 * split virtqueue in pages it takes from the guest: descriptor table, avail
 * ring and used ring, a free descriptor list, used elements read back, and
 * EVENT_IDX.
 *
 * Accepts VERSION_1 (or the legacy interface, with ANY_LAYOUT, in the
 * guest's byte order), EVENT_IDX, MUST_TELL_HOST, STATS_VQ and
 * DEFLATE_ON_OOM. Inflate and deflate in PFN arrays of at most 256 pages,
 * one request in flight, each waited for; a deflate is told to the host
 * before its pages go back to the guest (always: with MUST_TELL_HOST a
 * MUST, without it what the spec recommends); `actual` after every pass.
 * The stats queue: one buffer before DRIVER_OK, a fresh one each time the
 * device uses it. The OOM notifier (with DEFLATE_ON_OOM) deflates at most
 * one PFN array. Declares unsupported: page bitmaps and MISC_VQ (v3),
 * free page hinting, page poison and reporting (virtio-1.x), and
 * INDIRECT_DESC (it never needs more than one descriptor).
 *
 * Build:  cc -O2 -Wall -Wextra -o examples/c/driver examples/c/driver.c
 * Test:   deno task conform --driver-cmd ./examples/c/driver
 *
 * Break a rule on purpose (c_driver_test.ts checks the cases each one fails):
 *   -DBREAK_TELL_LATE    deflated pages go back to the guest before the host used the deflate
 *                        (deflate.pfn.mth.no-reuse-before-ack, lifecycle.remove.no-reuse;
 *                        without MUST_TELL_HOST a SHOULD: deflate.pfn.no-mth.tell-first warns)
 *   -DBREAK_WRITABLE     PFN arrays in device-writable descriptors: the device rejects them
 *                        (inflate.pfn.*, actual.pfn.*, negotiation.offer.*.format, …)
 *   -DBREAK_NO_PUBLISH   inflate and deflate buffers never published (avail.idx not moved): the
 *                        driver waits for ever (inflate.pfn.*, actual.pfn.*, oom.doom.*, lifecycle.*)
 *   -DBREAK_AVAIL_ORDER  avail.idx written before the ring entry it publishes
 *                        (ring.avail.entry-before-idx)
 *   -DBREAK_EARLY_OK     DRIVER_OK before FEATURES_OK and before the queues are set up
 *                        (negotiation.init.sequence, negotiation.refused.stops,
 *                        negotiation.offer.*.init)
 *   -DBREAK_LATE_QUEUES  DRIVER_OK after FEATURES_OK but before the queues are set up
 *                        (negotiation.init.sequence)
 *   -DBREAK_NO_ACTUAL    actual never written (actual.pfn.*, oom.doom.actual, lifecycle.remove, …)
 *   -DBREAK_STATS        stats entries of 16 bytes, the struct without __packed
 *                        (stats.whole-entries, stats.first-filled)
 *   -DBREAK_STATS_NONE   no stats buffer at probe, so never one (stats.*)
 *   -DBREAK_FOREIGN_PFN  each inflate also names a free page the guest did not give the driver
 *                        (inflate.pfn.allocated-pages, legacy.be.pfn-allocated, actual.pfn.*, …)
 *
 * The numbers and offsets come from balloon_spec.h, generated from the
 * suite's spec tables (deno task testee-doc); the wire from testee_io.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balloon_spec.h"
#include "testee_io.h"

#define QUEUES 3 /* inflateq, deflateq, statsq */
#define PAGE_BYTES (1u << VIRTIO_BALLOON_PFN_SHIFT)
#define PFNS_MAX VIRTIO_BALLOON_ARRAY_PFNS_MAX
#define F(bit) (1ull << (bit))
/* the driver's buffers, in one page of its own */
#define PFN_ARRAY_AT 0
#define STATS_AT (PFN_ARRAY_AT + PFNS_MAX * PFN_ENTRY_BYTES)
#define STATS_MAX 64
#ifdef BREAK_STATS
#define STAT_BYTES 16 /* tag, 6 bytes of padding, val: the struct without __packed */
#define STAT_VAL_AT 8
#else
#define STAT_BYTES SIZEOF_VIRTIO_BALLOON_STAT
#define STAT_VAL_AT OFF_VIRTIO_BALLOON_STAT_VAL
#endif

static void die(const char *what) {
  fprintf(stderr, "c-driver: %s\n", what);
  exit(1);
}

/* ---- calls --------------------------------------------------------------- */

static char call_buf[1 << 16];
static int config_pending, stats_pending;

/* a call without an answer */
static void say(const char *op, const char *fields) {
  int n = snprintf(call_buf, sizeof call_buf, "{\"op\":\"%s\"%s%s}", op, *fields ? "," : "", fields);
  if (n < 0 || (size_t)n >= sizeof call_buf) die("call line too long");
  out_line(call_buf);
}

/* a call with an answer: returns the answer line (valid until the next read) */
static char *call(const char *op, const char *fields) {
  unsigned id = ++msg_id;
  int n = snprintf(call_buf, sizeof call_buf, "{\"op\":\"%s\",\"id\":%u%s%s}", op, id,
                   *fields ? "," : "", fields);
  if (n < 0 || (size_t)n >= sizeof call_buf) die("call line too long");
  out_line(call_buf);
  char *l = read_line();
  if (!l) exit(0);
  if (num(l, "id") != id) die("an answer with another id");
  return l;
}

/* the interrupts in a wait or sleep answer: noted, handled by whoever waits for them */
static void take_events(const char *l) {
  for (const char *p = strstr(l, "\"event\":\""); p; p = strstr(p + 1, "\"event\":\"")) {
    if (strncmp(p + 9, "config\"", 7) == 0) config_pending = 1;
    else if (num(p, "queue") == VB_Q_STATSQ) stats_pending = 1;
  }
}

static void wait_device(void) { take_events(call("wait", "")); }

static void sleep_ms(unsigned ms) {
  char f[32];
  snprintf(f, sizeof f, "\"ms\":%u", ms);
  take_events(call("sleep", f));
}

/* pages of an answer's "pages" runs, at most max; returns the count */
static uint32_t runs_of(const char *l, uint32_t *out, uint32_t max) {
  const char *p = field(l, "pages");
  uint32_t n = 0;
  if (!p || *p != '[') return 0;
  for (p++; (p = strchr(p, '[')) != NULL;) {
    char *e;
    unsigned long start = strtoul(p + 1, &e, 10), count = strtoul(e + 1, &e, 10);
    for (unsigned long i = 0; i < count && n < max; i++) out[n++] = (uint32_t)(start + i);
    p = e;
  }
  return n;
}

/* "[[first,count],…]" of a list of pages (consecutive ones in one run) */
static void runs_json(char *s, size_t cap, const uint32_t *pfns, uint32_t n) {
  size_t len = (size_t)snprintf(s, cap, "[");
  for (uint32_t i = 0; i < n;) {
    uint32_t j = i + 1;
    while (j < n && pfns[j] == pfns[j - 1] + 1) j++;
    len += (size_t)snprintf(s + len, cap - len, "%s[%u,%u]", i ? "," : "", pfns[i], j - i);
    if (len >= cap) die("too many runs");
    i = j;
  }
  snprintf(s + len, cap - len, "]");
}

/* ---- the transport ------------------------------------------------------- */

static uint32_t status;

static void set_status(uint32_t v) {
  char f[32];
  snprintf(f, sizeof f, "\"value\":%u", v);
  say("dev.status.write", f);
  status = v;
}

static uint32_t read_status(void) { return (uint32_t)num(call("dev.status.read", ""), "value"); }

/* config space: little-endian, even on a legacy interface */
static uint32_t config_u32(unsigned offset) {
  char f[48];
  uint8_t b[4];
  snprintf(f, sizeof f, "\"offset\":%u,\"length\":4", offset);
  const char *l = call("dev.config.read", f), *d = field(l, "data");
  memset(b, 0, sizeof b);
  if (d && *d == '"') b64_decode(d + 1, b, sizeof b);
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void config_write_u32(unsigned offset, uint32_t v) {
  uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  char *d = b64_encode(b, sizeof b), f[64];
  snprintf(f, sizeof f, "\"offset\":%u,\"data\":\"%s\"", offset, d);
  free(d);
  say("dev.config.write", f); /* one 4-byte access */
}

/* ---- the split virtqueue ------------------------------------------------- */

struct vq {
  unsigned size, num_free;
  uint64_t desc, avail, used;  /* guest addresses */
  uint32_t ring_pfn, ring_pages;
  uint16_t free_head;          /* first free descriptor; the rest follow next[] */
  uint16_t avail_idx;          /* the driver's copy of avail.idx */
  uint16_t last_used;          /* used elements taken so far */
  uint16_t *next;              /* each descriptor's next (free list and chains) */
  uint16_t *chain_len;         /* descriptors of the chain at each head, 0 when free */
};

struct seg {
  uint64_t addr;
  uint32_t len;
  int writable;
};

static struct {
  uint32_t pages;     /* guest RAM in 4 KiB pages */
  int guest_be;
  int bound;          /* probed, DRIVER_OK set */
  uint64_t features;  /* negotiated */
  unsigned queues;
  struct vq q[QUEUES];
  uint64_t scratch;   /* the page of PFN arrays and stats */
  uint32_t scratch_pfn;
  uint32_t *balloon;  /* the pages in the balloon, in the order inflated */
  uint32_t num_pages, cap;
  int oom_registered;
} drv;

static int has(int bit) { return (drv.features >> bit) & 1; }

static uint64_t avail_ring_bytes(unsigned size) {
  return SIZEOF_VIRTQ_AVAIL_HDR + (uint64_t)RING_ENTRY_BYTES * size + RING_ENTRY_BYTES;
}

static uint64_t used_ring_bytes(unsigned size) {
  return SIZEOF_VIRTQ_USED_HDR + (uint64_t)SIZEOF_VIRTQ_USED_ELEM * size + RING_ENTRY_BYTES;
}

/* the legacy layout (used ring on the next page), which a modern device takes too */
static int vq_setup(unsigned qi) {
  struct vq *q = &drv.q[qi];
  char f[256];
  snprintf(f, sizeof f, "\"queue\":%u", qi);
  unsigned size = (unsigned)num(call("dev.queue.max", f), "size");
  if (size == 0 || size > VIRTQ_MAX_SIZE) return 0;
  uint64_t avail_off = (uint64_t)SIZEOF_VIRTQ_DESC * size;
  uint64_t used_off = (avail_off + avail_ring_bytes(size) + PAGE_BYTES - 1) / PAGE_BYTES * PAGE_BYTES;
  uint64_t bytes = used_off + used_ring_bytes(size);
  uint32_t pages = (uint32_t)((bytes + PAGE_BYTES - 1) / PAGE_BYTES), got[1];
  snprintf(f, sizeof f, "\"count\":%u,\"contiguous\":true", pages);
  if (runs_of(call("guest.alloc", f), got, 1) == 0) return 0;
  memset(q, 0, sizeof *q);
  q->size = size;
  q->ring_pfn = got[0];
  q->ring_pages = pages;
  q->desc = (uint64_t)got[0] << VIRTIO_BALLOON_PFN_SHIFT;
  q->avail = q->desc + avail_off;
  q->used = q->desc + used_off;
  uint8_t *zero = xcalloc(1, (size_t)bytes); /* the guest's pages hold anything */
  mem_write(q->desc, zero, (size_t)bytes);
  free(zero);
  q->next = xmalloc(size * sizeof *q->next);
  q->chain_len = xcalloc(size, sizeof *q->chain_len);
  for (unsigned i = 0; i < size; i++) q->next[i] = (uint16_t)(i + 1);
  q->num_free = size;
  snprintf(f, sizeof f, "\"queue\":%u,\"size\":%u,\"desc\":\"0x%llx\",\"avail\":\"0x%llx\",\"used\":\"0x%llx\"",
           qi, size, (unsigned long long)q->desc, (unsigned long long)q->avail,
           (unsigned long long)q->used);
  say("dev.queue.setup", f);
  return 1;
}

static void guest_free(const uint32_t *pfns, uint32_t n, int managed) {
  static char f[sizeof call_buf - 64];
  size_t len = (size_t)snprintf(f, sizeof f, "\"pages\":");
  runs_json(f + len, sizeof f - len - 24, pfns, n);
  if (managed) strcat(f, ",\"managed\":true");
  say("guest.free", f);
}

static void vq_free(struct vq *q) {
  free(q->next);
  free(q->chain_len);
  if (q->ring_pages) {
    char f[96];
    snprintf(f, sizeof f, "\"pages\":[[%u,%u]]", q->ring_pfn, q->ring_pages);
    say("guest.free", f);
  }
  memset(q, 0, sizeof *q);
}

/* publishes a chain's head in the avail ring: the entry, then the index */
static void publish(struct vq *q, uint16_t head) {
  uint64_t entry = q->avail + SIZEOF_VIRTQ_AVAIL_HDR +
                   (uint64_t)(q->avail_idx % q->size) * RING_ENTRY_BYTES;
  q->avail_idx++;
#if defined(BREAK_AVAIL_ORDER)
  wr(q->avail + OFF_VIRTQ_AVAIL_HDR_IDX, 2, q->avail_idx); /* the index before the entry */
  wr(entry, RING_ENTRY_BYTES, head);
#else
  wr(entry, RING_ENTRY_BYTES, head);
  wr(q->avail + OFF_VIRTQ_AVAIL_HDR_IDX, 2, q->avail_idx);
#endif
}

/* adds a chain of n segments (readable ones first); returns its head, or -1 when full */
static int vq_add(struct vq *q, const struct seg *s, unsigned n, int publish_it) {
  if (n == 0 || q->num_free < n) return -1;
  uint16_t head = q->free_head, i = head;
  for (unsigned k = 0; k < n; k++) {
    uint8_t d[SIZEOF_VIRTQ_DESC];
    uint16_t flags = (uint16_t)((s[k].writable ? VIRTQ_DESC_F_WRITE : 0) |
                                (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
    put(d + OFF_VIRTQ_DESC_ADDR, 8, s[k].addr);
    put(d + OFF_VIRTQ_DESC_LEN, 4, s[k].len);
    put(d + OFF_VIRTQ_DESC_FLAGS, 2, flags);
    put(d + OFF_VIRTQ_DESC_NEXT, 2, k + 1 < n ? q->next[i] : 0);
    mem_write(q->desc + (uint64_t)i * SIZEOF_VIRTQ_DESC, d, sizeof d);
    i = q->next[i];
  }
  q->free_head = i;
  q->num_free -= n;
  q->chain_len[head] = (uint16_t)n;
  if (publish_it) publish(q, head);
  return head;
}

/* notifies the device unless it said it needs no notification (EVENT_IDX, or NO_NOTIFY) */
static void vq_kick(unsigned qi, uint16_t old) {
  struct vq *q = &drv.q[qi];
  int need;
  if (has(VB_F_EVENT_IDX)) {
    uint16_t event = (uint16_t)rd(q->used + SIZEOF_VIRTQ_USED_HDR +
                                      (uint64_t)SIZEOF_VIRTQ_USED_ELEM * q->size,
                                  RING_ENTRY_BYTES);
    need = (uint16_t)(q->avail_idx - event - 1) < (uint16_t)(q->avail_idx - old);
  } else {
    need = !(rd(q->used + OFF_VIRTQ_USED_HDR_FLAGS, 2) & VIRTQ_USED_F_NO_NOTIFY);
  }
  if (need) {
    char f[32];
    snprintf(f, sizeof f, "\"queue\":%u", qi);
    say("dev.notify", f);
  }
}

/* takes the next used element: its head (the chain goes back on the free list), or -1 */
static int vq_get_used(struct vq *q) {
  if ((uint16_t)rd(q->used + OFF_VIRTQ_USED_HDR_IDX, 2) == q->last_used) return -1;
  uint8_t e[SIZEOF_VIRTQ_USED_ELEM];
  mem_read(q->used + SIZEOF_VIRTQ_USED_HDR +
               (uint64_t)(q->last_used % q->size) * SIZEOF_VIRTQ_USED_ELEM,
           e, sizeof e);
  uint32_t id = (uint32_t)get(e + OFF_VIRTQ_USED_ELEM_ID, 4);
  if (id >= q->size || q->chain_len[id] == 0) die("the device used a descriptor that was not in use");
  uint16_t last = (uint16_t)id;
  for (unsigned k = 1; k < q->chain_len[id]; k++) last = q->next[last];
  q->next[last] = q->free_head;
  q->free_head = (uint16_t)id;
  q->num_free += q->chain_len[id];
  q->chain_len[id] = 0;
  q->last_used++;
  if (has(VB_F_EVENT_IDX)) {
    /* used_event: interrupt when the next element is used */
    wr(q->avail + SIZEOF_VIRTQ_AVAIL_HDR + (uint64_t)RING_ENTRY_BYTES * q->size, RING_ENTRY_BYTES,
       q->last_used);
  }
  return (int)id;
}

/* waits until the device used the chain at head */
static void vq_wait_for(struct vq *q, int head) {
  for (;;) {
    int h;
    while ((h = vq_get_used(q)) >= 0) {
      if (h == head) return;
    }
    wait_device();
  }
}

/* ---- the balloon ---------------------------------------------------------- */

/* puts a PFN array on inflateq or deflateq and notifies; returns its head */
static int send_pfns(unsigned qi, const uint32_t *pfns, uint32_t n) {
  uint8_t buf[(PFNS_MAX + 1) * PFN_ENTRY_BYTES];
  for (uint32_t i = 0; i < n; i++) put(buf + i * PFN_ENTRY_BYTES, PFN_ENTRY_BYTES, pfns[i]);
  mem_write(drv.scratch + PFN_ARRAY_AT, buf, n * PFN_ENTRY_BYTES);
  struct seg s = {drv.scratch + PFN_ARRAY_AT, n * PFN_ENTRY_BYTES, 0};
#ifdef BREAK_WRITABLE
  s.writable = 1;
#endif
  struct vq *q = &drv.q[qi];
  uint16_t old = q->avail_idx;
#ifdef BREAK_NO_PUBLISH
  int head = vq_add(q, &s, 1, 0);
#else
  int head = vq_add(q, &s, 1, 1);
#endif
  if (head < 0) die("no free descriptor with no request in flight");
  vq_kick(qi, old);
  return head;
}

static void write_actual(void) {
#ifdef BREAK_NO_ACTUAL
  (void)config_write_u32; /* never written */
#else
  config_write_u32(OFF_VIRTIO_BALLOON_CONFIG_ACTUAL, drv.num_pages);
#endif
}

/* without DEFLATE_ON_OOM the balloon's pages leave the guest's managed count */
static int managed(void) { return !has(VB_F_DEFLATE_ON_OOM); }

/* one inflate pass of up to one PFN array; returns the pages added */
static uint32_t fill(uint32_t want) {
  uint32_t pfns[PFNS_MAX + 1];
  char f[64];
  if (want > PFNS_MAX) want = PFNS_MAX;
#ifdef BREAK_FOREIGN_PFN
  if (want == PFNS_MAX) want--;
#endif
  snprintf(f, sizeof f, "\"count\":%u%s", want, managed() ? ",\"managed\":true" : "");
  uint32_t n = runs_of(call("guest.alloc", f), pfns, want);
  if (n < want) sleep_ms(200); /* the guest is short of memory: back off, as Linux does */
  if (n == 0) return 0;
  if (drv.num_pages + n > drv.cap) {
    drv.cap = (drv.num_pages + n) * 2;
    drv.balloon = xrealloc(drv.balloon, drv.cap * sizeof *drv.balloon);
  }
  memcpy(drv.balloon + drv.num_pages, pfns, n * sizeof *pfns);
  drv.num_pages += n;
  uint32_t sent = n;
#ifdef BREAK_FOREIGN_PFN
  uint32_t foreign[1];
  if (runs_of(call("guest.free-pages", ""), foreign, 1) == 1) pfns[sent++] = foreign[0];
#endif
  vq_wait_for(&drv.q[VB_Q_INFLATEQ], send_pfns(VB_Q_INFLATEQ, pfns, sent));
  return n;
}

/* one deflate pass of up to one PFN array: tell the host, wait, then give the pages back */
static uint32_t leak(uint32_t want) {
  if (want > drv.num_pages) want = drv.num_pages;
  if (want > PFNS_MAX) want = PFNS_MAX;
  if (want == 0) return 0;
  const uint32_t *pfns = drv.balloon + drv.num_pages - want;
  int head = send_pfns(VB_Q_DEFLATEQ, pfns, want);
#ifdef BREAK_TELL_LATE
  guest_free(pfns, want, managed()); /* before the host used the deflate */
  vq_wait_for(&drv.q[VB_Q_DEFLATEQ], head);
#else
  vq_wait_for(&drv.q[VB_Q_DEFLATEQ], head);
  guest_free(pfns, want, managed());
#endif
  drv.num_pages -= want;
  return want;
}

/* moves the balloon towards num_pages, one pass at a time, actual after each */
static void update(void) {
  for (;;) {
    config_pending = 0;
    int64_t diff = (int64_t)config_u32(OFF_VIRTIO_BALLOON_CONFIG_NUM_PAGES) - drv.num_pages;
    if (diff == 0) return;
    uint32_t moved = diff > 0 ? fill((uint32_t)diff) : leak((uint32_t)-diff);
    write_actual();
    if (moved == 0) return; /* out of memory: wait for the next change */
  }
}

/* ---- the stats queue ------------------------------------------------------ */

/* fills the stats buffer from the guest's statistics and makes it available */
static void stats_add(void) {
  uint8_t buf[STATS_MAX * STAT_BYTES];
  uint32_t n = 0;
  const char *l = call("guest.stats", "");
  for (const char *p = strstr(l, "\"tag\":"); p && n < STATS_MAX; p = strstr(p + 1, "\"tag\":")) {
    uint8_t *e = buf + n * STAT_BYTES;
    memset(e, 0, STAT_BYTES);
    put(e + OFF_VIRTIO_BALLOON_STAT_TAG, 2, strtoul(p + 6, NULL, 10));
    put(e + STAT_VAL_AT, 8, num(p, "val"));
    n++;
  }
  mem_write(drv.scratch + STATS_AT, buf, n * STAT_BYTES);
  struct seg s = {drv.scratch + STATS_AT, n * STAT_BYTES, 0};
  if (vq_add(&drv.q[VB_Q_STATSQ], &s, 1, 1) < 0) die("the stats queue is full");
}

/* the device used the stats buffer: a fresh one */
static void stats_refill(void) {
  stats_pending = 0;
  if (!drv.bound || !has(VB_F_STATS_VQ)) return;
  struct vq *q = &drv.q[VB_Q_STATSQ];
  int used = 0;
  while (vq_get_used(q) >= 0) used = 1;
  if (!used) return;
  uint16_t old = q->avail_idx;
  stats_add();
  vq_kick(VB_Q_STATSQ, old);
}

/* ---- probe, remove ---------------------------------------------------------- */

static void release_queues(void) {
  for (unsigned i = 0; i < QUEUES; i++) vq_free(&drv.q[i]);
  if (drv.scratch_pfn) guest_free(&drv.scratch_pfn, 1, 0);
  drv.scratch = drv.scratch_pfn = 0;
  drv.queues = 0;
}

static void oom_register(int on) {
  if (drv.oom_registered == on) return;
  say("guest.oom", on ? "\"register\":true" : "\"register\":false");
  drv.oom_registered = on;
}

static int fail_probe(void) {
  set_status(read_status() | VB_S_FAILED);
  release_queues();
  return 0;
}

/* negotiates, sets up the queues, primes statsq, DRIVER_OK */
static int probe(void) {
  char f[64];
  set_status(0);
  set_status(VB_S_ACKNOWLEDGE);
  set_status(VB_S_ACKNOWLEDGE | VB_S_DRIVER);
  uint64_t offered = num(call("dev.features.read", ""), "value");
  uint64_t wanted = F(VB_F_VERSION_1) | F(VB_F_EVENT_IDX) | F(VB_F_MUST_TELL_HOST) |
                    F(VB_F_STATS_VQ) | F(VB_F_DEFLATE_ON_OOM);
  if (!(offered & F(VB_F_VERSION_1))) wanted |= F(VB_F_ANY_LAYOUT); /* a transitional device */
  drv.features = offered & wanted;
  snprintf(f, sizeof f, "\"value\":\"0x%llx\"", (unsigned long long)drv.features);
  say("dev.features.write", f);
  big_endian = has(VB_F_VERSION_1) ? 0 : drv.guest_be;
#ifdef BREAK_EARLY_OK
  set_status(status | VB_S_DRIVER_OK); /* before FEATURES_OK and the queues */
#endif
  if (has(VB_F_VERSION_1)) { /* the legacy interface has no FEATURES_OK */
    set_status(status | VB_S_FEATURES_OK);
    status = read_status();
    if (!(status & VB_S_FEATURES_OK)) return fail_probe();
  }
#ifdef BREAK_LATE_QUEUES
  set_status(status | VB_S_DRIVER_OK); /* after FEATURES_OK, before the queues */
#endif
  drv.queues = has(VB_F_STATS_VQ) ? 3 : 2;
  for (unsigned i = 0; i < drv.queues; i++) {
    if (!vq_setup(i)) return fail_probe();
  }
  uint32_t page[1];
  if (runs_of(call("guest.alloc", "\"count\":1"), page, 1) == 0) return fail_probe();
  drv.scratch_pfn = page[0];
  drv.scratch = (uint64_t)page[0] << VIRTIO_BALLOON_PFN_SHIFT;
#ifndef BREAK_STATS_NONE
  if (has(VB_F_STATS_VQ)) stats_add(); /* before DRIVER_OK, notified after it */
#endif
  if (has(VB_F_DEFLATE_ON_OOM)) oom_register(1);
  set_status(status | VB_S_DRIVER_OK);
  drv.bound = 1;
  if (has(VB_F_STATS_VQ)) vq_kick(VB_Q_STATSQ, 0);
  update();
  return 1;
}

/* gives every page back (telling the host), actual 0, resets the device */
static void unbind(void) {
  oom_register(0);
  while (drv.num_pages > 0 && leak(drv.num_pages) > 0) {}
  write_actual();
  set_status(0);
  drv.bound = 0;
  release_queues();
}

/* balloon-page migration: a new page in (inflate), the old one out (deflate), then freed */
static int migrate_page(uint32_t pfn) {
  uint32_t i = 0, fresh[1];
  char f[64];
  while (i < drv.num_pages && drv.balloon[i] != pfn) i++;
  if (i == drv.num_pages) return 0;
  snprintf(f, sizeof f, "\"count\":1%s", managed() ? ",\"managed\":true" : "");
  if (runs_of(call("guest.alloc", f), fresh, 1) == 0) return 0;
  vq_wait_for(&drv.q[VB_Q_INFLATEQ], send_pfns(VB_Q_INFLATEQ, fresh, 1));
  drv.balloon[i] = fresh[0];
  vq_wait_for(&drv.q[VB_Q_DEFLATEQ], send_pfns(VB_Q_DEFLATEQ, &pfn, 1));
  guest_free(&pfn, 1, managed());
  return 1;
}

/* ---- requests ----------------------------------------------------------- */

static void forget(void) {
  for (unsigned i = 0; i < QUEUES; i++) {
    free(drv.q[i].next);
    free(drv.q[i].chain_len);
  }
  free(drv.balloon);
  memset(&drv, 0, sizeof drv);
  status = 0;
  config_pending = stats_pending = 0;
}

static void handle(const char *l) {
  uint64_t seq = num(l, "seq");
  char buf[512];
  if (str_is(l, "op", "hello")) {
    if (num(l, "protocol") != TESTEE_PROTOCOL_VERSION) {
      snprintf(buf, sizeof buf, "this driver speaks testee protocol %d, not %llu",
               TESTEE_PROTOCOL_VERSION, (unsigned long long)num(l, "protocol"));
      answer(seq, "errored", buf);
      return;
    }
    const char *missing;
    if (str_is(l, "profile", "v3")) missing = "\"PAGE_BITMAP\",\"MISC_VQ\",\"INDIRECT_DESC\"";
    else if (str_is(l, "profile", "virtio-1.x"))
      missing = "\"FREE_PAGE_HINT\",\"PAGE_POISON\",\"PAGE_REPORTING\",\"INDIRECT_DESC\"";
    else {
      answer(seq, "unsupported", "this driver implements profiles v3 and virtio-1.x");
      return;
    }
    snprintf(buf, sizeof buf,
             "\"protocol\":%d,\"role\":\"driver\",\"name\":\"c-driver\","
             "\"host\":[\"remove\",\"freeze\",\"restore\",\"migrate-page\"],\"unsupported\":[%s]",
             TESTEE_PROTOCOL_VERSION, missing);
    result(seq, buf);
    return;
  }
  if (str_is(l, "op", "reset")) {
    forget();
    drv.pages = (uint32_t)num(l, "pages");
    drv.guest_be = str_is(l, "endian", "be");
    big_endian = drv.guest_be;
    msg_id = 0; /* ids count from 1 in each scenario: its transcript replays alone */
    result(seq, "");
    return;
  }
  const char *fields = "";
  if (str_is(l, "op", "probe")) {
    if (field(l, "bitmapLimit") || flag(l, "failBitmapAllocation")) {
      answer(seq, "unsupported",
             "this driver has no page bitmaps (PAGE_BITMAP), so no bitmap allocation to limit or fail");
      return;
    }
    fields = probe() ? "\"ok\":true" : "\"ok\":false";
  } else if (str_is(l, "op", "interrupt")) {
    if (str_is(l, "event", "config")) config_pending = 1;
    else if (num(l, "queue") == VB_Q_STATSQ) stats_pending = 1;
  } else if (str_is(l, "op", "oom")) {
    uint32_t freed = 0;
    if (drv.bound && has(VB_F_DEFLATE_ON_OOM)) {
      freed = leak(PFNS_MAX);
      write_actual();
    }
    snprintf(buf, sizeof buf, "\"freed\":%u", freed);
    fields = buf;
  } else if (str_is(l, "op", "remove") || str_is(l, "op", "freeze")) {
    if (drv.bound) unbind();
  } else if (str_is(l, "op", "restore")) {
    int ok = !drv.bound && probe();
    if (ok) write_actual();
    fields = ok ? "\"ok\":true" : "\"ok\":false";
  } else if (str_is(l, "op", "migrate-page")) {
    int ok = drv.bound && migrate_page((uint32_t)num(l, "pfn"));
    fields = ok ? "\"ok\":true" : "\"ok\":false";
  } else {
    const char *op = field(l, "op");
    snprintf(buf, sizeof buf, "op %.40s is not implemented by this driver", op ? op : "(none)");
    for (char *c = buf; *c; c++) if (*c == '"') *c = '\'';
    answer(seq, "unsupported", buf);
    return;
  }
  /* interrupts that came while it worked: the work they start, before the reply */
  if (drv.bound) {
    while (config_pending) update();
    if (stats_pending) stats_refill();
  }
  result(seq, fields);
}

int main(void) {
  char *l;
  fprintf(stderr, "c-example driver: ready\n");
  while ((l = read_line()) != NULL) {
    if (*l) handle(l);
  }
  return 0;
}
