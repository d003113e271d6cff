/**
 * report.html in a real browser: headless Chromium opens a real report (the
 * reference, the seed as posted and three mutants, so there are failures)
 * from a file: URL, and the test checks there are no console errors and no
 * requests, that the verdict and rule filters hide exactly the rows the data
 * says, that a failure's evidence opens, that printing renders every row, and
 * saves screenshots. Without a browser the test is ignored with the reason,
 * never passed.
 */
import assert from "node:assert/strict";
import { CASES } from "../cases/cases.ts";
import type { CaseResult } from "../model/types.ts";
import { runSuite, type SuiteRun } from "../run/suite.ts";
import { mutant } from "../targets/mutants/mutants.ts";
import {
  REFERENCE_DEVICE,
  REFERENCE_DRIVER,
  V3_AS_POSTED,
} from "../targets/reference/reference.ts";
import { htmlReport } from "./html.ts";
import { type BrowserPage, findChromium, launchChromium } from "./html_browser.ts";
import { isMutant } from "./model.ts";

const canRun = (await Deno.permissions.query({ name: "run" })).state === "granted";
const chromium = canRun
  ? await findChromium((s) => console.error(`html_browser_test: ${s}`))
  : { reason: "the test needs --allow-run to start Chromium" };
const why = "reason" in chromium ? chromium.reason : undefined;
if (why !== undefined) console.log(`html_browser_test: ignored: no Chromium: ${why}`);

/** Where the screenshots and the report go (kept for a person to look at). */
const OUT = `${Deno.env.get("TMPDIR") || "/tmp"}/virtio-balloon-html-report`;
const EVIL = `</script><img src=x onerror="alert(1)"> <b>not bold</b>`;

function sampleRun(): SuiteRun {
  const mutants = ["driver:release-before-ack", "device:trust-bmap-len", "quirk:D-16"].map((n) => {
    const m = mutant(n);
    assert.ok(m !== undefined, n);
    return m.target;
  });
  return runSuite({
    cases: CASES.filter((k) => k.profile === "v3"),
    targets: [REFERENCE_DRIVER, REFERENCE_DEVICE, V3_AS_POSTED, ...mutants],
  });
}

/** A failing as-posted result without bytes gets markup in its message: it must show as text. */
function poison(run: SuiteRun): { run: SuiteRun; poisoned: CaseResult } {
  const i = run.results.findIndex((r) =>
    r.target === V3_AS_POSTED.name && r.verdict === "fail" &&
    r.findings.filter((f) => !f.ok).length === 1 && r.findings.every((f) => !f.evidence)
  );
  const r = run.results[i] as CaseResult;
  const poisoned = {
    ...r,
    findings: r.findings.map((f) => (f.ok ? f : { ...f, message: `${EVIL} ${f.message}` })),
  };
  return { run: { ...run, results: run.results.with(i, poisoned) }, poisoned };
}

/** Scrolls the virtualised matrix from top to bottom; returns every case row it rendered. */
function collectRows(page: BrowserPage): Promise<string[]> {
  return page.evaluate<string[]>(`(async () => {
    const g = document.querySelector("#grid");
    const seen = [];
    for (let top = 0; ; top += Math.max(50, g.clientHeight / 2)) {
      g.scrollTop = top;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      for (const el of g.querySelectorAll("[data-case]")) {
        if (!seen.includes(el.dataset.case)) seen.push(el.dataset.case);
      }
      if (top >= g.scrollHeight) break;
    }
    g.scrollTop = 0;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    return seen;
  })()`);
}

/** Sets the filter form (verdict letters, rule id) and lets the page re-render. */
async function filter(page: BrowserPage, o: { verdicts?: string[]; rule?: string }): Promise<void> {
  await page.evaluate(`(() => {
    const f = document.querySelector("#filters");
    const want = ${JSON.stringify(o.verdicts ?? null)};
    for (const i of f.querySelectorAll("input[name=verdict]")) i.checked = want === null || want.includes(i.value);
    f.elements.rule.value = ${JSON.stringify(o.rule ?? "")};
    f.dispatchEvent(new Event("input", { bubbles: true }));
  })()`);
}

function waitFor(page: BrowserPage, condition: string): Promise<boolean> {
  return page.evaluate<boolean>(`new Promise((resolve, reject) => {
    const t0 = performance.now();
    const poll = () => {
      if (${condition}) resolve(true);
      else if (performance.now() - t0 > 10000) reject(new Error("timed out waiting for: " + ${
    JSON.stringify(condition)
  }));
      else setTimeout(poll, 20);
    };
    poll();
  })`);
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

Deno.test({
  name: `report.html in headless Chromium: no errors, filters, evidence, print, screenshots${
    why === undefined ? "" : ` (ignored: ${why})`
  }`,
  ignore: why !== undefined,
  fn: async () => {
    const path = "path" in chromium ? chromium.path : "";
    const t0 = performance.now();
    const { run, poisoned } = poison(sampleRun());
    const t1 = performance.now();
    const html = htmlReport(run, { profile: "v3", startedAt: new Date() });
    const t2 = performance.now();
    await Deno.mkdir(OUT, { recursive: true });
    const file = `${OUT}/report.html`;
    await Deno.writeTextFile(file, html);
    const url = new URL(`file://${file}`).href;
    const page = await launchChromium(path, { width: 1400, height: 900 });
    try {
      const t3 = performance.now();
      await page.goto(url);
      await waitFor(page, `document.documentElement.dataset.ready === "true"`);
      const renderMs = await page.evaluate<string>("document.documentElement.dataset.renderMs");
      console.log(
        `html_browser_test: run ${Math.round(t1 - t0)} ms, report ${
          Math.round(t2 - t1)
        } ms (${html.length} bytes, ${run.results.length} results), load ${
          Math.round(performance.now() - t3)
        } ms (script ${renderMs} ms)`,
      );
      assert.deepEqual(page.problems, [], "no console errors on load");
      assert.deepEqual(page.requests, [url], "the page requests nothing but itself");
      const sections = await page.evaluate<Record<string, number>>(`Object.fromEntries(
        [...document.querySelectorAll("main > section")].filter((s) => !s.hidden)
          .map((s) => [s.id, s.querySelector(".body, #grid").childElementCount]))`);
      assert.deepEqual(Object.keys(sections), [
        "summary",
        "matrix",
        "failures",
        "groups",
        "kills",
        "defects",
        "coverage",
      ]);
      assert.ok(Object.values(sections).every((n) => n > 0), JSON.stringify(sections));

      // the markup in a message is text: no element, no dialog, shown literally
      assert.equal(await page.evaluate("document.querySelectorAll('img, b').length"), 0);
      const shown = await page.evaluate<string>(
        `document.querySelector('#failures details[data-case="${poisoned.case}"] .msg').textContent`,
      );
      assert.ok(shown.startsWith(EVIL), shown);

      // rows are virtualised: far fewer in the DOM than the filter shows
      const subjects = new Set(run.targets.filter((t) => !isMutant(t.name)).map((t) => t.name));
      const all = run.cases.map((k) => k.id);
      assert.ok(
        await page.evaluate<number>("document.querySelectorAll('#grid [data-case]').length") <
          all.length / 3,
      );
      assert.deepEqual(sorted(await collectRows(page)), sorted(all));

      // verdict "fail": exactly the cases a target under test failed
      await filter(page, { verdicts: ["f"] });
      const failed = new Set(
        run.results.filter((r) => subjects.has(r.target) && r.verdict === "fail").map((r) =>
          r.case
        ),
      );
      assert.ok(failed.size > 20 && failed.size < all.length);
      assert.deepEqual(sorted(await collectRows(page)), sorted(failed));
      assert.equal(
        await page.evaluate("document.querySelector('#shown').dataset.cases"),
        String(failed.size),
      );
      await page.evaluate(`document.querySelector("#matrix").scrollIntoView()`);
      await page.screenshot(`${OUT}/matrix-fail.png`);

      // rule id: the cases citing it, then those of them a target under test failed
      const rule = "R-15";
      const cites = new Set(run.cases.filter((k) => k.rules.includes(rule)).map((k) => k.id));
      assert.ok(cites.size > 5 && cites.size < failed.size);
      await filter(page, { rule });
      assert.deepEqual(sorted(await collectRows(page)), sorted(cites));
      await filter(page, { rule, verdicts: ["f"] });
      assert.deepEqual(
        sorted(await collectRows(page)),
        sorted([...cites].filter((id) => failed.has(id))),
      );

      // a failure with bytes: its evidence opens with the hexdump, the rule and the rerun command
      await filter(page, {});
      const withBytes = run.results.find((r) =>
        r.target === V3_AS_POSTED.name && r.verdict === "fail" &&
        r.findings.some((f) => !f.ok && f.evidence !== undefined)
      );
      assert.ok(withBytes !== undefined);
      const sel =
        `#failures details[data-case="${withBytes.case}"][data-target="${withBytes.target}"]`;
      await page.evaluate(`document.querySelector('${sel} > summary').click()`);
      await waitFor(page, `document.querySelector('${sel} pre.hexdump') !== null`);
      const opened = await page.evaluate<
        { hex: string; marks: number; labels: number; rerun: string; rule: string }
      >(
        `(() => { const d = document.querySelector('${sel}');
          d.scrollIntoView();
          return { hex: d.querySelector("pre.hexdump").textContent,
                   marks: d.querySelectorAll("pre.hexdump mark:not(.label)").length,
                   labels: d.querySelectorAll("pre.hexdump mark.label").length,
                   rerun: d.querySelector("code.rerun-command").textContent,
                   rule: d.querySelector(".rule").textContent }; })()`,
      );
      const evidence = withBytes.findings.find((f) => !f.ok && f.evidence)?.evidence;
      assert.ok(opened.hex.startsWith(evidence?.title ?? "?"), opened.hex);
      assert.match(opened.hex, /^0000 {2}[0-9a-f]{2} /m);
      assert.ok(opened.marks > 0, "the offending bytes are marked");
      assert.ok(opened.labels > 0, "the offending field's label is marked");
      assert.equal(opened.rerun, withBytes.rerun);
      assert.match(opened.rule, /MUST/);
      await page.screenshot(`${OUT}/failure-expanded.png`);

      // a FAIL cell in the matrix opens the same evidence below it; copy does not raise
      await page.evaluate(`document.querySelector("#matrix").scrollIntoView()`);
      await page.evaluate(`document.querySelector("#grid button.cell.v-f").click()`);
      await waitFor(page, `document.querySelector("#selected code.rerun-command") !== null`);
      await page.evaluate(`document.querySelector("#selected .rerun button").click()`);
      await waitFor(
        page,
        `document.querySelector("#selected .rerun button").textContent !== "copy"`,
      );

      // one column per mutant: still only the rows in view
      await page.evaluate(`(() => { const f = document.querySelector("#filters");
        f.elements.mutants.value = "each"; f.dispatchEvent(new Event("input", { bubbles: true })); })()`);
      const cells = await page.evaluate<number>("document.querySelectorAll('#grid .cell').length");
      assert.ok(cells < (all.length * run.targets.length) / 3, `${cells} cells in the DOM`);

      // printing renders every filtered row
      await page.emulateMedia("print");
      await waitFor(
        page,
        `document.querySelectorAll("#grid [data-case]").length === ${all.length}`,
      );
      await page.emulateMedia("screen");
      await waitFor(page, `document.querySelectorAll("#grid [data-case]").length < ${all.length}`);

      assert.deepEqual(page.problems, [], "no console errors after using the page");
      assert.deepEqual(page.requests, [url], "no request after using the page");
      console.log(
        `html_browser_test: screenshots ${OUT}/matrix-fail.png and ${OUT}/failure-expanded.png (report ${file})`,
      );
    } finally {
      await page.close();
    }
  },
});
