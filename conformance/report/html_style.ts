/**
 * The stylesheets of the HTML reports: one base for both, the run report's
 * matrix and panels, and a print stylesheet (no controls, every row, colours
 * kept).
 *
 * @module
 */

/** Colours, type and the shared elements (tables, badges, bars, hexdumps). */
export const BASE_STYLE = `
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0969da;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9;
  --warn: #9a6700; --warn-bg: #fff8c5; --xfail: #8250df; --xfail-bg: #fbefff;
  --unsup: #59636e; --unsup-bg: #eff2f5; --error: #bc4c00; --error-bg: #fff1e5;
  --none: #afb8c1; --mono: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  --row: 26px;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0 auto; padding: 0 1.25rem 3rem; max-width: 110rem; color: var(--fg); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
h1 { font-size: 1.5rem; margin: 1.2rem 0 .4rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; padding-bottom: .25rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
a { color: var(--accent); }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
table { border-collapse: collapse; margin: .4rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.warning { background: var(--warn-bg); border: 1px solid #d4a72c; padding: .5rem .75rem; border-radius: 6px; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 1rem; font-size: 12px; font-weight: 600;
  line-height: 1.6; white-space: nowrap; border: 1px solid transparent; }
.v-p { color: var(--pass); background: var(--pass-bg); }
.cell.v-p { font-weight: 400; background: #eefbf1; }
.v-f { color: var(--fail); background: var(--fail-bg); }
.v-w { color: var(--warn); background: var(--warn-bg); }
.v-x { color: var(--xfail); background: var(--xfail-bg); }
.v-u { color: var(--unsup); background: var(--unsup-bg); }
.v-e { color: var(--error); background: var(--error-bg); }
.v-n { color: var(--none); background: transparent; }
.badge.level { color: var(--fg); border-color: var(--line); background: #fff; font-weight: 500; }
.banner { margin: .6rem 0; padding: .6rem .9rem; border-radius: 6px; font-size: 1.05rem; }
.banner.pass { background: var(--pass-bg); color: #116329; border: 1px solid #4ac26b; }
.banner.fail { background: var(--fail-bg); color: #a40e26; border: 1px solid #ff8182; }
.banner ul { margin: .3rem 0 0; padding-left: 1.2rem; font-size: 14px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: .5rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.bar { position: relative; height: .9rem; min-width: 12rem; background: var(--soft); border: 1px solid var(--line);
  border-radius: 3px; overflow: hidden; display: flex; }
.bar > span { display: block; height: 100%; }
.bar .b-p { background: #4ac26b; } .bar .b-f { background: #ff8182; } .bar .b-w { background: #eac54f; }
.bar .b-x { background: #c297ff; } .bar .b-u { background: #afb8c1; } .bar .b-e { background: #fb8f44; }
.bar .b-cov { background: #54aeff; }
pre.hexdump { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .5rem .7rem;
  overflow-x: auto; line-height: 1.35; margin: .4rem 0; }
pre.hexdump mark { background: #ffcecb; color: #82071e; border-radius: 2px; }
pre.hexdump .hd-title { font-weight: 600; }
pre.hexdump .hd-off { color: var(--muted); }
pre.hexdump mark.label { background: #ffebe9; font-weight: 600; }
`;

/** The run report: filters, the virtualised matrix, panels. */
const MATRIX_STYLE = `
nav#toc { display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: .5rem 0; }
form#filters { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: flex-end; padding: .6rem .75rem;
  background: var(--soft); border: 1px solid var(--line); border-radius: 6px; }
form#filters fieldset { border: 0; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .15rem .6rem; align-items: center; }
form#filters legend { font-size: 12px; color: var(--muted); padding: 0; margin-bottom: .1rem; float: left; width: 100%; }
form#filters label { white-space: nowrap; font-size: 13px; }
form#filters input[type=search], form#filters select { font: inherit; font-size: 13px; padding: .15rem .35rem;
  border: 1px solid var(--line); border-radius: 4px; background: #fff; }
form#filters input[type=search] { width: 12rem; }
form#filters input.narrow { width: 8rem; }
button { font: inherit; font-size: 13px; cursor: pointer; }
button.link { border: 0; background: none; color: var(--accent); padding: 0; text-decoration: underline; }
button.small { padding: .05rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
p#shown { margin: .5rem 0; color: var(--muted); }
#grid { position: relative; max-height: 70vh; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
#grid:focus { outline: 2px solid var(--accent); outline-offset: 1px; }
.g-head { position: sticky; top: 0; z-index: 3; background: var(--soft); border-bottom: 1px solid var(--line); }
.g-row { display: grid; grid-template-columns: var(--cols); height: var(--row); align-items: center;
  border-bottom: 1px solid #eaeef2; contain: layout style; }
.g-rows .cell { contain: strict; }
.g-head .g-row { height: auto; min-height: var(--row); align-items: end; border: 0; }
.g-row > * { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding: 0 .4rem; }
.g-row > .g-case { position: sticky; left: 0; z-index: 1; background: #fff; border-right: 1px solid var(--line);
  height: 100%; display: flex; align-items: center; gap: .5rem; }
.g-head .g-case { background: var(--soft); font-weight: 600; }
.g-row .g-case code { flex: none; }
.g-row .g-case .title { color: var(--muted); overflow: hidden; text-overflow: ellipsis; }
.g-head .g-col { font-weight: 600; font-size: 12px; padding: .3rem .3rem; white-space: normal; overflow-wrap: anywhere; }
.g-head .g-col.m { writing-mode: vertical-rl; transform: rotate(180deg); max-height: 11rem; padding: .3rem 0;
  font-weight: 400; justify-self: center; white-space: nowrap; }
.g-rows { position: absolute; left: 0; right: 0; }
.g-area { background: #f0f3f6; font-weight: 600; cursor: pointer; }
.g-area > .g-case { background: #f0f3f6; }
.g-area:hover > .g-case, .g-area:hover { background: #e6ebf0; }
.cell { border: 0; font: inherit; font-size: 12px; font-weight: 600; text-align: center; border-radius: 3px;
  height: calc(var(--row) - 6px); line-height: calc(var(--row) - 6px); margin: 0 .2rem; padding: 0; width: calc(100% - .4rem); }
button.cell:hover { outline: 2px solid currentColor; }
.cell.m { margin: 0 1px; width: calc(100% - 2px); font-size: 10px; }
.cell.agg { font-weight: 500; }
.cell.sel { outline: 2px solid var(--accent); }
#selected:empty { display: none; }
#selected { margin-top: .75rem; }
.detail { border: 1px solid var(--line); border-left: 4px solid var(--fail); border-radius: 6px; padding: .6rem .9rem;
  background: #fff; }
.detail.v-w-border { border-left-color: #d4a72c; }
.detail.v-x-border { border-left-color: var(--xfail); }
.detail.v-u-border, .detail.v-e-border { border-left-color: var(--error); }
.detail h3 { margin: 0 0 .3rem; font-size: 14px; }
.detail h3 code { font-size: 13px; }
.detail .finding { margin: .6rem 0; padding-top: .4rem; border-top: 1px dashed var(--line); }
.detail dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .8rem; margin: .3rem 0; }
.detail dt { color: var(--muted); }
.detail dd { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.detail dd.mono { font-family: var(--mono); font-size: 12.5px; }
.detail .rule { margin: .3rem 0; }
.rerun { display: flex; gap: .5rem; align-items: center; margin-top: .5rem; }
.rerun code { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: .2rem .4rem;
  overflow-x: auto; white-space: nowrap; }
ul.failures { list-style: none; padding: 0; margin: 0; }
ul.failures > li { border-bottom: 1px solid #eaeef2; }
ul.failures summary { cursor: pointer; padding: .3rem .2rem; display: flex; gap: .5rem; align-items: baseline; }
ul.failures summary > * { flex: none; white-space: nowrap; }
ul.failures summary > .msg { flex: 1 1 auto; color: var(--muted); overflow: hidden; text-overflow: ellipsis; min-width: 0; }
ul.failures details[open] > summary { background: var(--soft); }
ul.failures details > .detail { margin: .3rem 0 .8rem 1.2rem; }
table.kills td { font-size: 13px; }
table.kills details ul { margin: .2rem 0; padding-left: 1.1rem; }
details.unkilled ul { columns: 3 22rem; }
.coverage-row { display: grid; grid-template-columns: 7rem minmax(12rem, 28rem) 8rem; gap: .6rem; align-items: center;
  margin: .2rem 0; }
`;

/** The print stylesheet: no controls, the grid unscrolled, colours printed. */
export const PRINT_STYLE = `
@media print {
  @page { margin: 12mm; }
  html { font-size: 9px; }
  body { max-width: none; padding: 0; font-size: 10.5px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .no-print, nav#toc, button.small, button.link, form#filters { display: none !important; }
  #grid { max-height: none; overflow: visible; border: 0; }
  .g-head, .g-row > .g-case { position: static; }
  .g-rows { position: static; transform: none !important; }
  .g-spacer { height: auto !important; }
  .g-row { break-inside: avoid; }
  details > summary::marker { content: ""; }
  section { break-before: auto; }
  h2 { break-after: avoid; }
  .detail, pre.hexdump { break-inside: avoid; }
  pre.hexdump { white-space: pre-wrap; overflow: visible; }
}
`;

/** The whole stylesheet of `report.html`. */
export const REPORT_STYLE: string = BASE_STYLE + MATRIX_STYLE + PRINT_STYLE;
