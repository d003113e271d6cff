/**
 * One QEMU driven over qtest: started stopped (`-S`, no firmware runs, the
 * virtual clock stands still, nothing happens that the suite did not ask
 * for) with `-qtest unix:…` and a QMP monitor on a second socket, both
 * connecting to listeners of a {@link ProcessBridge}; its pid is kept and it
 * is stopped by that pid only.
 *
 * Debian's QEMU 7.2 has no qtest accelerator: the qtest protocol server runs
 * under TCG, which never executes a guest instruction while the VM is
 * stopped. Measured on the 2-core build machine while other jobs ran: start
 * to ready (process up, both sockets connected, QMP negotiated, first qtest
 * reply) 90–160 ms; `deno task bench:qtest` prints it.
 *
 * @module
 */

import { type CloseResult, ProcessBridge } from "../bridge/process_bridge.ts";
import { SyncQmp } from "../qemu/qmp_sync.ts";
import { type MachineFacts, machineFacts } from "./machine.ts";
import { QTEST_IRQ_PREFIX, QtestClient } from "./qtest.ts";

/** Options of {@link QtestQemu.start}. */
export interface QtestQemuOptions {
  /** Path of qemu-system-x86_64 (from `ensureQemu`). */
  readonly qemu: string;
  /** Machine type (default `pc`). */
  readonly machine?: "pc" | "q35";
  /** Guest RAM in MiB (default 128). */
  readonly memMiB?: number;
  /** The device to test, e.g. `virtio-balloon-pci`. */
  readonly device: string;
  /** Its properties; `id` defaults to `dut`, `addr` to `04.0`. */
  readonly props?: Readonly<Record<string, string>>;
  /** Run the VM instead of keeping it stopped (timers then fire; default false). */
  readonly running?: boolean;
  /** More QEMU arguments (e.g. `-object iothread,id=io0`, `-bios halt.bin`). */
  readonly extraArgs?: readonly string[];
  /** Timeout of one qtest or QMP reply in ms (default 5 s). */
  readonly replyTimeoutMs?: number;
  /** How long QEMU may take to start and connect (default 20 s). */
  readonly readyTimeoutMs?: number;
}

const NAME = /^[A-Za-z0-9_.-]+$/;
const VALUE = /^[^,\s]*$/;

function checkProps(props: Readonly<Record<string, string>>): string {
  return Object.entries(props).map(([k, v]) => {
    if (!NAME.test(k)) {
      throw new RangeError(`Invalid device property name: ${JSON.stringify(k)}, expected a name`);
    }
    if (typeof v !== "string" || !VALUE.test(v)) {
      throw new RangeError(
        `Invalid value of device property ${k}: ${JSON.stringify(v)}, expected no comma or space`,
      );
    }
    return `,${k}=${v}`;
  }).join("");
}

/** A running QEMU with its qtest and QMP sessions. */
export class QtestQemu {
  /** The bridge that owns the process. */
  readonly bridge: ProcessBridge;
  /** The qtest session. */
  readonly qtest: QtestClient;
  /** The QMP session. */
  readonly qmp: SyncQmp;
  /** The machine's facts. */
  readonly machine: MachineFacts;
  /** Guest RAM in bytes. */
  readonly ramBytes: number;
  /** The device's QOM path (`/machine/peripheral/<id>`). */
  readonly devicePath: string;
  /** The PCI slot the device was placed in. */
  readonly slot: number;
  /** The full QEMU command line. */
  readonly args: readonly string[];
  /** Milliseconds from spawn to both sessions ready. */
  readonly startMs: number;
  #dir: string;

  private constructor(
    parts: {
      bridge: ProcessBridge;
      qtest: QtestClient;
      qmp: SyncQmp;
      machine: MachineFacts;
      ramBytes: number;
      devicePath: string;
      slot: number;
      args: readonly string[];
      startMs: number;
      dir: string;
    },
  ) {
    this.bridge = parts.bridge;
    this.qtest = parts.qtest;
    this.qmp = parts.qmp;
    this.machine = parts.machine;
    this.ramBytes = parts.ramBytes;
    this.devicePath = parts.devicePath;
    this.slot = parts.slot;
    this.args = parts.args;
    this.startMs = parts.startMs;
    this.#dir = parts.dir;
  }

  /** Process id of this QEMU. */
  get pid(): number {
    return this.bridge.pid;
  }

  /**
   * Starts QEMU and waits until qtest and QMP both answer. Throws a
   * `TargetError` with QEMU's stderr tail when it cannot (a bad property,
   * a missing binary, a QEMU that exits or never connects).
   */
  static start(options: QtestQemuOptions): QtestQemu {
    const machine = machineFacts(options.machine ?? "pc");
    const memMiB = options.memMiB ?? 128;
    if (!Number.isSafeInteger(memMiB) || memMiB < 16 || memMiB > machine.maxRamMiB) {
      throw new RangeError(
        `Invalid memMiB: ${memMiB}, expected an integer from 16 to ${machine.maxRamMiB}`,
      );
    }
    if (!NAME.test(options.device)) {
      throw new RangeError(`Invalid device: ${JSON.stringify(options.device)}, expected a name`);
    }
    const props = { id: "dut", addr: "04.0", ...(options.props ?? {}) };
    const slot = Number.parseInt(props.addr.split(".")[0] ?? "", 16);
    if (!Number.isInteger(slot) || slot < 0 || slot > 31) {
      throw new RangeError(`Invalid addr: ${props.addr}, expected a PCI slot such as 04.0`);
    }
    const dir = Deno.makeTempDirSync({ prefix: "qtest-" });
    const sockets = { qtest: `${dir}/qtest.sock`, qmp: `${dir}/qmp.sock` };
    const args = [
      "-machine",
      machine.name,
      "-accel",
      "tcg",
      ...(options.running === true ? [] : ["-S"]),
      "-display",
      "none",
      "-nodefaults",
      "-m",
      `${memMiB}M`,
      "-qtest",
      `unix:${sockets.qtest}`,
      "-qtest-log",
      "/dev/null",
      "-chardev",
      `socket,id=qmp0,path=${sockets.qmp}`,
      "-mon",
      "chardev=qmp0,mode=control",
      ...(options.extraArgs ?? []),
      "-device",
      `${options.device}${checkProps(props)}`,
    ];
    const t0 = performance.now();
    let bridge: ProcessBridge;
    try {
      bridge = ProcessBridge.spawn({
        command: options.qemu,
        args,
        channels: [
          { name: "qtest", kind: "unix-listen", path: sockets.qtest },
          { name: "qmp", kind: "unix-listen", path: sockets.qmp },
        ],
        noticePrefixes: { qtest: [QTEST_IRQ_PREFIX] },
        readyTimeoutMs: options.readyTimeoutMs ?? 20_000,
        replyTimeoutMs: options.replyTimeoutMs ?? 5_000,
        label: "qemu-system-x86_64",
      });
    } catch (e) {
      Deno.removeSync(dir, { recursive: true });
      throw e;
    }
    try {
      const qmp = new SyncQmp(bridge);
      const qtest = new QtestClient(bridge);
      // the first qtest reply: the protocol server answers
      qtest.readb(machine.ramStart);
      return new QtestQemu({
        bridge,
        qtest,
        qmp,
        machine,
        ramBytes: memMiB * 2 ** 20,
        devicePath: `/machine/peripheral/${props.id}`,
        slot,
        args,
        startMs: performance.now() - t0,
        dir,
      });
    } catch (e) {
      bridge.close({ graceMs: 500 });
      Deno.removeSync(dir, { recursive: true });
      throw e;
    }
  }

  /** Stops QEMU by its pid (SIGTERM, then SIGKILL) and removes its socket directory. */
  close(): CloseResult {
    const r = this.bridge.close();
    try {
      Deno.removeSync(this.#dir, { recursive: true });
    } catch {
      // already gone
    }
    return r;
  }
}
