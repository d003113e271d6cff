/**
 * The `-DBREAK_…` switches of the C example device (`examples/c/device.c`),
 * each with the device cases of profile v3 it makes fail (or warn, for a
 * SHOULD rule). `c_example_test.ts` builds the device with each switch and
 * checks every verdict; the self-test that every case is failed by some
 * mutant counts these kills too (the cases judged from the device's own
 * memory writes can be failed only by a device with its own ring).
 *
 * @module
 */

/** One compile-time switch of the C device. */
export interface CSwitch {
  /** The macro (`cc -D<define>`). */
  readonly define: string;
  /** The cases it makes fail or warn (exact ids of profile v3). */
  readonly kills: readonly string[];
  /** What each of them gets. */
  readonly verdict: "fail" | "warn";
}

/** Every switch of `examples/c/device.c`, in the order its header lists them. */
export const C_SWITCHES: readonly CSwitch[] = [
  { define: "BREAK_USED_LEN", kills: ["device.pfn.used-len"], verdict: "fail" },
  { define: "BREAK_USED_EARLY", kills: ["device.pfn.used-after-apply"], verdict: "fail" },
  { define: "BREAK_ONE_PER_KICK", kills: ["device.ring.several-in-flight"], verdict: "fail" },
  { define: "BREAK_NO_WRAP", kills: ["device.ring.wrap"], verdict: "fail" },
  { define: "BREAK_ALWAYS_IRQ", kills: ["device.notify.flags.suppressed"], verdict: "warn" },
  { define: "BREAK_WRITABLE", kills: ["robustness.pfn.writable"], verdict: "warn" },
  {
    define: "BREAK_WRITE_READABLE",
    kills: [
      "device.ring.readable-not-written.pfn",
      "device.ring.readable-not-written.indirect",
      "device.ring.readable-not-written.stats",
    ],
    verdict: "fail",
  },
  { define: "BREAK_IDX_FIRST", kills: ["device.ring.used-len-before-idx"], verdict: "fail" },
  {
    define: "BREAK_USED_FLAGS",
    kills: ["device.ring.used-flags", "device.ring.used-flags.event-idx"],
    verdict: "fail",
  },
  { define: "BREAK_INDIRECT_WRITE", kills: ["device.ring.indirect-write-flag"], verdict: "fail" },
];
