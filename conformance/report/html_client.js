/**
 * The script of `report.html`: the filters, the case matrix (only the rows in
 * view are rendered; printing renders every filtered row), the selected
 * result and the failure list. `html.ts` inlines `clientMain`'s source with
 * `clientBase` and `clientSections` (each uses nothing outside itself); every
 * table is built from the embedded data with DOM text nodes, so nothing from
 * the run is ever parsed as markup.
 *
 * @module
 */

/**
 * Renders the report from `<script type="application/json" id="report-data">`:
 * `base` is `clientBase`, `sections` is `clientSections` (passed in, as the
 * page inlines all three).
 */
export function clientMain(base, sections) {
  const t0 = performance.now();
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const ROW = 26; // px: the --row height of the stylesheet
  const PAGE = 100; // failures listed before "show more"
  const kit = base(data);
  const { CODES, NAME, SHORT, T, C, $, h, plural, badge, code, detailOf, failedAt } = kit;
  const { mutants, subjects, detailEl } = kit;

  // per case: the rule ids it cites, its search text, the mutants that ran it and failed it
  const caseRules = C.map((k) => new Set(k.rules.map((r) => r.toLowerCase())));
  const caseText = C.map((k) =>
    `${k.id} ${k.title} ${k.rules.join(" ")} ${k.scenario}`.toLowerCase()
  );
  const kills = C.map((_, c) => {
    let ran = 0;
    let hit = 0;
    for (const t of mutants) {
      if (code(t, c) === ".") continue;
      ran++;
      if (failedAt(t, c)) hit++;
    }
    return [hit, ran];
  });

  const state = {
    verdicts: new Set(CODES),
    levels: new Set(data.levels),
    rule: "",
    area: "",
    text: "",
    cols: new Set(subjects),
    mutants: mutants.length === 0 ? "none" : subjects.length === 0 ? "each" : "aggregate",
    mutantText: "",
    collapsed: new Set(),
    print: false,
    selected: null,
    failShown: PAGE,
  };
  const verdictFilterOn = () => state.verdicts.size < CODES.length;

  /** The matrix columns: targets under test, then the mutants (one column, or one each). */
  function columns() {
    const cols = subjects.filter((t) => state.cols.has(t)).map((t) => ({ t, kind: "t" }));
    const mode = state.print && state.mutants === "each" ? "aggregate" : state.mutants;
    if (mode === "aggregate" && mutants.length > 0) cols.push({ kind: "agg" });
    if (mode === "each") {
      const needle = state.mutantText.trim().toLowerCase();
      for (const t of mutants) {
        if (needle === "" || T[t].name.toLowerCase().includes(needle)) cols.push({ t, kind: "m" });
      }
    }
    return cols;
  }
  const shownTargets = (cols) => cols.filter((x) => x.kind !== "agg").map((x) => x.t);

  /** Whether case `c` passes the filters, judged on the results of `targets`. */
  function matches(c, targets) {
    const k = C[c];
    if (state.area !== "" && k.area !== state.area) return false;
    if (!state.levels.has(k.level)) return false;
    if (state.rule !== "" && !caseRules[c].has(state.rule.toLowerCase())) return false;
    const needle = state.text.trim().toLowerCase();
    if (needle !== "") {
      let hay = caseText[c];
      for (const t of targets) {
        const d = detailOf(t, c);
        if (d !== undefined) hay += ` ${d.message.toLowerCase()}`;
      }
      if (!hay.includes(needle)) return false;
    }
    if (verdictFilterOn() && !targets.some((t) => state.verdicts.has(code(t, c)))) return false;
    return true;
  }

  // ---- filters ----

  function renderFilters() {
    const form = $("#filters");
    const check = (name, value, checked, label, cls) =>
      h(
        "label",
        {},
        h("input", { type: "checkbox", name, value, checked }),
        " ",
        cls ? badge(cls, label) : label,
      );
    const verdicts = h(
      "fieldset",
      {},
      h("legend", {}, "Verdict (rows with one in a shown column)"),
      CODES.map((x) => check("verdict", x, state.verdicts.has(x), NAME[x], x)),
    );
    const levels = h(
      "fieldset",
      {},
      h("legend", {}, "Level"),
      data.levels.map((l) => check("level", l, state.levels.has(l), l)),
    );
    const allRules = [...new Set([...Object.keys(data.rules)])].sort();
    const rule = h(
      "fieldset",
      {},
      h("legend", {}, "Rule id (cases citing it)"),
      h("input", {
        type: "search",
        name: "rule",
        list: "rule-ids",
        class: "narrow",
        placeholder: "R-08, B14, …",
      }),
      h("datalist", { id: "rule-ids" }, allRules.map((r) => h("option", { value: r }))),
    );
    const area = h(
      "fieldset",
      {},
      h("legend", {}, "Area"),
      h(
        "select",
        { name: "area" },
        h("option", { value: "" }, "all areas"),
        data.areas.map((a) => h("option", { value: a }, a)),
      ),
    );
    const text = h(
      "fieldset",
      {},
      h("legend", {}, "Text (id, title, rules, messages)"),
      h("input", { type: "search", name: "text", placeholder: "search" }),
    );
    const cols = h(
      "fieldset",
      {},
      h("legend", {}, "Columns"),
      subjects.map((t) => check("col", String(t), true, T[t].name)),
      mutants.length === 0 ? "" : h(
        "label",
        {},
        "mutants: ",
        h(
          "select",
          { name: "mutants" },
          h(
            "option",
            { value: "aggregate", selected: state.mutants === "aggregate" },
            "one column (kill counts)",
          ),
          h("option", { value: "each", selected: state.mutants === "each" }, "one column each"),
          h("option", { value: "none" }, "hidden"),
        ),
      ),
      mutants.length === 0 ? "" : h("input", {
        type: "search",
        name: "mutantText",
        class: "narrow",
        placeholder: "mutant name",
        title: "Only mutant columns whose name contains this (one column each)",
      }),
    );
    const reset = h("button", { type: "reset", class: "small" }, "reset");
    form.replaceChildren(verdicts, levels, rule, area, text, cols, reset);
    const read = () => {
      const all = (name) =>
        [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
      state.verdicts = new Set(all("verdict"));
      state.levels = new Set(all("level"));
      state.cols = new Set(all("col").map(Number));
      state.rule = form.elements.rule.value.trim();
      state.area = form.elements.area.value;
      state.text = form.elements.text.value;
      if (form.elements.mutants) state.mutants = form.elements.mutants.value;
      if (form.elements.mutantText) state.mutantText = form.elements.mutantText.value;
      state.failShown = PAGE;
      renderMatrix();
    };
    form.addEventListener("input", read);
    form.addEventListener("submit", (e) => e.preventDefault());
    form.addEventListener("reset", () => setTimeout(read, 0));
  }

  // ---- the matrix: rows virtualised, area rows fold ----

  const grid = $("#grid");
  const head = h("div", { class: "g-head" });
  const spacer = h("div", { class: "g-spacer" });
  const rowsEl = h("div", { class: "g-rows" });
  spacer.append(rowsEl);
  grid.append(head, spacer);
  let view = { rows: [], cols: [], template: "", width: 0, cases: [] };

  function colWidth(col) {
    return col.kind === "m" ? 1.5 : col.kind === "agg" ? 6.5 : 7;
  }

  function computeView() {
    const cols = columns();
    const targets = shownTargets(cols);
    const rows = [];
    const cases = [];
    for (const area of data.areas) {
      const mine = [];
      for (let c = 0; c < C.length; c++) {
        if (C[c].area === area && matches(c, targets)) mine.push(c);
      }
      if (mine.length === 0) continue;
      rows.push({ area, cases: mine });
      cases.push(...mine);
      if (!state.collapsed.has(area) || state.print) { for (const c of mine) rows.push({ c }); }
    }
    const widths = [30, 7.5, 5.5, ...cols.map(colWidth)];
    return {
      rows,
      cols,
      cases,
      targets,
      template: widths.map((w) => `${w}rem`).join(" "),
      width: widths.reduce((a, b) => a + b, 0),
    };
  }

  function cellEl(col, c) {
    if (col.kind === "agg") {
      const [hit, ran] = kills[c];
      if (ran === 0) return h("span", { class: "cell v-n" }, "—");
      return h(
        "button",
        {
          type: "button",
          class: `cell agg ${hit > 0 ? "v-p" : "v-w"}`,
          "data-agg": c,
          title: `${hit} of the ${plural(ran, "mutant")} that ran this case fail it`,
        },
        `${hit}/${ran}`,
      );
    }
    const x = code(col.t, c);
    const m = col.kind === "m";
    const d = detailOf(col.t, c);
    const title = `${T[col.t].name}: ${NAME[x]}${d ? ` — ${d.message.slice(0, 300)}` : ""}`;
    const cls = `cell v-${x === "." ? "n" : x}${m ? " m" : ""}`;
    const sel = state.selected !== null && state.selected.t === col.t && state.selected.c === c;
    if (x === "." || x === "p") {
      // the bulk of the cells: built directly, they are most of what a scroll paints
      const el = document.createElement("span");
      el.className = cls;
      el.title = title;
      el.textContent = m ? (x === "p" ? "·" : "") : SHORT[x];
      return el;
    }
    return h(
      "button",
      {
        type: "button",
        class: cls + (sel ? " sel" : ""),
        title,
        "data-t": col.t,
        "data-c": c,
        "data-target": T[col.t].name,
      },
      m ? SHORT[x][0] : SHORT[x],
    );
  }

  function rowEl(item) {
    const row = h("div", { class: "g-row" });
    if (item.area !== undefined) {
      row.classList.add("g-area");
      row.dataset.area = item.area;
      const open = !state.collapsed.has(item.area) || state.print;
      const bad = (t) => item.cases.filter((c) => failedAt(t, c) || code(t, c) === "e").length;
      row.append(
        h(
          "div",
          {
            class: "g-case",
            role: "button",
            tabindex: 0,
            "aria-expanded": String(open),
            title: open ? "fold" : "unfold",
          },
          `${open ? "▾" : "▸"} ${item.area} · ${plural(item.cases.length, "case")}`,
        ),
        h("div", {}),
        h("div", {}),
        ...view.cols.map((col) => {
          if (col.kind === "agg") return h("div", {});
          const n = bad(col.t);
          return h("div", { class: "num" }, n > 0 ? badge("f", String(n)) : "");
        }),
      );
      return row;
    }
    const k = C[item.c];
    row.dataset.case = k.id;
    row.append(
      h(
        "div",
        { class: "g-case", title: `${k.id}: ${k.title}` },
        h("code", {}, k.id),
        h("span", { class: "title" }, k.title),
      ),
      h("div", { class: "mono", title: k.rules.join(", ") }, k.rules.join(" ")),
      h("div", {}, k.level),
      ...view.cols.map((col) => cellEl(col, item.c)),
    );
    return row;
  }

  /** Row elements on screen by row index: a scroll builds only the rows that come into view. */
  let painted = new Map();

  /** Renders the rows in view (every row when printing); `fresh` rebuilds them all. */
  function paint(fresh = false) {
    const rows = view.rows;
    let first = 0;
    let last = rows.length;
    if (!state.print) {
      const top = grid.scrollTop - spacer.offsetTop;
      first = Math.max(0, Math.floor(top / ROW) - 5);
      last = Math.min(rows.length, first + Math.ceil(grid.clientHeight / ROW) + 10);
    }
    const next = new Map();
    for (let i = first; i < last; i++) {
      next.set(i, (fresh ? undefined : painted.get(i)) ?? rowEl(rows[i]));
    }
    painted = next;
    rowsEl.style.transform = `translateY(${first * ROW}px)`;
    rowsEl.replaceChildren(...next.values());
  }

  let painting = false;
  grid.addEventListener("scroll", () => {
    if (painting) return;
    painting = true;
    requestAnimationFrame(() => {
      painting = false;
      paint();
    });
  }, { passive: true });
  grid.addEventListener("keydown", (e) => {
    if ((e.key === "Enter" || e.key === " ") && e.target.closest(".g-area") !== null) {
      e.preventDefault();
      e.target.click();
    }
  });
  grid.addEventListener("click", (e) => {
    const area = e.target.closest(".g-area");
    if (area !== null) {
      const a = area.dataset.area;
      if (state.collapsed.has(a)) state.collapsed.delete(a);
      else state.collapsed.add(a);
      renderMatrix();
      return;
    }
    const cell = e.target.closest("button.cell");
    if (cell === null) return;
    state.selected = cell.dataset.agg !== undefined
      ? { agg: Number(cell.dataset.agg) }
      : { t: Number(cell.dataset.t), c: Number(cell.dataset.c) };
    paint(true);
    renderSelected();
    $("#selected").scrollIntoView({ block: "nearest" });
  });

  function renderMatrix() {
    view = computeView();
    const headRow = h("div", { class: "g-row" });
    grid.style.setProperty("--cols", view.template);
    headRow.append(
      h("div", { class: "g-case" }, "case"),
      h("div", { class: "g-col" }, "rules"),
      h("div", { class: "g-col" }, "level"),
      ...view.cols.map((col) =>
        col.kind === "agg"
          ? h(
            "div",
            { class: "g-col", title: "mutants failing the case / mutants that ran it" },
            "mutants",
          )
          : h(
            "div",
            { class: `g-col${col.kind === "m" ? " m" : ""}`, title: T[col.t].description },
            T[col.t].name,
          )
      ),
    );
    head.replaceChildren(headRow);
    for (const el of [head, spacer, rowsEl]) el.style.width = `${view.width}rem`;
    spacer.style.height = `${view.rows.length * ROW}px`;
    const n = view.cases.length;
    $("#shown").textContent = `Showing ${n} of ${plural(C.length, "case")} · ${
      plural(view.cols.length, "result column")
    }${
      state.print && state.mutants === "each" ? " (mutants as one column when printed)" : ""
    }. Click an area to fold it, a result to see its evidence.`;
    $("#shown").dataset.cases = String(n);
    paint(true);
    renderSelected();
    renderFailures();
  }

  function killsOfCase(c) {
    const k = C[c];
    const ran = mutants.filter((t) => code(t, c) !== ".");
    const box = h("div", { class: "detail v-p-border", "data-case": k.id });
    box.append(
      h("h3", {}, h("code", {}, k.id), ` on ${plural(ran.length, "mutant")}`),
      h("div", {}, `${k.title}.`),
      h(
        "ul",
        {},
        ran.map((t) => {
          const x = code(t, c);
          const li = h("li", {}, badge(x), " ", h("code", {}, T[t].name), ` ${T[t].description}`);
          if (x !== "p") {
            const open = h("button", { type: "button", class: "link" }, "evidence");
            open.addEventListener("click", () => {
              state.selected = { t, c };
              renderSelected();
              paint(true);
            });
            li.append(" ", open);
          }
          return li;
        }),
      ),
    );
    return box;
  }

  function renderSelected() {
    const panel = $("#selected");
    const s = state.selected;
    if (s === null) {
      panel.replaceChildren();
      return;
    }
    const close = h("button", { type: "button", class: "small no-print" }, "close");
    close.addEventListener("click", () => {
      state.selected = null;
      renderSelected();
      paint(true);
    });
    const el = s.agg !== undefined ? killsOfCase(s.agg) : detailEl(s.t, s.c);
    el.querySelector("h3").append(" ", close);
    panel.replaceChildren(el);
  }

  // ---- the failure list: what did not pass, on the shown columns and rows ----

  function renderFailures() {
    const body = $("#failures .body");
    const items = [];
    for (const t of view.targets) {
      for (const c of view.cases) {
        const x = code(t, c);
        if (x === "p" || x === ".") continue;
        if (verdictFilterOn() && !state.verdicts.has(x)) continue;
        items.push([t, c]);
      }
    }
    const failing = items.filter(([t, c]) => detailOf(t, c)?.failing).length;
    const intro = h(
      "p",
      { class: "muted" },
      `${
        plural(items.length, "result")
      } that did not pass, in the shown columns and rows (${failing} fail the run)`,
      mutants.length > 0 && state.mutants !== "each"
        ? "; mutants' results are listed when the matrix shows one column per mutant"
        : "",
      ". Expand one for its evidence.",
    );
    const limit = state.print ? items.length : state.failShown;
    const list = h(
      "ul",
      { class: "failures" },
      items.slice(0, limit).map(([t, c]) => {
        const d = detailOf(t, c);
        const x = code(t, c);
        const det = h(
          "details",
          { "data-target": T[t].name, "data-case": C[c].id },
          h(
            "summary",
            {},
            badge(x),
            h("code", {}, C[c].id),
            h("span", {}, "on"),
            h("code", {}, T[t].name),
            h("span", { class: "muted" }, d ? `${d.level} · ${d.rules.join(", ")}` : ""),
            h("span", { class: "msg" }, d ? d.message : ""),
          ),
        );
        const fill = () => {
          if (det.open && det.childElementCount === 1) det.append(detailEl(t, c));
        };
        det.addEventListener("toggle", fill);
        if (state.print && T[t].group !== "mutant") {
          det.open = true;
          fill();
        }
        return h("li", {}, det);
      }),
    );
    body.replaceChildren(intro, list);
    if (items.length > limit) {
      const more = h(
        "button",
        { type: "button", class: "small" },
        `show ${Math.min(PAGE, items.length - limit)} more of ${items.length - limit}`,
      );
      more.addEventListener("click", () => {
        state.failShown += PAGE;
        renderFailures();
      });
      body.append(more);
    }
  }

  // ---- printing renders every filtered row ----

  function setPrint(on) {
    if (state.print === on) return;
    state.print = on;
    renderMatrix();
  }
  addEventListener("beforeprint", () => setPrint(true));
  addEventListener("afterprint", () => setPrint(false));
  matchMedia("print").addEventListener("change", (e) => setPrint(e.matches));

  try {
    sections(data, kit);
    renderFilters();
    renderMatrix();
  } catch (e) {
    $("#verdict").append(
      h(
        "p",
        { class: "warning" },
        `The report could not be rendered: ${e instanceof Error ? e.message : String(e)}`,
      ),
    );
    throw e;
  }
  document.documentElement.dataset.ready = "true";
  document.documentElement.dataset.renderMs = String(Math.round(performance.now() - t0));
}
