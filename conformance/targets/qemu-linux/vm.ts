/**
 * One QEMU guest: started with a virtio-balloon device, QMP and a trace log;
 * driven through QMP and a command channel on the guest's second serial
 * port; every wait has a timeout; only this QEMU process is ever stopped.
 *
 * @module
 */

import type { GuestAssets } from "./assets.ts";
import { READY_MARKER } from "./assets.ts";
import { QmpClient } from "../qemu/qmp.ts";

/** Trace events QEMU should log (see QEMU's trace-events files). */
export const TRACE_EVENTS: readonly string[] = [
  "virtio_balloon_*",
  "virtio_set_status",
  "virtio_queue_notify",
  "virtqueue_pop",
  "virtqueue_fill",
  "virtqueue_flush",
  "virtio_notify",
  "ram_block_discard_range",
  "balloon_event",
];

/** Options of a guest. */
export interface VmOptions {
  /** Guest RAM in MiB. */
  readonly memMiB: number;
  /** virtio-balloon-pci properties, e.g. { "deflate-on-oom": "on" }. */
  readonly balloon: Readonly<Record<string, string>>;
  /** Directory for the console log, trace log and sockets. */
  readonly dir: string;
  /** Boot timeout in ms (default 120 s). */
  readonly bootTimeoutMs?: number;
  /** More kernel parameters (e.g. `page_poison=1`). */
  readonly kernelArgs?: readonly string[];
  /** More QEMU objects, e.g. `iothread,id=io0` for free-page-hint (each an `-object`). */
  readonly objects?: readonly string[];
  /** Trace events to log (default {@link TRACE_EVENTS}; fewer keep a large run's log small). */
  readonly traceEvents?: readonly string[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A running guest. */
export class Vm {
  /** Process id of the QEMU this object started. */
  readonly pid: number;
  /** Paths of its files. */
  readonly files: {
    readonly console: string;
    readonly trace: string;
    readonly qmp: string;
    readonly ctl: string;
  };
  #child: Deno.ChildProcess;
  #qmp: QmpClient | undefined;
  #ctl: Deno.UnixConn | undefined;
  #exited = false;
  #status: Promise<Deno.CommandStatus>;
  #stderr = "";
  #drained: Promise<void>;

  private constructor(child: Deno.ChildProcess, files: Vm["files"]) {
    this.#child = child;
    this.pid = child.pid;
    this.files = files;
    this.#status = child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    // read QEMU's stderr as it comes (a full pipe would stall it); keep the last 4 KiB
    this.#drained = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.#stderr = (this.#stderr + dec.decode(chunk, { stream: true })).slice(-4096);
      }
    })().catch(() => {});
  }

  /** The last 4 KiB QEMU wrote to its stderr. */
  get stderr(): string {
    return this.#stderr;
  }

  /** The QMP client (after {@link start}). */
  get qmp(): QmpClient {
    if (this.#qmp === undefined) throw new Error("QMP is not connected");
    return this.#qmp;
  }

  /** Starts QEMU and waits until the guest prints the ready marker. Throws with the console log on failure. */
  static async start(assets: GuestAssets, options: VmOptions): Promise<Vm> {
    const dir = options.dir;
    await Deno.mkdir(dir, { recursive: true });
    const files = {
      console: `${dir}/console.log`,
      trace: `${dir}/trace.log`,
      qmp: `${dir}/qmp.sock`,
      ctl: `${dir}/ctl.sock`,
    };
    for (const f of Object.values(files)) await Deno.remove(f).catch(() => {});
    await Deno.writeTextFile(
      `${dir}/events.txt`,
      (options.traceEvents ?? TRACE_EVENTS).join("\n") + "\n",
    );
    const props = Object.entries(options.balloon).map(([k, v]) => `,${k}=${v}`).join("");
    const args = [
      "-machine",
      "q35",
      "-accel",
      "tcg",
      "-m",
      String(options.memMiB),
      "-smp",
      "1",
      "-display",
      "none",
      "-monitor",
      "none",
      "-no-reboot",
      "-msg",
      "timestamp=on",
      "-serial",
      `file:${files.console}`,
      "-chardev",
      `socket,id=ctl,path=${files.ctl},server=on,wait=off`,
      "-serial",
      "chardev:ctl",
      "-kernel",
      assets.kernel,
      "-initrd",
      assets.initrd,
      "-append",
      ["console=ttyS0 panic=-1 loglevel=4", ...(options.kernelArgs ?? [])].join(" "),
      ...(options.objects ?? []).flatMap((o) => ["-object", o]),
      "-device",
      `virtio-balloon-pci,id=balloon0${props}`,
      "-qmp",
      `unix:${files.qmp},server=on,wait=off`,
      "-trace",
      `events=${dir}/events.txt,file=${files.trace}`,
    ];
    const child = new Deno.Command(assets.qemu, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const vm = new Vm(child, files);
    try {
      vm.#qmp = await QmpClient.connect(files.qmp, 20_000, () => vm.#exited);
      await vm.waitConsole(READY_MARKER, options.bootTimeoutMs ?? 120_000);
      vm.#ctl = await Deno.connect({ transport: "unix", path: files.ctl });
    } catch (e) {
      const console = await Deno.readTextFile(files.console).catch(() => "");
      await vm.stop();
      const err = vm.stderr.trim() === "" ? "" : `\n--- QEMU stderr ---\n${vm.stderr.trim()}`;
      throw new Error(
        `${(e as Error).message}${err}\n--- console (last 40 lines) ---\n${
          console.split("\n").slice(-40).join("\n")
        }`,
      );
    }
    return vm;
  }

  /** Waits until the console log contains `marker` after `from` bytes; returns the text after it. */
  async waitConsole(marker: string | RegExp, timeoutMs: number, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = (await Deno.readTextFile(this.files.console).catch(() => "")).slice(from);
      const hit = typeof marker === "string" ? text.indexOf(marker) : text.search(marker);
      if (hit >= 0) return text.slice(hit);
      if (this.#exited) throw new Error(`QEMU exited before the guest printed ${marker}`);
      if (Date.now() > deadline) {
        throw new Error(`The guest did not print ${marker} within ${timeoutMs} ms`);
      }
      await sleep(100);
    }
  }

  /** Length of the console log so far (to wait for output after a point). */
  async consoleLength(): Promise<number> {
    return (await Deno.readTextFile(this.files.console).catch(() => "")).length;
  }

  /** Sends a command line to the guest's command loop and waits for its DONE line. */
  async command(line: string, timeoutMs: number): Promise<string> {
    if (this.#ctl === undefined) throw new Error("The guest command channel is not connected");
    const from = await this.consoleLength();
    await this.#ctl.write(new TextEncoder().encode(line + "\n"));
    const word = line.split(" ")[0];
    const done = new RegExp(`DONE ${word}`);
    await this.waitConsole(done, timeoutMs, from);
    // The answer is the whole line that ends in DONE (meminfo prints before it).
    const text = (await Deno.readTextFile(this.files.console)).slice(from);
    const at = text.search(done);
    const start = text.lastIndexOf("\n", at) + 1;
    const end = text.indexOf("\n", at);
    return text.slice(start, end < 0 ? undefined : end).trim();
  }

  /** Resident memory of this QEMU process in KiB (VmRSS of /proc/PID/status). */
  async rssKiB(): Promise<number> {
    // Deno asks for --allow-all to read /proc/PID/*; cat reads it under --allow-run.
    const out = await new Deno.Command("cat", {
      args: [`/proc/${this.pid}/status`],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const s = new TextDecoder().decode(out.stdout);
    const m = /VmRSS:\s+(\d+) kB/.exec(s);
    if (m === null) throw new Error(`No VmRSS in /proc/${this.pid}/status`);
    return Number(m[1]);
  }

  /** Sets the balloon target as QEMU does: the guest-visible RAM size in bytes. */
  async balloon(bytes: number): Promise<void> {
    await this.qmp.execute("balloon", { value: bytes });
  }

  /** query-balloon: the guest-visible RAM in bytes (RAM minus actual). */
  async queryBalloon(): Promise<number> {
    const r = await this.qmp.execute("query-balloon") as { actual: number };
    return r.actual;
  }

  /** Polls query-balloon until it equals `bytes` (or the timeout); returns the last value. */
  async waitBalloon(bytes: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = await this.queryBalloon();
    while (last !== bytes && Date.now() < deadline) {
      await sleep(200);
      last = await this.queryBalloon();
    }
    return last;
  }

  /** Whether QEMU has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Stops this QEMU (quit over QMP, then SIGTERM, then SIGKILL, by its own pid only). */
  async stop(): Promise<void> {
    this.#ctl?.close();
    if (!this.#exited && this.#qmp !== undefined) {
      await this.#qmp.execute("quit", {}, 3000).catch(() => {});
    }
    const wait = (ms: number) =>
      Promise.race([this.#status.then(() => true), sleep(ms).then(() => false)]);
    if (!(await wait(5000))) {
      try {
        Deno.kill(this.pid, "SIGTERM");
      } catch {
        // gone
      }
      if (!(await wait(3000))) {
        try {
          Deno.kill(this.pid, "SIGKILL");
        } catch {
          // gone
        }
        await wait(3000);
      }
    }
    this.#qmp?.close();
    // stderr ends when QEMU does; a QEMU that outlived SIGKILL must not hang the suite
    await Promise.race([this.#drained, sleep(3000)]);
  }
}
