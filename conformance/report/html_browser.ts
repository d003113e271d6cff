/**
 * Headless Chromium for testing the HTML reports in a real browser: finds
 * Debian's `chromium` (installing it with apt-get when it is missing and we
 * are root, through the same code that installs QEMU), and drives one page
 * over the DevTools protocol on Deno's built-in WebSocket. It records console
 * errors, uncaught exceptions, dialogs and every request the page makes.
 *
 * Only tests and benchmarks import this module: `deno task conform` never
 * loads it. (It needs no npm package: every npm package in `deno.lock` is
 * downloaded by any `deno task`, conform included.)
 *
 * @module
 */

import { ensureDebianProgram } from "../targets/qemu/setup.ts";

/** Where Debian puts Chromium. */
export const CHROMIUM_PATHS: readonly string[] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** The flags Chromium runs with (besides the profile directory and the debugging port). */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--hide-scrollbars",
  "--mute-audio",
];

/** Longest one DevTools call, the browser's start or its exit may take. */
const STEP_TIMEOUT_MS = 30_000;

/** Chromium's path, or why there is none. */
export type ChromiumLookup = { readonly path: string } | { readonly reason: string };

/**
 * Finds Chromium; when it is missing and we are root, installs Debian's
 * `chromium` package (`apt-get install -y --no-install-recommends chromium`,
 * with `apt-get update` and one retry when that fails; every apt command has
 * a timeout). Never throws: a browser that cannot be had is a reason.
 */
export async function findChromium(log: (s: string) => void = () => {}): Promise<ChromiumLookup> {
  try {
    return { path: await ensureDebianProgram(CHROMIUM_PATHS, { package: "chromium", log }) };
  } catch (e) {
    return { reason: e instanceof Error ? e.message : String(e) };
  }
}

/** Something the page reported that a clean page does not. */
export interface PageProblem {
  /** `console` (console.error/assert), `exception` (uncaught), `log` (the browser's own log) or `dialog`. */
  readonly kind: "console" | "exception" | "log" | "dialog";
  /** What it said. */
  readonly text: string;
}

interface Pending {
  resolve(value: Record<string, unknown>): void;
  reject(error: Error): void;
}

type Listener = (params: Record<string, unknown>) => void;

/** Options of {@link launchChromium}. */
export interface LaunchOptions {
  /** Viewport width in CSS pixels (default 1400). */
  readonly width?: number;
  /** Viewport height in CSS pixels (default 900). */
  readonly height?: number;
}

/**
 * One headless Chromium with one page, driven over the DevTools protocol.
 * Close it with {@link BrowserPage.close} (it ends the browser by its own
 * process id when it does not exit by itself, and removes its profile).
 */
export class BrowserPage {
  #child: Deno.ChildProcess;
  #socket: WebSocket;
  #profile: string;
  #session = "";
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #listeners = new Map<string, Listener[]>();
  #stderr: Promise<void>;
  #closed = false;
  /** Console errors, exceptions, browser log errors and dialogs, in order. */
  readonly problems: PageProblem[] = [];
  /** Every URL the page requested. */
  readonly requests: string[] = [];

  /** Wraps a started browser; use {@link launchChromium} to get one. */
  constructor(
    child: Deno.ChildProcess,
    socket: WebSocket,
    profile: string,
    stderr: Promise<void>,
  ) {
    this.#child = child;
    this.#socket = socket;
    this.#profile = profile;
    this.#stderr = stderr;
    socket.addEventListener("message", (e) => this.#receive(String(e.data)));
    socket.addEventListener("close", () => {
      for (const p of this.#pending.values()) p.reject(new Error("Chromium closed the connection"));
      this.#pending.clear();
    });
  }

  /** Starts Chromium at `path` with a fresh profile and opens a blank page. */
  static async launch(path: string, options: LaunchOptions = {}): Promise<BrowserPage> {
    const profile = await Deno.makeTempDir({ prefix: "report-chromium-" });
    const child = new Deno.Command(path, {
      args: [
        ...CHROMIUM_FLAGS,
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const lines: string[] = [];
    let found: (url: string) => void = () => {};
    const url = new Promise<string>((resolve) => (found = resolve));
    // read stderr to its end (a full pipe would stall Chromium); the first DevTools line gives the URL
    const stderr = (async () => {
      let rest = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        const parts = rest.split("\n");
        rest = parts.pop() ?? "";
        for (const l of parts) {
          const m = /DevTools listening on (ws:\/\/\S+)/.exec(l);
          if (m !== null) found(m[1] as string);
          else if (lines.length < 200) lines.push(l);
        }
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Chromium did not start within ${STEP_TIMEOUT_MS / 1000} s`)),
        STEP_TIMEOUT_MS,
      );
    });
    const exited = child.status.then((s) => {
      throw new Error(
        `Chromium exited with code ${s.code} before it listened: ${lines.join(" | ")}`,
      );
    });
    let page: BrowserPage | undefined;
    try {
      const ws = await Promise.race([url, late, exited]);
      const socket = new WebSocket(ws);
      await Promise.race([
        new Promise((resolve, reject) => {
          socket.addEventListener("open", resolve, { once: true });
          socket.addEventListener("error", () => reject(new Error(`Cannot connect to ${ws}`)), {
            once: true,
          });
        }),
        late,
      ]);
      page = new BrowserPage(child, socket, profile, stderr);
      await page.#open(options);
      return page;
    } catch (e) {
      if (page !== undefined) await page.close();
      else {
        await stop(child);
        await stderr.catch(() => {});
        await Deno.remove(profile, { recursive: true }).catch(() => {});
      }
      throw e;
    } finally {
      clearTimeout(timer);
      exited.catch(() => {});
    }
  }

  async #open(options: LaunchOptions): Promise<void> {
    const { targetId } = await this.#call("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.#call("Target.attachToTarget", { targetId, flatten: true });
    this.#session = String(sessionId);
    this.#on("Runtime.consoleAPICalled", (p) => {
      if (p.type !== "error" && p.type !== "assert") return;
      const args = (p.args as { value?: unknown; description?: string }[] | undefined) ?? [];
      this.problems.push({
        kind: "console",
        text: args.map((a) => a.description ?? String(a.value)).join(" "),
      });
    });
    this.#on("Runtime.exceptionThrown", (p) => {
      const d = p.exceptionDetails as
        | { text?: string; exception?: { description?: string } }
        | undefined;
      this.problems.push({
        kind: "exception",
        text: d?.exception?.description ?? d?.text ?? "exception",
      });
    });
    this.#on("Log.entryAdded", (p) => {
      const e = p.entry as { level?: string; text?: string; url?: string } | undefined;
      if (e?.level === "error") {
        this.problems.push({ kind: "log", text: `${e.text ?? ""}${e.url ? ` (${e.url})` : ""}` });
      }
    });
    this.#on("Page.javascriptDialogOpening", (p) => {
      this.problems.push({ kind: "dialog", text: String(p.message) });
      this.#call("Page.handleJavaScriptDialog", { accept: false }, true).catch(() => {});
    });
    this.#on("Network.requestWillBeSent", (p) => {
      this.requests.push(String((p.request as { url?: string } | undefined)?.url));
    });
    for (const domain of ["Page", "Runtime", "Log", "Network"]) {
      await this.#call(`${domain}.enable`, {}, true);
    }
    await this.#call("Emulation.setDeviceMetricsOverride", {
      width: options.width ?? 1400,
      height: options.height ?? 900,
      deviceScaleFactor: 1,
      mobile: false,
    }, true);
  }

  #receive(text: string): void {
    const msg = JSON.parse(text) as {
      id?: number;
      method?: string;
      params?: Record<string, unknown>;
      result?: Record<string, unknown>;
      error?: { message: string };
      sessionId?: string;
    };
    if (msg.id !== undefined) {
      const p = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (msg.error !== undefined) p?.reject(new Error(`DevTools: ${msg.error.message}`));
      else p?.resolve(msg.result ?? {});
      return;
    }
    if (msg.method === undefined || (msg.sessionId ?? "") !== this.#session) return;
    for (const l of this.#listeners.get(msg.method) ?? []) l(msg.params ?? {});
  }

  #on(method: string, listener: Listener): () => void {
    const list = this.#listeners.get(method) ?? [];
    list.push(listener);
    this.#listeners.set(method, list);
    return () => list.splice(list.indexOf(listener), 1);
  }

  #call(
    method: string,
    params: Record<string, unknown>,
    inPage = false,
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const msg = { id, method, params, ...(inPage ? { sessionId: this.#session } : {}) };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`DevTools call ${method} did not answer within ${STEP_TIMEOUT_MS} ms`));
      }, STEP_TIMEOUT_MS);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#socket.send(JSON.stringify(msg));
    });
  }

  /** Waits for the next event `method` of the page (with a timeout). */
  #nextEvent(method: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`No ${method} within ${STEP_TIMEOUT_MS} ms`));
      }, STEP_TIMEOUT_MS);
      const off = this.#on(method, (p) => {
        clearTimeout(timer);
        off();
        resolve(p);
      });
    });
  }

  /** Opens `url` and waits for its load event. */
  async goto(url: string): Promise<void> {
    const loaded = this.#nextEvent("Page.loadEventFired");
    const r = await this.#call("Page.navigate", { url }, true);
    if (typeof r.errorText === "string" && r.errorText !== "") {
      loaded.catch(() => {});
      throw new Error(`Cannot open ${url}: ${r.errorText}`);
    }
    await loaded;
  }

  /** Evaluates `expression` in the page (promises awaited) and returns its value as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.#call("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    }, true);
    const ex = r.exceptionDetails as
      | { text?: string; exception?: { description?: string } }
      | undefined;
    if (ex !== undefined) {
      throw new Error(
        `Evaluation failed: ${ex.exception?.description ?? ex.text ?? "exception"}`,
      );
    }
    return (r.result as { value?: T } | undefined)?.value as T;
  }

  /** Emulates a media type (`print`, `screen`) for CSS and `matchMedia`. */
  async emulateMedia(media: "print" | "screen"): Promise<void> {
    await this.#call("Emulation.setEmulatedMedia", { media }, true);
  }

  /** Saves a PNG of the viewport (or of the whole page) to `path`. */
  async screenshot(path: string, options: { fullPage?: boolean } = {}): Promise<void> {
    const r = await this.#call("Page.captureScreenshot", {
      format: "png",
      ...(options.fullPage ? { captureBeyondViewport: true } : {}),
    }, true);
    await Deno.writeFile(path, Uint8Array.from(atob(String(r.data)), (c) => c.charCodeAt(0)));
  }

  /** Prints the page to PDF (print media) and saves it to `path`; returns its size in bytes. */
  async pdf(path: string): Promise<number> {
    const r = await this.#call("Page.printToPDF", { printBackground: true }, true);
    const bytes = Uint8Array.from(atob(String(r.data)), (c) => c.charCodeAt(0));
    await Deno.writeFile(path, bytes);
    return bytes.length;
  }

  /** Closes the browser, stops it by its process id if it lingers, and removes its profile. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#call("Browser.close", {}).catch(() => {});
    if (this.#socket.readyState === WebSocket.OPEN) {
      const closed = new Promise((resolve) =>
        this.#socket.addEventListener("close", resolve, { once: true })
      );
      this.#socket.close();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
    }
    await stop(this.#child);
    await this.#stderr.catch(() => {});
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

/** Waits for Chromium to exit; kills it (our own child, by its pid) when it does not. */
async function stop(child: Deno.ChildProcess): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), 5000)));
  const done = await Promise.race([child.status, late]);
  clearTimeout(timer);
  if (done === "late") {
    try {
      child.kill("SIGKILL");
    } catch {
      // it exited meanwhile
    }
    await child.status;
  }
}

/** Opens Chromium at `path` (see {@link BrowserPage.launch}). */
export function launchChromium(path: string, options: LaunchOptions = {}): Promise<BrowserPage> {
  return BrowserPage.launch(path, options);
}
