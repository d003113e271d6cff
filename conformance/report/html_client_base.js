/**
 * Shared pieces of `report.html`'s script: the verdict letters, an element
 * builder that only ever creates text nodes from data, and one result's
 * evidence (findings, annotated hexdump, rules, defects, rerun command).
 * `html.ts` inlines `clientBase`'s source; it uses nothing outside itself.
 *
 * @module
 */

/** The kit the other parts of the page's script build with, for the embedded `data`. */
export function clientBase(data) {
  const CODES = ["p", "f", "w", "x", "u", "e"];
  const NAME = {
    p: "pass",
    f: "fail",
    w: "warn",
    x: "expected failure",
    u: "unsupported",
    e: "error",
    ".": "not run",
  };
  const SHORT = { p: "pass", f: "FAIL", w: "warn", x: "xfail", u: "unsup", e: "error", ".": "—" };
  const T = data.targets;
  const C = data.cases;
  const $ = (sel) => document.querySelector(sel);

  /** An element with attributes (`text`, `class`, others as attributes) and children. */
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === undefined || kid === null || kid === false) continue;
      el.append(typeof kid === "object" ? kid : String(kid));
    }
    return el;
  }
  const plural = (n, w) => `${n} ${w}${n === 1 ? "" : "s"}`;
  const pct = (n, t) => (t === 0 ? 0 : Math.round((100 * n) / t));
  const badge = (code, text) => h("span", { class: `badge v-${code}` }, text ?? SHORT[code]);
  const code = (t, c) => data.cells[t][c];
  const detailOf = (t, c) => data.details[`${t}:${c}`];
  const failedAt = (t, c) => {
    const x = code(t, c);
    if (x === "f" || x === "w") return true;
    const d = x === "x" ? detailOf(t, c) : undefined;
    return d !== undefined && (d.verdict === "fail" || d.verdict === "warn");
  };
  const indexes = (pred) => T.map((_, i) => i).filter(pred);
  const mutants = indexes((i) => T[i].group === "mutant");
  const subjects = indexes((i) => T[i].group !== "mutant");

  // ---- one result's evidence ----

  function hexdumpEl(text) {
    const pre = h("pre", { class: "hexdump" });
    let marking = false;
    text.split("\n").forEach((line, i) => {
      if (i > 0) pre.append("\n");
      const m = /^([0-9a-f]{4,}) {2}(.*)$/.exec(line);
      if (i === 0 || m === null) {
        pre.append(i === 0 ? h("span", { class: "hd-title" }, line) : line);
        return;
      }
      pre.append(h("span", { class: "hd-off" }, m[1]), "  ");
      let buf = "";
      const flush = () => {
        if (buf !== "") pre.append(marking ? h("mark", {}, buf) : buf);
        buf = "";
      };
      for (const ch of m[2].slice(0, 49)) {
        if (ch === "[" || ch === "]") {
          flush();
          marking = ch === "[";
          pre.append(ch);
        } else buf += ch;
      }
      flush();
      for (const part of m[2].slice(49).split(/( {2,})/)) {
        pre.append(part.includes("<--") ? h("mark", { class: "label" }, part) : part);
      }
    });
    return pre;
  }

  function ruleEl(id) {
    const r = data.rules[id];
    if (r === undefined) return h("div", { class: "rule" }, h("strong", {}, id));
    return h(
      "div",
      { class: "rule" },
      h("strong", {}, id),
      " ",
      h("span", { class: "badge level" }, r.level),
      ` ${r.role}: ${r.statement}`,
      h(
        "div",
        { class: "muted" },
        r.source,
        r.defects.length > 0 ? ` · broken by ${r.defects.join(", ")}` : "",
        data.specDoc === null
          ? ""
          : [" · ", h("a", { href: `${data.specDoc}#${r.anchor}` }, "docs/SPEC.md")],
      ),
    );
  }

  function copyButton(text, target) {
    const btn = h("button", { type: "button", class: "small" }, "copy");
    btn.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text);
        btn.textContent = "copied";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(target);
        const sel = getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        btn.textContent = "selected: press Ctrl+C";
      }
    });
    return btn;
  }

  function detailEl(t, c) {
    const d = detailOf(t, c);
    const k = C[c];
    const x = code(t, c);
    const box = h("div", {
      class: `detail v-${x}-border`,
      "data-target": T[t].name,
      "data-case": k.id,
    });
    box.append(
      h("h3", {}, badge(x), " ", h("code", {}, k.id), " on ", h("code", {}, T[t].name)),
      h("div", {}, `${k.title}.`),
    );
    if (d === undefined) return box;
    const status = T[t].group === "mutant"
      ? "a mutant: it exists to fail its declared cases"
      : d.expected
      ? "listed as an expected failure"
      : d.failing
      ? "fails the run"
      : d.verdict === "warn"
      ? "a warning (fails under --strict)"
      : "does not fail the run";
    box.append(
      h(
        "dl",
        {},
        h("dt", {}, "verdict"),
        h("dd", {}, `${d.verdict}, ${d.level} (${status})`),
        h("dt", {}, "target"),
        h("dd", {}, `${T[t].name}: ${T[t].description}`),
        h("dt", {}, "scenario"),
        h("dd", {}, k.scenario),
        d.findings.length > 0 ? "" : [h("dt", {}, "observed"), h("dd", {}, d.message)],
      ),
    );
    d.findings.forEach((f, i) => {
      const el = h(
        "div",
        { class: "finding" },
        h("strong", {}, `finding ${i + 1}: ${f.rule}`),
        ` ${f.message}`,
        f.observation === undefined
          ? ""
          : h("span", { class: "muted" }, ` (seen through ${f.observation})`),
      );
      if (f.expected !== undefined || f.actual !== undefined) {
        el.append(
          h(
            "dl",
            {},
            f.expected === undefined
              ? ""
              : [h("dt", {}, "expected"), h("dd", { class: "mono" }, f.expected)],
            f.actual === undefined
              ? ""
              : [h("dt", {}, "actual"), h("dd", { class: "mono" }, f.actual)],
          ),
        );
      }
      if (f.hexdump !== undefined) el.append(hexdumpEl(f.hexdump));
      box.append(el);
    });
    if (d.more > 0) {
      box.append(
        h(
          "p",
          { class: "muted" },
          `… and ${plural(d.more, "more failing finding")} (report.json has them all)`,
        ),
      );
    }
    const ids = [...new Set([...d.rules, ...d.findings.map((f) => f.rule)])];
    box.append(h("h4", {}, ids.length === 1 ? "Rule" : "Rules"), ...ids.map(ruleEl));
    if (d.defects.length > 0) {
      box.append(
        h("h4", {}, "Seed defects"),
        h(
          "ul",
          {},
          d.defects.map((id) => h("li", {}, h("strong", {}, id), ` ${data.defects[id] ?? ""}`)),
        ),
      );
    }
    const cmd = h("code", { class: "rerun-command" }, d.rerun);
    box.append(
      h("div", { class: "rerun" }, h("span", {}, "Rerun:"), cmd, copyButton(d.rerun, cmd)),
    );
    return box;
  }

  return {
    CODES,
    NAME,
    SHORT,
    T,
    C,
    $,
    h,
    plural,
    pct,
    badge,
    code,
    detailOf,
    failedAt,
    indexes,
    mutants,
    subjects,
    detailEl,
  };
}
