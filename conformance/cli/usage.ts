/**
 * The `--help` text of `deno task conform`'s active runs, with the
 * qemu-device variant names and the testee flags taken from their modules so
 * the help cannot drift from them. Passive mode (`passive.ts`) and
 * adversarial mode (`adversarial.ts`) keep their own texts; `main.ts`
 * prints all three.
 *
 * @module
 */

import { QEMU_DEVICE_VARIANTS } from "../targets/qemu-device/target.ts";
import { TESTEE_USAGE } from "../targets/testee/cli.ts";

/** The variant names for --help, wrapped under the flag's text. */
function variantLines(): string {
  const lines: string[] = [];
  let line = "";
  for (const v of QEMU_DEVICE_VARIANTS.map((x) => x.name)) {
    const next = line === "" ? v : `${line}, ${v}`;
    if (next.length > 58 && line !== "") {
      lines.push(`${line},`);
      line = v;
    } else line = next;
  }
  lines.push(line);
  return lines.map((l) => `${" ".repeat(20)}${l}`).join("\n");
}

/** The --help text of active runs (passive and adversarial mode have their own). */
export const USAGE: string = `Usage: deno task conform [flags]

Runs the virtio-balloon conformance cases on targets, prints a summary and
writes reports (report.json, report.junit.xml, report.md, report.html).

Flags:
  --target T        what to test (repeatable, or comma-separated; default: reference):
                    reference (the reference driver and device of the profile),
                    mutants (every mutant of the profile), all (reference,
                    v3-as-posted and mutants), or one target by name:
                    reference-driver, reference-device, v3-as-posted,
                    reference-driver-v1x, reference-device-v1x, driver:<name>,
                    device:<name>, quirk:D-nn, v1x-driver:<name>, v1x-device:<name>;
                    qemu-device: QEMU's real virtio-balloon-pci with the suite as
                    its guest driver over qtest (no guest image; QEMU is installed
                    when missing), every variant:
${variantLines()};
                    or one: qemu-device:<variant>;
                    or your own: ./my_impl.ts (every target the module exports)
                    or ./my_impl.ts#name (one of them)
  --profile P       profile of the cases: v3 (the 2016 proposal; default),
                    virtio-1.x (the standard balloon: free page hinting, page
                    poison, free page reporting), or all (both); a target
                    named alone picks its own profile
  --filter F        only cases matching F (repeatable): a case id, a glob with *
                    ('inflate.*') or a rule id ('R-12a', 'B14': the cases citing it)
${TESTEE_USAGE}
  --strict          SHOULD / SHOULD NOT failures fail the run (default: warnings)
  --list            print the selected targets and cases (id, rules, level, role,
                    scenario, title) and exit without running
  --report FORMATS  reports to write, comma-separated: json, junit, markdown,
                    html (one self-contained page: filters, evidence, kill
                    matrix; no network) (default: all four), or none
  --out DIR         directory for the reports (default: conformance-report)
  --expect-fail F   file of expected failures, one 'case-id' or 'target case-id'
                    per line, # comments; a listed case that passes or does not
                    exist fails the run
  --jobs N          targets in other processes (qemu-device) run N scenarios at
                    a time, one child process each (default: the number of cores)
  --export DIR      write DIR/cases.json and DIR/cases.schema.json (the cases as
                    data for other runners) and DIR/trace.schema.json (one line
                    of a --trace file), and exit without running
  --help            print this text

Passive checking (--trace, --qemu-trace, --target qemu-linux) and adversarial
mode (--adversarial: generated sequences, shrunk reproducers): see below.

Exit codes: 0 every target under test passed and every mutant failed the cases
it declares; 1 otherwise; 2 usage error (a bad flag or value, an unreadable
input file); 3 nothing could be judged (every case of a target unsupported or
errored); 4 a report or export could not be written.

Examples:
  deno task conform
  deno task conform --target v3-as-posted --filter 'inflate.*'
  deno task conform --target all --report markdown --out /tmp/report
  deno task conform --target driver:release-before-ack --filter R-12a
  deno task conform --profile virtio-1.x --target mutants
  deno task conform --profile all --report markdown
  deno task conform --list --target mutants
  deno task conform --target qemu-device --expect-fail conformance/targets/qemu-device/expected-failures.txt
  deno task conform --target qemu-device:legacy-only --filter 'device.pfn.*'
  deno task conform --export cases/
  deno task conform --device-cmd ./examples/c/device`;
