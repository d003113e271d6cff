/**
 * `deno task bench:html`: what `report.html` costs for the whole suite
 * (`--target all`: every case on the reference, the seed as posted and every
 * mutant, about 18,000 results). Prints the run's size, the time to render
 * the page (median of `--runs`), its size plain and gzipped, and, when
 * Chromium is installed, the browser's figures: load, the page's own script,
 * a verdict filter, one column per mutant, and painting the matrix after a
 * scroll.
 *
 * Flags: `--runs N` (default 5).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  CASES,
  MUTANTS,
  REFERENCE_DEVICE,
  REFERENCE_DRIVER,
  runSuite,
  V3_AS_POSTED,
} from "../conformance/mod.ts";
import { htmlReport } from "../conformance/report/html.ts";
import { CHROMIUM_PATHS, launchChromium } from "../conformance/report/html_browser.ts";

const args = parseArgs({ args: Deno.args, options: { runs: { type: "string", default: "5" } } });
const runs = Number(args.values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a positive integer, got ${args.values.runs}`);
  Deno.exit(2);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const t0 = performance.now();
const run = runSuite({
  cases: CASES.filter((k) => k.profile === "v3"),
  targets: [REFERENCE_DRIVER, REFERENCE_DEVICE, V3_AS_POSTED, ...MUTANTS.map((m) => m.target)],
});
console.log(
  `--target all: ${run.results.length} results, ${run.cases.length} cases × ${run.targets.length} targets, run in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s`,
);
const context = { profile: "v3" as const, startedAt: new Date() };
let html = "";
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  html = htmlReport(run, context);
  times.push(performance.now() - t);
}
const gz = await new Response(
  new Blob([html]).stream().pipeThrough(new CompressionStream("gzip")),
).arrayBuffer();
const data = html.slice(html.indexOf('id="report-data">'), html.indexOf("</script>"));
console.log(
  `htmlReport: ${median(times).toFixed(0)} ms (median of ${runs}); ${
    (html.length / 1e6).toFixed(2)
  } MB (${(gz.byteLength / 1e3).toFixed(0)} kB gzipped), of which the data ${
    (data.length / 1e6).toFixed(2)
  } MB`,
);

let chromium: string | undefined;
for (const p of CHROMIUM_PATHS) {
  if (await Deno.stat(p).then(() => true, () => false)) chromium = p;
}
if (chromium === undefined) {
  console.log(`browser: skipped, no Chromium at ${CHROMIUM_PATHS.join(" or ")}`);
  Deno.exit(0);
}
const dir = await Deno.makeTempDir({ prefix: "bench-html-" });
const file = `${dir}/report.html`;
await Deno.writeTextFile(file, html);
const page = await launchChromium(chromium);
try {
  const loads: number[] = [];
  const scripts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await page.goto(`file://${file}`);
    loads.push(performance.now() - t);
    scripts.push(Number(await page.evaluate<string>("document.documentElement.dataset.renderMs")));
  }
  const step = (expr: string) =>
    page.evaluate<number>(`(async () => {
      const t = performance.now();
      ${expr}
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      return performance.now() - t;
    })()`);
  const form = `const f = document.querySelector("#filters");`;
  const fail = await step(
    `${form} for (const i of f.querySelectorAll("input[name=verdict]")) i.checked = i.value === "f";
     f.dispatchEvent(new Event("input", { bubbles: true }));`,
  );
  const each = await step(
    `${form} for (const i of f.querySelectorAll("input[name=verdict]")) i.checked = true;
     f.elements.mutants.value = "each"; f.dispatchEvent(new Event("input", { bubbles: true }));`,
  );
  const cells = await page.evaluate<number>("document.querySelectorAll('#grid .cell').length");
  const scroll = await step(`document.querySelector("#grid").scrollTop = 4000;`);
  console.log(
    `browser: load ${median(loads).toFixed(0)} ms (its script ${
      median(scripts).toFixed(0)
    } ms), verdict filter ${fail.toFixed(0)} ms, one column per mutant ${
      each.toFixed(0)
    } ms (${cells} cells in the DOM of ${run.cases.length * run.targets.length}), scroll ${
      scroll.toFixed(0)
    } ms`,
  );
  if (page.problems.length > 0) console.log("browser problems:", page.problems);
} finally {
  await page.close();
  await Deno.remove(dir, { recursive: true });
}
