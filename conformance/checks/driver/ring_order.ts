/**
 * Driver checks of the order of ring writes, from every write the driver
 * made to guest memory ({@link watchAvailOrder}).
 *
 * @module
 */

import { bad, driverCheck, type DriverCheckDef, ok } from "../define.ts";
import { none } from "./_shared.ts";

/** G53: every entry an `avail.idx` update publishes was written before the update. */
export const availEntryBeforeIdx: DriverCheckDef = driverCheck(
  "avail-entry-before-idx",
  (run, { rule }) => {
    const w = run.availOrder;
    if (w.published === 0) return none(run, rule, "available buffer");
    const first = w.findings[0];
    if (first === undefined) {
      return [
        ok(
          rule,
          `${w.published} ring entries published, each written before the avail.idx update that published it`,
        ),
      ];
    }
    return [
      bad(
        rule,
        `avail.idx of queue ${first.queue} moved to ${first.idx}, publishing ring slot ${first.slot} before the driver wrote that entry (the device may read a stale head); ${w.findings.length} of ${w.published} published entries so`,
      ),
    ];
  },
);
