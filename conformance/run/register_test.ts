import { registerConformance } from "./register.ts";
import { referenceDriverTarget } from "../targets/reference/reference.ts";

// The suite registered as a user would, against the reference driver (a few areas only).
registerConformance(referenceDriverTarget("reference-driver", "The reference v3 driver"), {
  filter: ["inflate.pfn.*", "stats.*", "misc.req-id"],
});

// And against a broken driver, with its failures listed as expected.
registerConformance(
  referenceDriverTarget("driver:pfn-array-512", "A driver sending 512 PFNs per request", {
    deviations: ["pfn-array-512"],
  }),
  { filter: ["inflate.pfn.max-256"], expectFail: ["inflate.pfn.max-256"] },
);
