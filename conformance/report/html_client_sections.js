/**
 * The static sections of `report.html`: the verdict and run facts, the
 * summary per target, the mutant kill matrix, the seed-as-posted defects,
 * rule coverage as bars and the expected-failure outcome. `html.ts` inlines
 * `clientSections`' source; it uses nothing outside itself.
 *
 * @module
 */

/** Renders the sections that do not follow the filters, with the kit of `clientBase`. */
export function clientSections(data, kit) {
  const { NAME, CODES, T, C, $, h, plural, pct, badge, indexes, mutants, subjects } = kit;
  const GROUPS = [
    ["reference", "Reference"],
    ["other", "Other targets"],
    ["as-posted", "The seed as posted"],
    ["mutant", "Mutants"],
  ];

  // ---- header, table of contents, target summary ----

  function renderHeader() {
    const banner = h("div", { class: `banner ${data.ok ? "pass" : "fail"}` });
    banner.append(h("strong", {}, data.ok ? "PASS" : "FAIL"), " ");
    const subjectsFailing = T.filter((t) => t.status === "failed").length;
    const survived = T.filter((t) => t.status === "survived").length;
    banner.append(
      data.ok
        ? [
          subjects.length > 0 ? "No target under test failed a case." : "",
          mutants.length > 0 ? " Every mutant failed the cases it declares." : "",
        ].join("")
        : `${plural(subjectsFailing, "target")} under test failed, ${
          plural(survived, "mutant")
        } survived.`,
    );
    if (data.problems.length > 0) {
      banner.append(h("ul", {}, data.problems.map((p) => h("li", {}, p))));
    }
    $("#verdict").replaceChildren(banner);
    const r = data.run;
    const facts = [
      ["Suite", `${data.suite.name} ${data.suite.version}`],
      ["Profile", r.profile],
      [
        "Targets",
        `${T.length} (${subjects.length} under test, ${plural(mutants.length, "mutant")})`,
      ],
      ["Cases", `${C.length}${r.filters.length > 0 ? ` (filter ${r.filters.join(", ")})` : ""}`],
      [
        "Strict",
        r.strict ? "yes: SHOULD failures fail the run" : "no: SHOULD failures are warnings",
      ],
      [
        "Started",
        `${r.startedAt}, took ${r.ms < 1000 ? `${r.ms} ms` : `${(r.ms / 1000).toFixed(1)} s`}`,
      ],
    ];
    if (r.expectFile !== null) facts.push(["Expected failures", r.expectFile]);
    const dl = $("#facts");
    dl.className = "facts";
    dl.replaceChildren(...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    const toc = [
      ["summary", "Targets"],
      ["matrix", "Cases × targets"],
      ["failures", "Failures"],
      ...(data.groups.length > 0 ? [["groups", "Shared causes"]] : []),
      ...(mutants.length > 0 ? [["kills", "Mutant kill matrix"]] : []),
      ...(data.asPosted.length > 0 ? [["defects", "Seed defects"]] : []),
      ["coverage", "Rule coverage"],
      ...(data.expect !== null ? [["expect", "Expected failures"]] : []),
    ];
    $("#toc").replaceChildren(...toc.map(([id, label]) => h("a", { href: `#${id}` }, label)));
    if (mutants.length === 0) $("#kills").hidden = true;
    if (data.asPosted.length === 0) $("#defects").hidden = true;
    if (data.expect === null) $("#expect").hidden = true;
  }

  function resultBar(counts) {
    const total = CODES.reduce((s, x) => s + (counts[NAME[x]] ?? 0), 0);
    const bar = h("div", { class: "bar", role: "img" });
    const parts = [];
    for (const x of ["p", "f", "w", "u", "e"]) {
      const n = counts[NAME[x]] ?? 0;
      if (n === 0) continue;
      const span = h("span", { class: `b-${x}`, title: `${n} ${NAME[x]}` });
      span.style.width = `${(100 * n) / total}%`;
      bar.append(span);
      parts.push(`${n} ${NAME[x]}`);
    }
    bar.setAttribute("aria-label", parts.join(", "));
    return bar;
  }

  function renderSummary() {
    const body = $("#summary .body");
    body.replaceChildren();
    for (const [g, title] of GROUPS) {
      const ts = indexes((i) => T[i].group === g);
      if (ts.length === 0) continue;
      body.append(h("h3", {}, title));
      if (g === "mutant") {
        const n = (s) => ts.filter((t) => T[t].status === s).length;
        body.append(
          h(
            "p",
            {},
            `${
              plural(ts.length, "mutant")
            }, each the reference with one deliberate deviation, each declaring the cases it must fail: `,
            badge("p", `${n("killed")} killed`),
            " ",
            badge(n("survived") > 0 ? "f" : "n", `${n("survived")} survived`),
            " ",
            badge("n", `${n("not-selected")} with no declared case selected`),
            " — ",
            h("a", { href: "#kills" }, "kill matrix"),
          ),
        );
        continue;
      }
      const head = [
        "target",
        "kind",
        "description",
        "results",
        "pass",
        "fail",
        "warn",
        "unsup.",
        "error",
        "expected",
        "status",
      ];
      const rows = ts.map((t) => {
        const x = T[t];
        const c = x.counts;
        return h(
          "tr",
          { "data-target": x.name },
          h("td", {}, h("code", {}, x.name)),
          h("td", {}, x.kind),
          h("td", {}, x.description),
          h("td", {}, resultBar(c)),
          ...[c.pass, c.fail, c.warn, c.unsupported, c.error, x.expected].map((v) =>
            h("td", { class: "num" }, v)
          ),
          h("td", {}, x.status === "ok" ? badge("p", "ok") : badge("f", `${x.failing} failing`)),
        );
      });
      body.append(
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, head.map((x) => h("th", {}, x)))),
          h("tbody", {}, rows),
        ),
      );
    }
  }

  // ---- kill matrix, defects, coverage, expected failures ----

  function caseList(ids, mark) {
    return ids.map((c) => h("li", {}, mark, " ", h("code", {}, C[c]?.id ?? String(c))));
  }

  function renderKills() {
    if (mutants.length === 0) return;
    const body = $("#kills .body");
    const n = (s) => data.kills.filter((k) => k.status === s).length;
    body.replaceChildren(
      h(
        "p",
        {},
        `Each mutant is a reference implementation with one deliberate deviation; it must fail every case it declares. ${
          n("killed")
        } killed, ${n("survived")} survived, ${n("not-selected")} with no declared case selected.`,
      ),
    );
    const rows = data.kills.map((k) => {
      const t = T[k.target];
      const bar = h("div", { class: "bar" });
      const fill = h("span", { class: k.missing.length > 0 ? "b-f" : "b-p" });
      fill.style.width = `${pct(k.killed.length, k.declared.length)}%`;
      bar.append(fill);
      return h(
        "tr",
        { "data-mutant": t.name },
        h("td", {}, h("code", {}, t.name)),
        h("td", {}, k.description),
        h(
          "td",
          { class: "mono" },
          k.patterns.join(" "),
          h("div", { class: "muted" }, `${k.declared.length} selected`),
        ),
        h("td", {}, bar, `${k.killed.length}/${k.declared.length}`),
        h(
          "td",
          {},
          k.missing.length === 0 ? "—" : k.missing.map((c) => h("div", {}, h("code", {}, C[c].id))),
        ),
        h("td", { class: "num" }, k.also.length),
        h(
          "td",
          {},
          k.status === "killed"
            ? badge("p", "killed")
            : k.status === "survived"
            ? badge("f", "survived")
            : badge("n", "not selected"),
        ),
        h(
          "td",
          {},
          h(
            "details",
            {},
            h("summary", {}, "cases"),
            h(
              "ul",
              {},
              caseList(k.killed, "✓ killed"),
              caseList(k.missing, "✗ missing"),
              caseList(k.also, "+ also fails"),
            ),
          ),
        ),
      );
    });
    const head = [
      "mutant",
      "what is wrong",
      "declared",
      "killed",
      "missing",
      "also fails",
      "status",
      "",
    ];
    body.append(
      h(
        "table",
        { class: "kills" },
        h("thead", {}, h("tr", {}, head.map((x) => h("th", {}, x)))),
        h("tbody", {}, rows),
      ),
    );
    const unkilled = `Cases no mutant in this run failed: ${data.unkilled.length}`;
    body.append(
      data.unkilled.length === 0 ? h("p", {}, `${unkilled}.`) : h(
        "details",
        { class: "unkilled" },
        h("summary", {}, unkilled),
        h("ul", {}, caseList(data.unkilled, "")),
      ),
    );
  }

  function renderDefects() {
    if (data.asPosted.length === 0) return;
    const byDefect = new Map();
    for (const row of data.asPosted) {
      const ids = row.defects.length > 0 ? row.defects : ["none identified"];
      for (const id of ids) {
        const e = byDefect.get(id) ?? { cases: [], rules: new Map(), byRules: false };
        e.cases.push(row);
        for (const r of row.rules) e.rules.set(r, (e.rules.get(r) ?? 0) + 1);
        if (row.by === "rules") e.byRules = true;
        byDefect.set(id, e);
      }
    }
    const rows = [...byDefect.entries()].sort((a, b) =>
      b[1].cases.length - a[1].cases.length || a[0].localeCompare(b[0])
    )
      .map(([id, e]) =>
        h(
          "tr",
          { "data-defect": id },
          h("td", {}, h("strong", {}, id), e.byRules ? " †" : ""),
          h("td", {}, data.defects[id] ?? ""),
          h("td", { class: "num" }, e.cases.length),
          h(
            "td",
            { class: "mono" },
            [...e.rules.entries()].sort((a, b) => b[1] - a[1]).map(([r]) => r).join(", "),
          ),
          h(
            "td",
            {},
            h(
              "details",
              {},
              h("summary", {}, "cases"),
              h(
                "ul",
                {},
                e.cases.map((row) =>
                  h("li", {}, h("code", {}, C[row.case].id), ` on ${T[row.target].name}`)
                ),
              ),
            ),
          ),
        )
      );
    $("#defects .body").replaceChildren(
      h(
        "p",
        {},
        `Each failure of a target that reproduces the seed's defects, attributed to the quirks that, switched on alone on the same guest, also fail the case${
          data.asPosted.some((r) => r.by === "rules")
            ? " (rows marked † fall back to the rule table's defect links: no single quirk fails the case)"
            : ""
        }.`,
      ),
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["defect", "title", "failing cases", "rules broken", ""].map((x) => h("th", {}, x)),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
  }

  function coverageRows(entries) {
    return entries.map(([label, n, t]) => {
      const bar = h("div", { class: "bar", role: "img", "aria-label": `${n} of ${t}` });
      const fill = h("span", { class: "b-cov" });
      fill.style.width = `${pct(n, t)}%`;
      bar.append(fill);
      return h(
        "div",
        { class: "coverage-row", "data-level": label },
        h("strong", {}, label),
        bar,
        `${n}/${t} · ${t === 0 ? "–" : `${pct(n, t)}%`}`,
      );
    });
  }

  function renderCoverage() {
    const cov = data.coverage;
    const rule = (id) => {
      const r = data.rules[id];
      return h("li", {}, h("code", {}, id), r ? ` ${r.level}: ${r.statement}` : "");
    };
    $("#coverage .body").replaceChildren(
      h(
        "p",
        {},
        `Rules of profile ${cov.profile} that at least one case checks (the whole case table, whatever the filter).`,
      ),
      h("h3", {}, "By level"),
      ...coverageRows(cov.byLevel),
      h("h3", {}, "By role"),
      ...coverageRows(cov.byRole),
      cov.unexplained.length === 0 ? "" : h(
        "p",
        { class: "warning" },
        `${plural(cov.unexplained.length, "MUST rule")} with neither a case nor a reason: ${
          cov.unexplained.join(", ")
        }`,
      ),
      h(
        "details",
        {},
        h("summary", {}, `MUST / MUST NOT rules no case checks, and why (${cov.explained.length})`),
        h(
          "table",
          {},
          h(
            "thead",
            {},
            h("tr", {}, ["rule", "level", "statement", "why no case"].map((x) => h("th", {}, x))),
          ),
          h(
            "tbody",
            {},
            cov.explained.map((e) =>
              h(
                "tr",
                {},
                h("td", {}, h("code", {}, e.rule)),
                h("td", {}, data.rules[e.rule]?.level ?? ""),
                h("td", {}, data.rules[e.rule]?.statement ?? ""),
                h("td", {}, e.reason),
              )
            ),
          ),
        ),
      ),
      h(
        "details",
        {},
        h(
          "summary",
          {},
          `SHOULD / SHOULD NOT / MAY rules without a case (${cov.uncoveredOptional.length})`,
        ),
        h("ul", {}, cov.uncoveredOptional.map(rule)),
      ),
    );
  }

  function renderExpect() {
    const e = data.expect;
    if (e === null) return;
    $("#expect .body").replaceChildren(
      h(
        "p",
        {},
        `${plural(e.expected, "result")} failed as ${e.file} lists (${
          plural(e.entries, "entry")
        }; ${e.notRun} not in this run).`,
      ),
      e.problems.length === 0 ? "" : h(
        "div",
        { class: "warning" },
        "Stale entries (they fail the run):",
        h("ul", {}, e.problems.map((p) => h("li", {}, p))),
      ),
    );
  }

  function renderGroups() {
    if (data.groups.length === 0) {
      $("#groups").hidden = true;
      return;
    }
    $("#groups .body").replaceChildren(
      h("p", {}, "Failures of one target that rest on the same observation: mend the cause once."),
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h("tr", {}, ["target", "cause", "rules", "cases"].map((x) => h("th", {}, x))),
        ),
        h(
          "tbody",
          {},
          data.groups.map((g) =>
            h(
              "tr",
              {},
              h("td", {}, h("code", {}, g.target)),
              h("td", {}, g.root),
              h("td", {}, g.rules.join(", ")),
              h("td", {}, `${g.cases.length}: ${g.cases.join(", ")}`),
            )
          ),
        ),
      ),
    );
  }

  renderHeader();
  renderSummary();
  renderGroups();
  renderKills();
  renderDefects();
  renderCoverage();
  renderExpect();
}
