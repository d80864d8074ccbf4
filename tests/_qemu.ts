/**
 * A real QEMU guest for tests, driven through this repository's `nx qemu` and `nx pkg
 * --transport`: its state directory (under a temp XDG_RUNTIME_DIR), its own host identity and
 * config, its console log, its monitor, its QEMU process. The image cache is the user's (a build
 * is minutes; `nx qemu build` is a no-op once it is there).
 *
 * Waits are conditions — a console marker, a process gone, a ping answered — polled; the bounds
 * are parameters (a guest that never gets there fails the test instead of hanging it).
 */
import { join } from "node:path";
import { guestPaths, monitorCommand } from "../core/qemu/mod.ts";
import { FIXTURES, nx, type NxRun, tempDir } from "./helpers.ts";

/** qemu-system-x86_64 can be started (else the QEMU tests are skipped, saying so). */
export const QEMU_AVAILABLE = await (async () => {
  try {
    const o = await new Deno.Command("qemu-system-x86_64", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return o.success;
  } catch { // not installed: spawning it throws
    return false;
  }
})();

/** The polling interval of every wait, and the default bound of a boot (TCG: seconds). */
const POLL_MS = 50;
export const BOOT_BOUND_MS = 300_000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many lines of `text` contain `marker` (the harness's fixed-substring match). */
export const countLines = (text: string, marker: string) =>
  text.split("\n").filter((l) => l.includes(marker)).length;

/**
 * One QEMU test at a time per test run (a lock file under the run's TMPDIR): two TCG guests on a
 * 2-core machine already busy with the suite slow each other down past the guest root's
 * migration time limit. Hold it for the whole time a guest runs.
 */
export async function guestTurn(): Promise<Disposable> {
  const path = join(Deno.env.get("TMPDIR") ?? "/tmp", "nx-qemu-tests.lock");
  const file = await Deno.open(path, { create: true, write: true });
  await file.lock(true);
  return { [Symbol.dispose]: () => file.close() };
}

/**
 * A host for guests: its own runtime dir (the guests' state), config dir and identity key
 * (`host.key`, `host.pub` in `dir`), so test files never share a guest or known_agents.
 */
export async function qemuHost(prefix: string) {
  const dir = await tempDir(prefix);
  const env = {
    XDG_RUNTIME_DIR: join(dir, "run"),
    XDG_CONFIG_HOME: join(dir, "config"),
    NX_IDENTITY: join(dir, "host.key"),
  };
  await Deno.mkdir(env.XDG_RUNTIME_DIR, { mode: 0o700 });
  const keygen = await nx(["pkg", "keygen", "--out", dir, "--name", "host", "--json"]);
  if (keygen.code !== 0) throw new Error(`keygen: ${keygen.stdout}${keygen.stderr}`);
  return { dir, env };
}

export interface UpData {
  name: string;
  serial: string;
  tcp: string;
  pid: number;
  console: string;
  bootSeconds: number;
}

export class Guest implements AsyncDisposable {
  private constructor(
    readonly name: string,
    readonly dir: string,
    /** The environment of every nx this guest's tests run. */
    readonly env: Record<string, string>,
    public up: UpData,
  ) {}

  /** Boots a fresh guest that trusts the fixture dev key and lets this test's host key in. */
  static async boot(name: string): Promise<Guest> {
    const { dir, env } = await qemuHost("nx-qemu-");
    const guest = new Guest(name, dir, env, undefined as unknown as UpData);
    guest.up = await guest.start(["--fresh", "--trust", join(FIXTURES, "keys", "dev.pub")]);
    return guest;
  }

  /** `nx qemu up` (again, without --fresh: the same state disk) until ready. */
  async start(extra: string[] = []): Promise<UpData> {
    const run = await this.nx([
      "qemu",
      "up",
      "--name",
      this.name,
      "--authorize",
      join(this.dir, "host.pub"),
      // A loaded CI machine boots slowly under TCG: a bound against a hang, not a target.
      "--timeout",
      String(BOOT_BOUND_MS / 1000),
      ...extra,
      "--json",
    ]);
    if (run.code !== 0) throw new Error(`nx qemu up: ${run.stdout}${run.stderr}`);
    this.up = run.json!.data as UpData;
    return this.up;
  }

  nx(args: string[]): Promise<NxRun> {
    return nx(args, { env: this.env });
  }

  /** `nx pkg <args> --transport <serial|tcp> --json`. */
  pkg(via: "serial" | "tcp", args: string[]): Promise<NxRun> {
    const bound = String(BOOT_BOUND_MS / 1000);
    return this.nx(["pkg", ...args, "--transport", this.up[via], "--timeout", bound, "--json"]);
  }

  async console(): Promise<string> {
    return await Deno.readTextFile(this.up.console).catch(() => "");
  }

  /** Resolves once `marker` is on more than `seen` lines of the console. */
  async waitConsole(marker: string, seen: number, boundMs = BOOT_BOUND_MS): Promise<void> {
    const until = Date.now() + boundMs;
    while (countLines(await this.console(), marker) <= seen) {
      if (Date.now() > until) {
        const tail = (await this.console()).split("\n").slice(-40).join("\n");
        throw new Error(`guest ${this.name}: no new "${marker}" on the console:\n${tail}`);
      }
      await pause(POLL_MS);
    }
  }

  /** Resolves once a call over TCP is answered (user networking accepts before the agent). */
  async waitAnswering(boundMs = BOOT_BOUND_MS): Promise<void> {
    const until = Date.now() + boundMs;
    for (;;) {
      const run = await this.pkg("tcp", ["list"]);
      if (run.code === 0) return;
      if (Date.now() > until) throw new Error(`guest ${this.name} does not answer: ${run.stdout}`);
      await pause(POLL_MS * 4);
    }
  }

  /** One command of QEMU's human monitor (`system_reset`, …), once it has run. */
  async monitor(command: string): Promise<void> {
    const env = (n: string) => this.env[n] ?? Deno.env.get(n);
    await monitorCommand(guestPaths(env, this.name).monitorSocket, command);
  }

  /** SIGKILL of QEMU itself (no shutdown of any kind); resolves once it is gone. */
  async killQemu(): Promise<void> {
    const pid = this.up.pid;
    Deno.kill(pid, "SIGKILL");
    while (await Deno.stat(`/proc/${pid}`).then(() => true, () => false)) {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) break; // reaped by no one of ours
      await pause(POLL_MS);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.nx(["qemu", "down", "--name", this.name]);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
