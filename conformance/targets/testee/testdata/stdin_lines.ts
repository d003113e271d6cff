/**
 * The scripted bad testees' line reader: synchronous lines from stdin
 * (a tiny module of its own, so each spawned script stays quick to start).
 *
 * @module
 */

let buf = "";
const chunk = new Uint8Array(65536);
const dec = new TextDecoder();

/** The next line of stdin, or undefined at its end. */
export function readLine(): string | undefined {
  for (;;) {
    const nl = buf.indexOf("\n");
    if (nl >= 0) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      return l;
    }
    const n = Deno.stdin.readSync(chunk);
    if (n === null || n === 0) return undefined;
    buf += dec.decode(chunk.subarray(0, n));
  }
}
