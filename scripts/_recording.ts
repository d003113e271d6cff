/**
 * What the two trace recorders (`record_qemu_trace.ts`, `record_hint_trace.ts`)
 * share once the guest has run: the QEMU log gzipped as test data, and the
 * `.meta.json` beside it (versions, memory, balloon options, the steps in
 * words, the negotiated features).
 *
 * @module
 */

import type { TraceEvent } from "../conformance/trace/format.ts";
import { BALLOON_PAGE_SIZE } from "../spec/mod.ts";

const MIB = 2 ** 20;

/** What a recording's meta file says about it. */
export interface Recording {
  /** The QEMU trace log the guest run wrote. */
  readonly traceFile: string;
  /** Output path without extension: `<out>.log.gz` and `<out>.meta.json`. */
  readonly out: string;
  /** Versions of QEMU, the guest kernel and busybox. */
  readonly versions: { readonly qemu: string; readonly kernel: string; readonly busybox: string };
  /** Guest RAM in MiB. */
  readonly memMiB: number;
  /** The balloon device's QEMU options. */
  readonly balloon: Readonly<Record<string, string>>;
  /** What the guest did, in words. */
  readonly steps: readonly string[];
  /** The features event (from QMP), if it could be read. */
  readonly features: TraceEvent | undefined;
}

/** Writes `<out>.log.gz` and `<out>.meta.json` and prints what was written. */
export async function writeRecording(r: Recording): Promise<void> {
  const text = await Deno.readFile(r.traceFile);
  const gz = new Uint8Array(
    await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
  await Deno.writeFile(`${r.out}.log.gz`, gz);
  const meta = {
    recorded: new Date().toISOString().slice(0, 10),
    versions: r.versions,
    memMiB: r.memMiB,
    guestPages: (r.memMiB * MIB) / BALLOON_PAGE_SIZE,
    balloon: r.balloon,
    steps: r.steps,
    features: r.features,
  };
  await Deno.writeTextFile(`${r.out}.meta.json`, JSON.stringify(meta, null, 2) + "\n");
  console.log(
    `wrote ${r.out}.log.gz (${gz.length} bytes, ${text.length} bytes of log) and ${r.out}.meta.json`,
  );
  for (const s of r.steps) console.log(`  ${s}`);
}
