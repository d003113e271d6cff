/**
 * Adversarial mode: property-based driver sequences against any device
 * target, the first failure shrunk by fast-check to a replayable reproducer.
 *
 * What it holds:
 * - `sequences.ts`: fast-check arbitraries of device scenarios drawn from the
 *   spec tables (features, header field checks, stats tags, config fields,
 *   misc flags);
 * - `judge.ts`: every step judged by the existing device checks, plus
 *   survival and liveness (DEVICE_NEEDS_RESET only after a malformed chain);
 * - `run.ts`: one sequence on a fresh device, and the property run with
 *   shrinking;
 * - `reproducer.ts`: the reproducer file, its replay, the qtest command file;
 * - `qemu.ts`: a sequence run once more on QEMU with `-qtest-log`.
 *
 * May import: the rooms above it (`model/` … `run/`; it uses the model,
 * scenarios (`deviceStepNeeds`), targets, runners and checks); spec/, impl/
 * and fast-check. The CLI (`cli/adversarial.ts`) imports it; nothing else in
 * the suite does.
 *
 * @module
 */

export {
  adversarial,
  type AdversarialOptions,
  type AdversarialResult,
  runSequence,
  sequenceOptionsOf,
  type SequenceOutcome,
} from "./run.ts";
export { judgeSequence, type PortAfter, type SequenceFinding } from "./judge.ts";
export {
  ADVERSARIAL_GUEST_PAGES,
  POOL,
  sequenceArbitrary,
  type SequenceOptions,
  sequenceScenario,
} from "./sequences.ts";
export {
  findingKey,
  parseReproducer,
  replay,
  type ReplayResult,
  type Reproducer,
  REPRODUCER_FORMAT,
  ReproducerError,
  type ReproducerFinding,
  reproducerFindings,
} from "./reproducer.ts";
export { type QtestReplay, qtestReplay } from "./qemu.ts";
