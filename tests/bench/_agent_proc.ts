/**
 * `nx agent` subprocesses for the agent suite, started as users start them (bin/nx agent), each
 * on its own root and a free loopback port; and the host's side of the CLI (identity, config).
 *
 * An agent is long-running: its root is reset between samples (removed and copied again from a
 * template, untimed) while it is idle. That is a fresh root for the agent, as a fresh copy is for
 * a local install: the Pkgr keeps nothing between calls (core/pkgr/pkgr.ts), and the recent
 * uploads the agent remembers point into the removed root, so its content store finds nothing
 * there (content_store.ts re-reads every source and counts a missing one as missing). The suite
 * checks that an upload after a reset sends every byte.
 */
import { join } from "node:path";
import { type Cmd, runProcess } from "./_measure.ts";
import { NX_BIN, NX_ENV, nxOk } from "./_nx.ts";
import { REPO } from "../helpers.ts";

/** The host's key pair (identity for the CLI, the .pub an agent authorizes) and its config dir. */
export interface HostSide {
  identity: string;
  authorizedKeys: string;
  /** XDG_CONFIG_HOME of every host run: known_agents stays in the scratch directory. */
  configHome: string;
  /**
   * NX_ROOT of every host run: a path that must stay absent. A host run that fell back to a
   * local root would create it (and never touch the user's default root).
   */
  localRoot: string;
}

export async function hostSide(dir: string): Promise<HostSide> {
  const keys = join(dir, "host-keys");
  await nxOk(["pkg", "keygen", "--out", keys, "--name", "host"]);
  const configHome = join(dir, "host-config");
  await Deno.mkdir(configHome);
  return {
    identity: join(keys, "host.key"),
    authorizedKeys: join(keys, "host.pub"),
    configHome,
    localRoot: join(dir, "host-local-root"),
  };
}

/** Throws if a host run acted on a local root instead of an agent's. */
export async function expectNoLocalRoot(host: HostSide): Promise<void> {
  const found = await Deno.lstat(host.localRoot).then(() => true, () => false);
  if (found) throw new Error(`cannot trust the agent rows: a host run made ${host.localRoot}`);
}

/** `bin/nx <args> --identity <host key>`, as a user on the host runs a remote command. */
export function hostCmd(host: HostSide, args: string[]): Cmd {
  return {
    cmd: NX_BIN,
    args: [...args, "--identity", host.identity],
    cwd: REPO,
    env: {
      ...NX_ENV,
      XDG_CONFIG_HOME: host.configHome,
      NX_ROOT: host.localRoot,
      NX_TRANSPORT: "",
      NX_IDENTITY: "",
    },
  };
}

/** A fresh copy of `template` at `root`, replacing what was there (untimed preparation). */
export async function resetRoot(template: string, root: string): Promise<void> {
  await Deno.remove(root, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await runProcess({ cmd: "cp", args: ["-a", "--", template, root] });
}

export interface Memory {
  /** Resident set now, and its peak (VmHWM), in MiB. */
  rss: number;
  peak: number;
}

/** One running `nx agent --root … --listen tcp:127.0.0.1:0 --authorized-keys …`. */
export class AgentProcess {
  readonly #child: Deno.ChildProcess;
  readonly #log: string[];
  readonly #drained: Promise<void>;

  private constructor(
    readonly root: string,
    readonly port: number,
    child: Deno.ChildProcess,
    log: string[],
    drained: Promise<void>,
  ) {
    this.#child = child;
    this.#log = log;
    this.#drained = drained;
  }

  /** `tcp:127.0.0.1:PORT`, as --transport takes it. */
  get target(): string {
    return `tcp:127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** Starts the agent and waits for `pkgr: ready`; its stderr is drained for as long as it runs. */
  static async start(root: string, host: HostSide): Promise<AgentProcess> {
    const child = new Deno.Command(NX_BIN, {
      args: [
        "agent",
        "--root",
        root,
        "--listen",
        "tcp:127.0.0.1:0",
        "--authorized-keys",
        host.authorizedKeys,
      ],
      cwd: REPO,
      env: NX_ENV,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const log: string[] = [];
    let ready!: (port: number | undefined) => void;
    const readyPort = new Promise<number | undefined>((resolve) => (ready = resolve));
    let port: number | undefined;
    const drained = (async () => {
      let rest = "";
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        const lines = (rest + text).split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          log.push(line);
          if (log.length > 200) log.shift(); // a long run prints markers for every call
          const listening = line.match(/^agent: listening tcp:127\.0\.0\.1:(\d+)$/);
          if (listening) port = Number(listening[1]);
          if (line === "pkgr: ready") ready(port);
        }
      }
      ready(undefined); // stderr ended: the agent stopped before (or after) it was ready
    })();
    const got = await readyPort;
    if (got === undefined) {
      const status = await child.status;
      throw new Error(
        `cannot start nx agent on ${root}: exit ${status.code} before \`pkgr: ready\`\n` +
          log.join("\n"),
      );
    }
    return new AgentProcess(root, got, child, log, drained);
  }

  /** The agent's last stderr lines (for error messages). */
  log(): string {
    return this.#log.join("\n");
  }

  /** SIGTERM (the agent drains and exits 0); anything else is an error. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already gone: its status says how
    }
    const status = await this.#child.status;
    await this.#drained;
    if (status.code !== 0) {
      throw new Error(`nx agent on ${this.root} exited ${status.code} on SIGTERM\n${this.log()}`);
    }
  }
}

/**
 * The agents' resident memory now and at its peak (VmRSS, VmHWM of /proc/PID/status; bin/nx execs
 * Deno, so the child is the agent itself). Read by `grep` in one process: Deno lets a script read
 * /proc only with --allow-all, which the bench task does not grant.
 */
export async function memoryOf(agents: AgentProcess[]): Promise<Memory[]> {
  const files = agents.map((a) => `/proc/${a.pid}/status`);
  const out = await runProcess({ cmd: "grep", args: ["-H", "-E", "^Vm(RSS|HWM):", ...files] });
  const kib = new Map<string, number>();
  for (const line of out.stdout.trim().split("\n")) {
    const m = line.match(/^(.+):(Vm\w+):\s+(\d+) kB$/);
    if (m) kib.set(`${m[1]} ${m[2]}`, Number(m[3]));
  }
  return files.map((f) => {
    const rss = kib.get(`${f} VmRSS`);
    const peak = kib.get(`${f} VmHWM`);
    if (rss === undefined || peak === undefined) throw new Error(`cannot read the memory in ${f}`);
    return { rss: rss / 1024, peak: peak / 1024 };
  });
}

/** User + system CPU each agent has used so far, in ms (/proc/PID/stat, ticks of 10 ms). */
export async function cpuMsOf(agents: AgentProcess[]): Promise<number[]> {
  const out = await runProcess({ cmd: "cat", args: agents.map((a) => `/proc/${a.pid}/stat`) });
  const lines = out.stdout.trim().split("\n");
  if (lines.length !== agents.length) throw new Error("cannot read the agents' CPU times");
  return lines.map((line) => {
    const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15)
  });
}

/** Starts one agent per root, `at` a time (start-up is CPU-bound: two cores here). */
export async function startAgents(
  roots: string[],
  host: HostSide,
  at = 4,
): Promise<AgentProcess[]> {
  const agents: AgentProcess[] = new Array(roots.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < roots.length; i = next++) {
      agents[i] = await AgentProcess.start(roots[i], host);
    }
  };
  const workers = Array.from({ length: Math.min(at, roots.length) }, worker);
  const settled = await Promise.allSettled(workers);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) {
    await stopAll(agents.filter((a) => a !== undefined));
    throw (failed as PromiseRejectedResult).reason;
  }
  return agents;
}

/** Stops every agent (all of them, even when one fails), then reports the first failure. */
export async function stopAll(agents: AgentProcess[]): Promise<void> {
  const settled = await Promise.allSettled(agents.map((a) => a.stop()));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
