/**
 * Facts about the QEMU machine types the qtest target drives, which firmware
 * would otherwise supply: where RAM the suite may use lies, which
 * guest-physical and I/O windows PCI BARs can be placed in, and how INTx
 * pin A is routed to an interrupt line. These are properties of QEMU's `pc`
 * (i440FX + PIIX3) and `q35` (ICH9) boards, not of virtio.
 *
 * @module
 */

/** What the qtest target needs to know about a machine type. */
export interface MachineFacts {
  /** `-machine` value. */
  readonly name: "pc" | "q35";
  /** Lowest RAM address the suite allocates from (above the legacy VGA/BIOS hole). */
  readonly ramStart: number;
  /** Most guest RAM (MiB) the suite supports: all of it below the 32-bit PCI hole. */
  readonly maxRamMiB: number;
  /** 32-bit MMIO window for memory BARs: [start, end). */
  readonly mmio: { readonly start: number; readonly end: number };
  /** I/O port window for I/O BARs: [start, end). */
  readonly io: { readonly start: number; readonly end: number };
  /**
   * INTx routing by hand (firmware's job): a PCI config write to the
   * interrupt router that sends PIRQ A–D to IRQ lines, and the line pin A of
   * a device in slot `slot` then raises. Only checked on `pc`.
   */
  readonly intx?: {
    /** Router function (bus 0). */
    readonly router: { readonly device: number; readonly fn: number };
    /** Offset of the PIRQ route control registers (PIRQA..D, one byte each). */
    readonly offset: number;
    /** The four bytes written there, PIRQA first. */
    readonly routes: readonly [number, number, number, number];
    /** QOM path whose inputs `irq_intercept_in` watches. */
    readonly interceptPath: string;
  };
}

/**
 * `pc`: PIIX3 at 00:01.0 routes PIRQA–D through config bytes 0x60–0x63
 * (PIIX3 datasheet §2.2.12, PIRQRC); QTEST.md checked that A/B → 10 and
 * C/D → 11 make `IRQ raise 11` arrive for a device in slot 4. The RAM hole
 * at 640 KiB–1 MiB holds VGA memory and BIOS ROM.
 */
const PC: MachineFacts = {
  name: "pc",
  ramStart: 0x10_0000,
  maxRamMiB: 2048,
  mmio: { start: 0xe000_0000, end: 0xfec0_0000 },
  io: { start: 0xc000, end: 0x1_0000 },
  intx: {
    router: { device: 1, fn: 0 },
    offset: 0x60,
    routes: [10, 10, 11, 11],
    interceptPath: "ioapic",
  },
};

/** `q35`: the same RAM and windows (its MMCONFIG sits below 0xe0000000); INTx not set up. */
const Q35: MachineFacts = {
  name: "q35",
  ramStart: 0x10_0000,
  maxRamMiB: 2048,
  mmio: { start: 0xe000_0000, end: 0xfec0_0000 },
  io: { start: 0xc000, end: 0x1_0000 },
};

/** The facts of a machine type. */
export function machineFacts(name: "pc" | "q35"): MachineFacts {
  return name === "pc" ? PC : Q35;
}
