/**
 * Renders the spec tables as Markdown for spec reviewers (docs/SPEC.md).
 *
 * @module
 */

import {
  BALLOON_FEATURES,
  BITMAP_LAYOUTS,
  BITMAP_PAYLOAD,
  type BitmapLayout,
  bitPosition,
  checksFor,
  CONSTANTS,
  DEFECTS,
  describeCondition,
  describeLegal,
  describeSource,
  ENUMS,
  featureCollisions,
  fieldSize,
  fieldsOf,
  type Level,
  PFN_ARRAY,
  type ProfileId,
  queueFeatureCombinations,
  queueLayout,
  QUEUES,
  type Rule,
  RULES,
  rulesBrokenBy,
  seedAsPostedQueueCount,
  specAnchor,
  type StructDef,
  STRUCTS,
  structSize,
  TRANSPORT_FEATURES,
  wireSize,
} from "../spec/mod.ts";

const PROFILES: ProfileId[] = ["v3", "virtio-1.x"];

function esc(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function table(head: string[], rows: string[][]): string {
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows) lines.push(`| ${r.map(esc).join(" | ")} |`);
  return lines.join("\n");
}

/** An ASCII byte-layout diagram, 8 bytes per row, 6 characters per byte. */
export function layoutDiagram(def: StructDef, profile?: ProfileId): string {
  const fields = fieldsOf(def.name, profile);
  const size = structSize(def.name, profile);
  const W = 6;
  const rows: string[] = [];
  for (let row = 0; row < size; row += 8) {
    const end = Math.min(size, row + 8);
    let ruler = "";
    for (let b = row; b < end; b++) ruler += String(b).padEnd(W);
    let border = "+";
    let label = "|";
    let b = row;
    while (b < end) {
      const f = fields.find((x) => x.offset <= b && b < x.offset + fieldSize(x));
      const fEnd = f === undefined ? b + 1 : Math.min(end, f.offset + fieldSize(f));
      const width = (fEnd - b) * W - 1;
      const name = f === undefined
        ? "?"
        : (f.offset < row ? "…" : "") + f.name + (f.offset + fieldSize(f) > end ? "…" : "");
      const text = name.length > width ? name.slice(0, Math.max(1, width - 1)) + "~" : name;
      const pad = width - text.length;
      label += " ".repeat(Math.floor(pad / 2)) + text + " ".repeat(Math.ceil(pad / 2)) + "|";
      border += "-".repeat(width) + "+";
      b = fEnd;
    }
    rows.push(" " + ruler.trimEnd(), border, label, border);
  }
  return "```text\n" + rows.join("\n").replace(/\n(\+[^\n]*)\n\1/g, "\n$1") + "\n```";
}

function featureSection(): string {
  const out: string[] = ["## Feature bits", ""];
  out.push(
    "Balloon bits side by side. **Bits 3 and 4 mean different things in the two profiles**: a seed driver and a standard device (or the reverse) must never meet without an explicit profile choice.",
    "",
  );
  const collisions = new Map(featureCollisions().map((c) => [c.bit, c]));
  const bits = [...new Set(BALLOON_FEATURES.map((f) => f.bit))].sort((a, b) => a - b);
  out.push(table(
    ["bit", "v3 (seed)", "virtio-1.x", "collision"],
    bits.map((bit) => {
      const a = BALLOON_FEATURES.find((f) => f.bit === bit && f.profiles.includes("v3"));
      const b = BALLOON_FEATURES.find((f) => f.bit === bit && f.profiles.includes("virtio-1.x"));
      return [String(bit), a?.name ?? "—", b?.name ?? "—", collisions.has(bit) ? "**yes**" : ""];
    }),
  ));
  out.push("", "### Collisions", "");
  out.push(table(
    ["bit", "v3", "virtio-1.x", "what goes wrong"],
    [...collisions.values()].map((
      c,
    ) => [String(c.bit), c.v3 ?? "", c.standard ?? "", c.consequence]),
  ));
  out.push("", "### Balloon features", "");
  out.push(table(
    ["bit", "name", "profiles", "meaning", "adds queues", "requires", "config fields", "source"],
    BALLOON_FEATURES.map((f) => [
      String(f.bit),
      f.macro,
      f.profiles.join(", "),
      f.meaning,
      f.queues.join(", ") || "—",
      f.requires.join(", ") || "—",
      f.configFields.join(", ") || "—",
      f.source,
    ]),
  ));
  out.push("", "### Transport features (both profiles)", "");
  out.push(table(
    ["bit", "name", "meaning", "legacy only"],
    TRANSPORT_FEATURES.map((f) => [String(f.bit), f.macro, f.meaning, f.legacyOnly ? "yes" : ""]),
  ));
  return out.join("\n");
}

function queueSection(): string {
  const out: string[] = ["## Virtqueues", ""];
  out.push(table(
    [
      "queue",
      "profiles",
      "spec index",
      "device-readable buffers",
      "device-writable buffers",
      "carries",
    ],
    QUEUES.map((q) => [
      q.name,
      q.profiles.join(", "),
      String(q.fixedIndex),
      q.buffers.readable,
      q.buffers.writable,
      q.carries.join(", ") || "—",
    ]),
  ));
  for (const p of PROFILES) {
    out.push("", `### Queue indices, profile ${p}`, "");
    out.push(
      p === "v3"
        ? "The seed's `init_vqs` compacts (miscq sits at 3 only because MISC_VQ requires STATS_VQ). The last column is what the seed's code asks for as posted: it counts queues before clearing MISC_VQ for a missing STATS_VQ (D-10)."
        : "Linux, QEMU, Firecracker, cloud-hypervisor and crosvm (since 2025) compact the indices; the spec text numbers them 0–4. The suite uses the compacted model and shows the fixed one for comparison.",
      "",
    );
    const head = ["negotiated", "compacted", "fixed (spec text)"];
    if (p === "v3") head.push("seed as posted: queues");
    out.push(table(
      head,
      queueFeatureCombinations(p).map((combo) => {
        const set = new Set(combo);
        const row = [
          combo.join(" + ") || "none",
          queueLayout(p, set).map((q) => `${q.index}:${q.name}`).join(" "),
          queueLayout(p, set, "fixed").map((q) => `${q.index}:${q.name}`).join(" "),
        ];
        if (p === "v3") row.push(String(seedAsPostedQueueCount(set)));
        return row;
      }),
    ));
  }
  return out.join("\n");
}

function structSection(): string {
  const out: string[] = ["## Structs", ""];
  out.push(
    "Wire types: `le*` are always little-endian; `virtio*` are little-endian with VERSION_1 and guest-native for the legacy interface. Legal values are per use of the struct; each check names the rule it enforces.",
    "",
  );
  for (const def of Object.values(STRUCTS)) {
    const profile = def.profiles.includes("virtio-1.x") ? undefined : "v3";
    out.push(`### ${def.name}`, "");
    out.push(
      `\`${def.cName}\`, ${
        structSize(def.name, profile)
      } bytes. ${def.meaning}. Written by the ${def.writer}; used in: ${
        def.contexts.join(", ")
      }. Source: ${def.source}. Rules: ${def.rules.join(", ")}.`,
      "",
    );
    out.push(layoutDiagram(def, profile), "");
    out.push(table(
      ["offset", "size", "field", "type", "writer", "legal values", "meaning", "as posted"],
      def.fields.map((f) => {
        const legal = f.checks.length === 0 ? "any" : def.contexts.map((ctx) => {
          const cs = checksFor(f, ctx);
          return cs.length === 0
            ? undefined
            : `${ctx}: ${cs.map((c) => `${describeLegal(c.legal)} (${c.rule})`).join("; ")}`;
        }).filter((x) => x !== undefined).join("<br>");
        const present = f.presentWhen === undefined ? "" : ` — ${describeCondition(f.presentWhen)}`;
        return [
          String(f.offset),
          String(wireSize(f.type) * (f.count ?? 1)),
          f.count === undefined ? f.name : `${f.name}[${f.count}]`,
          f.type,
          f.writer,
          legal,
          f.meaning + present,
          f.asPosted ?? "",
        ];
      }),
    ));
    out.push("");
  }
  return out.join("\n");
}

function layoutExample(layout: BitmapLayout): string {
  return [0, 1, 8, 63].map((j) => {
    const p = bitPosition(j, layout);
    return `bit ${j} → byte ${p.byte} bit ${p.bit}`;
  }).join("; ");
}

function payloadSection(): string {
  const out: string[] = ["## Payloads", "", "### PFN array", ""];
  out.push(
    `${PFN_ARRAY.meaning}. Element: \`${PFN_ARRAY.element}\`. Entries per request: at most ${PFN_ARRAY.maxEntries} (driver rule R-07; no limit in the spec). Rules: ${
      PFN_ARRAY.rules.join(", ")
    }.`,
    "",
    "### Bitmap",
    "",
    `${BITMAP_PAYLOAD.mapping}. Chunk size: ${BITMAP_PAYLOAD.chunkBytes}; at most ${BITMAP_PAYLOAD.maxChunks} chunks; ${BITMAP_PAYLOAD.pfnsPerChunk} PFNs per chunk. Rules: ${
      BITMAP_PAYLOAD.rules.join(", ")
    }.`,
    "",
  );
  out.push(table(
    ["queue", "a set bit means"],
    Object.entries(BITMAP_PAYLOAD.meaningByQueue).map(([q, m]) => [q, m]),
  ));
  out.push(
    "",
    "Byte layouts (D-13): the intended one, and what the seed's raw `unsigned long[]` gives per guest ABI.",
    "",
  );
  out.push(table(
    ["layout", "word bytes", "endian", "bmap_len granularity", "examples", "meaning"],
    BITMAP_LAYOUTS.map((l) => [
      l.name,
      String(l.wordBytes),
      l.endian,
      `${l.granularity} bytes`,
      layoutExample(l),
      l.meaning,
    ]),
  ));
  return out.join("\n");
}

function constantSection(): string {
  const out: string[] = ["## Constants", ""];
  out.push(table(
    ["name", "value", "unit", "derivation", "meaning", "source", "profiles"],
    CONSTANTS.map((c) => [
      c.name,
      String(c.value),
      c.unit,
      c.derivation ?? "",
      c.meaning,
      c.source,
      c.profiles.join(", "),
    ]),
  ));
  out.push("", "## Enumerations", "");
  for (const e of Object.values(ENUMS)) {
    out.push(
      `### ${e.name}`,
      "",
      `${e.meaning}. ${e.flags ? "Bit flags. " : ""}Source: ${e.source}.`,
      "",
    );
    out.push(table(
      ["value", "name", "meaning", "profiles"],
      e.values.map((v) => [
        String(v.value),
        v.name + (v.nonStandard ? " (non-standard)" : ""),
        v.meaning,
        (v.profiles ?? e.profiles).join(", "),
      ]),
    ));
    out.push("");
  }
  return out.join("\n");
}

const LEVELS: Level[] = ["MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY"];

function family(r: Rule): string {
  if (r.id.startsWith("R-")) return "seed";
  if (r.id.startsWith("B")) return "balloon spec";
  if (r.id.startsWith("G")) return "general virtio";
  return "suite";
}

/**
 * A rule's or defect's id cell: an anchor named by `specAnchor(id)`, so that
 * reports link to `docs/SPEC.md#rule-r-07`.
 */
export function ruleAnchor(id: string): string {
  return `<a id="${specAnchor(id)}"></a>${id}`;
}

function ruleSection(): string {
  const out: string[] = ["## Rules", ""];
  const families = ["seed", "balloon spec", "general virtio", "suite"];
  out.push("### Counts", "");
  out.push(table(
    ["family", ...LEVELS, "driver", "device", "both", "total"],
    families.map((fam) => {
      const rs = RULES.filter((r) => family(r) === fam);
      return [
        fam,
        ...LEVELS.map((l) => String(rs.filter((r) => r.level === l).length)),
        ...["driver", "device", "both"].map((role) =>
          String(rs.filter((r) => r.role === role).length)
        ),
        String(rs.length),
      ];
    }),
  ));
  const titles: Record<string, string> = {
    "seed": "Seed rules (R-nn), intended semantics",
    "balloon spec": "Balloon section of the virtio spec (Bnn)",
    "general virtio": "General virtio rules a balloon can break (Gnn)",
    "suite": "Suite robustness rules (S-nn)",
  };
  for (const fam of families) {
    out.push("", `### ${titles[fam]}`, "");
    out.push(table(
      ["id", "role", "level", "condition", "profiles", "statement", "source", "defects"],
      RULES.filter((r) => family(r) === fam).map((r) => [
        ruleAnchor(r.id),
        r.role,
        r.level,
        describeCondition(r.condition),
        r.profiles.join(", "),
        r.statement + (r.asPosted ? ` — *as posted:* ${r.asPosted}` : ""),
        describeSource(r),
        r.defects.join(", "),
      ]),
    ));
  }
  return out.join("\n");
}

function defectSection(): string {
  const out: string[] = ["## Seed defects", ""];
  out.push(table(
    ["id", "severity", "patches", "observable by", "title", "what goes wrong", "rules broken"],
    DEFECTS.map((d) => [
      ruleAnchor(d.id),
      d.severity,
      d.patches,
      d.observable,
      d.title,
      d.summary,
      rulesBrokenBy(d.id).map((r) => r.id).join(", "),
    ]),
  ));
  return out.join("\n");
}

/** The whole document. */
export function renderSpecDoc(): string {
  return [
    "# The virtio balloon protocol, as the suite's tables state it",
    "",
    'Generated by `deno task spec-doc` from `spec/`; do not edit by hand. Two profiles share the base protocol: **v3**, the 2016 seed "Extend virtio-balloon for fast (de)inflating & fast live migration" with its intended semantics, and **virtio-1.x**, the standard traditional balloon (virtio 1.2–1.4 §5.5).',
    "",
    featureSection(),
    "",
    queueSection(),
    "",
    structSection(),
    payloadSection(),
    "",
    constantSection(),
    ruleSection(),
    "",
    defectSection(),
    "",
  ].join("\n");
}
