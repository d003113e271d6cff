/**
 * `deno task conform`. The conformance cases do not exist yet (issue #4), so
 * this prints what the spec tables hold and says plainly that nothing was
 * tested.
 *
 * @module
 */

import { specSummary } from "./summary.ts";

console.log("virtio-balloon conformance suite 0.1.0");
console.log("");
console.log(specSummary());
console.log("");
console.log("No conformance cases exist yet: nothing was tested. See docs/SPEC.md for the tables.");
