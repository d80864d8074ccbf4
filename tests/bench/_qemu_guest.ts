/**
 * QEMU suite, the guests: booted and powered off through this repository's `bin/nx qemu up|down`
 * (as users do), on a host of the suite's own (tests/_qemu.ts qemuHost: its own XDG_RUNTIME_DIR,
 * config dir and identity key, so another run's guests and known_agents are never touched).
 *
 * A bench guest boots with `nx.bench=1` on its kernel command line (NX_QEMU_APPEND): its init
 * starts the raw sink on tcp 7421 once the agent listens (qemu/guest/init). User networking
 * forwards only the agent's port, so {@link BenchGuest.forwardSink} adds a second host
 * forwarding through QEMU's monitor (`hostfwd_add`) instead of a change to the QEMU command line.
 */
import { join } from "node:path";
import { guestPaths, monitorCommand } from "../../core/qemu/mod.ts";
import { GUEST_AGENT_PORT } from "../../core/qemu/mod.ts";
import { type Cmd, runProcess } from "./_measure.ts";
import { DEV_PUB, NX_BIN, NX_ENV } from "./_nx.ts";
import { REPO } from "../helpers.ts";

/** The guest's raw sink port (qemu/guest/init, nx.bench=1). */
export const SINK_PORT = GUEST_AGENT_PORT + 1;
const BRIDGE_DONE = "] bench: serial connection done";
/** A bound against a guest that never gets ready (TCG on a loaded machine: minutes), not a target. */
const BOOT_BOUND_S = 300;

/** The host the suite's guests belong to. */
export interface QemuHost {
  dir: string;
  /** The environment of every bin/nx the suite runs against its guests. */
  env: Record<string, string>;
  identity: string;
  authorizedKey: string;
}

export async function benchHost(): Promise<QemuHost> {
  // Imported once QEMU is known to be there: tests/_qemu.ts probes for it as it loads, and its
  // probe throws where qemu-system-x86_64 is missing (which must leave the bench running).
  const { qemuHost } = await import("../_qemu.ts");
  const { dir, env } = await qemuHost("nx-bench-qemu-");
  return {
    dir,
    // NX_QEMU_APPEND and NX_TRANSPORT of the caller's shell must not reach these runs.
    env: { ...NX_ENV, ...env, NX_QEMU_APPEND: "", NX_TRANSPORT: "" },
    identity: env.NX_IDENTITY,
    authorizedKey: join(dir, "host.pub"),
  };
}

/** `bin/nx <args>` for the suite's host. */
export function qemuCmd(host: QemuHost, args: string[], env: Record<string, string> = {}): Cmd {
  return { cmd: NX_BIN, args, cwd: REPO, env: { ...host.env, ...env } };
}

/** What `nx qemu up --json` reports (core/qemu vm.ts VmRecord). */
interface UpData {
  serial: string;
  tcp: string;
  pid: number;
  console: string;
  bootSeconds: number;
}

/** The guest's uptime (s) on init's first console line and on its `starting agent` line. */
export interface BootStamps {
  init: number;
  startingAgent: number;
}

export class BenchGuest {
  private constructor(
    readonly host: QemuHost,
    readonly name: string,
    readonly up: UpData,
    /** The wall time of the whole `nx qemu up` process (image check, boot, a ping per transport). */
    readonly upMs: number,
  ) {}

  /** `nx qemu up --fresh` (a copy of the image's state template) that trusts the dev key. */
  static async boot(host: QemuHost, name: string, bench: boolean): Promise<BenchGuest> {
    const run = await runProcess(qemuCmd(host, [
      "qemu",
      "up",
      "--name",
      name,
      "--fresh",
      "--trust",
      DEV_PUB,
      "--authorize",
      host.authorizedKey,
      "--timeout",
      String(BOOT_BOUND_S),
      "--json",
    ], { NX_QEMU_APPEND: bench ? "nx.bench=1" : "" }));
    const data = JSON.parse(run.stdout).data as UpData;
    return new BenchGuest(host, name, data, run.ms);
  }

  get bootMs(): number {
    return this.up.bootSeconds * 1000;
  }

  /** The `serial:` or `tcp:` transport string. */
  target(via: Via): string {
    return this.up[via];
  }

  /** The host port `tcp:` forwards to the agent. */
  get agentPort(): number {
    return Number(this.up.tcp.slice(this.up.tcp.lastIndexOf(":") + 1));
  }

  /** The unix socket of the virtio-serial port (QEMU's chardev). */
  get serialSocket(): string {
    return this.up.serial.slice("serial:".length);
  }

  async console(): Promise<string> {
    return await Deno.readTextFile(this.up.console);
  }

  async bootStamps(): Promise<BootStamps> {
    const text = await this.console();
    const stamp = (what: RegExp) => {
      const m = text.match(new RegExp(`^nx-init: \\[([0-9.]+)\\] ${what.source}`, "m"));
      if (!m) throw new Error(`cannot time the boot: no ${what.source} line on the console`);
      return Number(m[1]) * 1000;
    };
    return { init: stamp(/image /), startingAgent: stamp(/starting agent$/) };
  }

  /** Resolves once `line` is on the console (the sink starts after the agent: seconds). */
  async waitConsole(line: string, boundMs = BOOT_BOUND_S * 1000): Promise<void> {
    for (const start = performance.now(); !(await this.console()).includes(line);) {
      if (performance.now() - start > boundMs) {
        throw new Error(`guest ${this.name}: no "${line}" on the console after ${boundMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * CPU time QEMU has used so far (ms, all its threads: the vCPU under TCG, the I/O thread,
   * slirp), from /proc/PID/stat through `cat` (Deno reads /proc only with --allow-all).
   */
  async cpuMs(): Promise<number> {
    const stat = (await runProcess({ cmd: "cat", args: [`/proc/${this.up.pid}/stat`] })).stdout;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime: ticks of 10 ms
  }

  /** How many serial connections the guest's bridge has finished (nx.bench=1's console line). */
  async bridgeRuns(): Promise<number> {
    return (await this.console()).split("\n").filter((l) => l.includes(BRIDGE_DONE)).length;
  }

  /**
   * Resolves once the bridge finished more than `runs` connections. A serial connection opened
   * while nc still bridges the last one loses its first bytes to it (measured: 14 of 15
   * back-to-back sessions failed their handshake), so every serial connection of the suite
   * reads `runs` while it is open (its own nc runs: every earlier one has logged) and waits
   * for this after its close, untimed.
   */
  async bridgeDone(runs: number, boundMs = 60_000): Promise<void> {
    for (const start = performance.now(); await this.bridgeRuns() <= runs;) {
      if (performance.now() - start > boundMs) {
        throw new Error(`guest ${this.name}: its serial bridge still runs after ${boundMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /**
   * A host port forwarded to the guest's sink (`hostfwd_add` on the monitor; a port taken
   * meanwhile is retried), checked in `info usernet`.
   */
  async forwardSink(): Promise<number> {
    const monitor = guestPaths((n) => this.host.env[n], this.name).monitorSocket;
    for (let attempt = 1;; attempt++) {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      listener.close();
      await monitorCommand(monitor, `hostfwd_add n0 tcp:127.0.0.1:${port}-:${SINK_PORT}`);
      const table = await monitorCommand(monitor, "info usernet");
      const forwarded = new RegExp(
        `HOST_FORWARD\\].*127\\.0\\.0\\.1\\s+${port}\\s.*\\s${SINK_PORT}\\s`,
      );
      if (forwarded.test(table)) return port;
      if (attempt === 3) throw new Error(`cannot forward a host port to the sink:\n${table}`);
    }
  }

  /** `nx qemu down` (clean power-off; QEMU killed after its timeout). */
  async down(): Promise<void> {
    await runProcess(qemuCmd(this.host, ["qemu", "down", "--name", this.name, "--json"]));
  }
}

export type Via = "serial" | "tcp";
export const TRANSPORTS: Via[] = ["serial", "tcp"];
