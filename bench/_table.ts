/**
 * What the figure scripts (`seed.ts`, `profiles.ts`) print with: numbers in
 * en-US grouping, and Markdown tables padded to their widest cell, so the
 * figures paste into README.md and docs as they are.
 *
 * @module
 */

/** `n` with thousands separators and exactly `d` decimals. */
export const fmt = (n: number, d = 0): string =>
  n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

/** A Markdown table; the first row is the header. */
export function table(r: string[][]): string {
  const widths = (r[0] as string[]).map((_, i) =>
    Math.max(...r.map((row) => (row[i] ?? "").length))
  );
  const line = (row: string[]) =>
    "| " + row.map((c, i) => c.padEnd(widths[i] as number)).join(" | ") + " |";
  return [
    line(r[0] as string[]),
    "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|",
    ...r.slice(1).map(line),
  ].join("\n");
}
