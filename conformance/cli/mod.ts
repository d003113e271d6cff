/**
 * The command line, `deno task conform`: flag parsing with one wording for
 * flag errors (`flags.ts`) and for file errors and exit code 4 (`files.ts`),
 * active runs (`main.ts`, its help in `usage.ts`), passive checking
 * (`passive.ts`), adversarial mode (`adversarial.ts`) and targets loaded
 * from a module (`module_targets.ts`). Nothing here is library API; the
 * entry point is `main.ts`.
 *
 * May import: every room.
 *
 * @module
 */
