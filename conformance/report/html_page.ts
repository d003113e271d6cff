/**
 * The shell of a self-contained HTML report: escaping for text and
 * attributes, JSON embedded so that no value can close its `<script>`, and a
 * page whose Content-Security-Policy lets nothing load from anywhere and runs
 * only the page's own style and script (by hash), so that even markup that got
 * past the escaping could neither run nor fetch.
 *
 * @module
 */

import { createHash } from "node:crypto";

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML element content and quoted attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./html_page.ts";
 * import assert from "node:assert/strict";
 * assert.equal(escapeHtml(`<a href="x">&'</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * JSON for a `<script type="application/json">` element: `<`, `>`, `&` and the
 * line separators U+2028/U+2029 are written as `\u` escapes, so the text can
 * hold neither `</script>` nor `<!--`, and `JSON.parse` of the element's text
 * gives back the value. 64-bit integers (bigint) become decimal strings.
 *
 * @example
 * ```ts
 * import { scriptJson } from "./html_page.ts";
 * import assert from "node:assert/strict";
 * const text = scriptJson({ title: "</script><!--" });
 * assert.ok(!text.includes("<"));
 * assert.deepEqual(JSON.parse(text), { title: "</script><!--" });
 * ```
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => typeof v === "bigint" ? v.toString() : v)
    .replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function sha256(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

/** What {@link htmlPage} assembles. */
export interface HtmlPageParts {
  /** The document title (plain text). */
  readonly title: string;
  /** The stylesheet (CSS text, inlined). */
  readonly style: string;
  /** The body's markup (already escaped). */
  readonly body: string;
  /** Data for the script, embedded as JSON in `<script type="application/json" id="report-data">`. */
  readonly data?: unknown;
  /** The page's script (JavaScript text, inlined; it must not contain `</script`). */
  readonly script?: string;
}

/**
 * A whole HTML document: inline style and script allowed by their SHA-256
 * hashes, `default-src 'none'` for everything else (no fetch, no image, no
 * font, no frame), and the data as inert JSON.
 *
 * @example
 * ```ts
 * import { htmlPage } from "./html_page.ts";
 * import assert from "node:assert/strict";
 * const html = htmlPage({ title: "a < b", style: "p{}", body: "<p>hi</p>", data: { x: "</script>" }, script: "1" });
 * assert.match(html, /<title>a &lt; b<\/title>/);
 * assert.match(html, /default-src 'none'/);
 * assert.equal(html.split("</script>").length - 1, 2);
 * ```
 */
export function htmlPage(parts: HtmlPageParts): string {
  const script = parts.script;
  if (script !== undefined && /<\/script|<!--/i.test(script)) {
    throw new RangeError("Cannot inline the script: it contains '</script' or '<!--'");
  }
  if (/<\/style/i.test(parts.style)) {
    throw new RangeError("Cannot inline the stylesheet: it contains '</style'");
  }
  const csp = [
    "default-src 'none'",
    `style-src ${sha256(parts.style)}`,
    ...(script === undefined ? [] : [`script-src ${sha256(script)}`]),
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    // the policy is this module's words and base64 hashes: nothing in it needs escaping
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light">',
    `<title>${escapeHtml(parts.title)}</title>`,
    `<style>${parts.style}</style>`,
    "</head>",
    "<body>",
    parts.body,
    ...(parts.data === undefined
      ? []
      : [`<script type="application/json" id="report-data">${scriptJson(parts.data)}</script>`]),
    ...(script === undefined ? [] : [`<script>${script}</script>`]),
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
