/**
 * The command line, `deno task conform`: flag parsing with one wording for
 * flag errors (`flags.ts`), active runs (`main.ts`) and passive checking
 * (`passive.ts`). Nothing here is library API; the entry point is `main.ts`.
 *
 * May import: every room.
 *
 * @module
 */
