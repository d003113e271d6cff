/**
 * Private: the receive buffer of one bridge channel, shared by the worker
 * (channels it reads asynchronously) and the main thread (the stdio channel
 * it reads itself, see `_direct_stdio.ts`): bytes in, complete lines or
 * exact byte counts out, lines that start with a notice prefix set aside as
 * they are taken.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NEWLINE = 10;

/** Bytes received on a channel and not yet taken. */
export class LineBuffer {
  /** Line prefixes that mark notices. */
  readonly prefixes: readonly Uint8Array[];
  /** Notices set aside and not yet handed over. */
  notices: string[] = [];
  #buf = new Uint8Array(65536);
  #len = 0;
  /**
   * Where the unfinished line started at the last {@link takeLines} that
   * found too few, and how far it had been searched for a newline: the next
   * search goes on from there (a long line arriving in many reads is
   * searched once, not once per read). -1 when the buffer changed since.
   */
  #tailAt = -1;
  #tailScanned = 0;

  /** A buffer whose lines starting with one of `prefixes` are notices. */
  constructor(prefixes: readonly string[]) {
    this.prefixes = prefixes.map((p) => encoder.encode(p));
  }

  /** Bytes held. */
  get buffered(): number {
    return this.#len;
  }

  /** The bytes held (a view, valid until the next change). */
  get view(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  /** Appends received bytes. */
  append(chunk: Uint8Array): void {
    this.#reserve(chunk.length);
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  /**
   * Room for `n` more bytes at the end, to read into directly; pass the count
   * actually written to {@link commit}.
   */
  space(n: number): Uint8Array {
    this.#reserve(n);
    return this.#buf.subarray(this.#len, this.#len + n);
  }

  /** Counts `n` bytes written into {@link space} as received. */
  commit(n: number): void {
    this.#len += n;
  }

  /** Removes bytes [start, end) (a wake-up token the main thread's reader strips). */
  cut(start: number, end: number): void {
    this.#tailAt = -1;
    this.#buf.copyWithin(start, end, this.#len);
    this.#len -= end - start;
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buf.subarray(0, this.#len));
    this.#buf = grown;
  }

  #isNotice(start: number, end: number): boolean {
    for (const p of this.prefixes) {
      if (end - start < p.length) continue;
      let hit = true;
      for (let i = 0; i < p.length && hit; i++) hit = this.#buf[start + i] === p[i];
      if (hit) return true;
    }
    return false;
  }

  /**
   * Takes `count` complete non-notice lines (notices go to `notices`), joined
   * with newlines, without their own newlines (and a `\r` before one); or
   * undefined, keeping them, when fewer have arrived.
   */
  takeLines(count: number): { data: Uint8Array; lines: number } | undefined {
    const ranges: [number, number][] = [];
    let at = 0;
    let consumed = 0;
    let notices = 0;
    while (ranges.length < count) {
      const from = at === this.#tailAt ? this.#tailScanned : at;
      const nl = this.#buf.subarray(from, this.#len).indexOf(NEWLINE);
      if (nl < 0) {
        this.#tailAt = at;
        this.#tailScanned = this.#len;
        break;
      }
      const end = from + nl;
      const textEnd = end > at && this.#buf[end - 1] === 13 ? end - 1 : end;
      if (this.prefixes.length > 0 && this.#isNotice(at, textEnd)) {
        this.notices.push(decoder.decode(this.#buf.subarray(at, textEnd)));
        notices++;
      } else ranges.push([at, textEnd]);
      at = end + 1;
      consumed = at;
    }
    if (ranges.length < count) {
      // not enough yet: keep the lines, drop the notices already set aside
      if (notices > 0) this.#compactNoticesOnly(ranges, consumed);
      return undefined;
    }
    let size = ranges.reduce((n, [a, b]) => n + (b - a), 0) + ranges.length - 1;
    if (size < 0) size = 0;
    const out = new Uint8Array(size);
    let o = 0;
    for (const [i, [a, b]] of ranges.entries()) {
      if (i > 0) out[o++] = NEWLINE;
      out.set(this.#buf.subarray(a, b), o);
      o += b - a;
    }
    this.#drop(consumed);
    return { data: out, lines: ranges.length };
  }

  /**
   * Every complete non-notice line held, joined with newlines (notices go
   * to `notices`), as long as the lines taken and the notices set aside
   * (JSON-escaped, at most twice their length) stay within `maxBytes`: the
   * first that would not fit stays, with all after it, for the next take.
   * One scan and one copy, however many lines.
   */
  takeAllLines(maxBytes = Infinity): { data: Uint8Array; lines: number } {
    const ranges: [number, number][] = [];
    let at = 0;
    let consumed = 0;
    let size = 0;
    let noticeBytes = 0;
    for (;;) {
      const from = at === this.#tailAt ? this.#tailScanned : at;
      const nl = this.#buf.subarray(from, this.#len).indexOf(NEWLINE);
      if (nl < 0) break;
      const end = from + nl;
      const textEnd = end > at && this.#buf[end - 1] === 13 ? end - 1 : end;
      if (this.prefixes.length > 0 && this.#isNotice(at, textEnd)) {
        const cost = 2 * (textEnd - at) + 8;
        if (size + noticeBytes + cost > maxBytes) break;
        this.notices.push(decoder.decode(this.#buf.subarray(at, textEnd)));
        noticeBytes += cost;
      } else {
        const grown = size + (ranges.length > 0 ? 1 : 0) + (textEnd - at);
        if (grown + noticeBytes > maxBytes) break;
        ranges.push([at, textEnd]);
        size = grown;
      }
      at = end + 1;
      consumed = at;
    }
    const out = new Uint8Array(size);
    let o = 0;
    for (const [i, [a, b]] of ranges.entries()) {
      if (i > 0) out[o++] = NEWLINE;
      out.set(this.#buf.subarray(a, b), o);
      o += b - a;
    }
    if (consumed > 0) this.#drop(consumed);
    return { data: out, lines: ranges.length };
  }

  /** Removes notice lines that were taken out, keeping the complete lines not yet asked for. */
  #compactNoticesOnly(ranges: [number, number][], consumed: number): void {
    if (consumed === 0) return;
    this.#tailAt = -1;
    const kept = new Uint8Array(this.#buf.length);
    let o = 0;
    for (const [a, b] of ranges) {
      kept.set(this.#buf.subarray(a, b), o);
      o += b - a;
      kept[o++] = NEWLINE;
    }
    kept.set(this.#buf.subarray(consumed, this.#len), o);
    o += this.#len - consumed;
    this.#buf = kept;
    this.#len = o;
  }

  /** Takes exactly `count` bytes, or undefined when fewer than `count + reserve` are held. */
  takeBytes(count: number, reserve = 0): Uint8Array | undefined {
    if (this.#len - reserve < count) return undefined;
    const out = this.#buf.slice(0, count);
    this.#drop(count);
    return out;
  }

  /** What was received but not taken, for an error's "received". */
  peek(max: number): string {
    return decoder.decode(this.#buf.subarray(0, Math.min(this.#len, max)));
  }

  #drop(n: number): void {
    this.#tailAt = -1;
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
  }
}
