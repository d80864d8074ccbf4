/**
 * The VM lifecycle behind `nx qemu up|down|status`: one daemonized QEMU per named guest, its
 * files in the guest's state directory (paths.ts). `up` builds the image when needed, starts
 * QEMU, waits for the boot's `pkgr: ready` on the console, then pings the agent over both
 * transports (user networking accepts TCP before the agent listens, and a virtio-serial host
 * connection may come before the guest opened its port: both are retried until the deadline).
 * `down` asks for an ACPI power-off through the monitor and kills QEMU when the guest does not
 * go within the timeout.
 */
import { NxError } from "../errors.ts";
import type { KeyPair } from "../trust/mod.ts";
import { connect, type KnownAgents, parseTarget } from "../transport/mod.ts";
import { makeExt4 } from "./_disk.ts";
import { copySparse, STATE_DISK_BYTES } from "./_warmup.ts";
import { kill, processMatches, procInfo, readPidFile, waitGone } from "./_proc.ts";
import { findTool, lastLines, run } from "./_run.ts";
import { tailLines, waitForConsole } from "./console.ts";
import { buildImage, type Image } from "./image.ts";
import { monitorCommand } from "./monitor.ts";
import { type Env, type GuestPaths, guestPaths, guestsDir } from "./paths.ts";
import { type Accel, kernelCommandLine, optionValue, qemuArgs, shellLine } from "./qemu_args.ts";

export const QEMU = "qemu-system-x86_64";
export { STATE_DISK_BYTES };

/** What `up` started, kept in the state directory as vm.json (and given as `--json` data). */
export interface VmRecord {
  name: string;
  pid: number;
  /** The two transports to reach the guest's agent. */
  serial: string;
  tcp: string;
  console: string;
  stateDir: string;
  image: string;
  accel: Accel;
  memoryMiB: number;
  selftest: boolean;
  /** QEMU start to `pkgr: ready` on the console; null while booting. */
  bootSeconds: number | null;
  /** The QEMU command line (without -daemonize, as one runs it by hand). */
  command: string;
}

export interface UpOptions {
  env: Env;
  repo: string;
  cache: string;
  name: string;
  fresh: boolean;
  /** PEM public keys the agent lets in (at least one). */
  authorize: string[];
  /** PEM public keys of the publishers the guest's root trusts. */
  trust: string[];
  /** PEM public keys of the stores the guest's root trusts to sign entitlements. */
  trustStores: string[];
  memoryMiB: number;
  selftest: boolean;
  accel: Accel;
  /** From QEMU's start to a ping over each transport. */
  timeoutMs: number;
  /** The host's key, for the pings (one of `authorize`). */
  identity: KeyPair;
  knownAgents?: KnownAgents;
  log: (line: string) => void;
  verbose: (line: string) => void;
}

export interface UpResult {
  record: VmRecord;
  /** False: the guest was running already (nothing started). */
  started: boolean;
  image: Image;
}

/** The guest's QEMU pid while it runs. */
export async function runningPid(paths: GuestPaths): Promise<number | undefined> {
  const pid = await readPidFile(paths.pid);
  return pid !== undefined && await processMatches(pid, optionValue(paths.monitorSocket))
    ? pid
    : undefined;
}

export async function readRecord(paths: GuestPaths): Promise<VmRecord | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(paths.record)) as VmRecord;
  } catch {
    return undefined;
  }
}

async function writeRecord(paths: GuestPaths, record: VmRecord): Promise<void> {
  const tmp = `${paths.record}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(record, null, 2) + "\n");
  await Deno.rename(tmp, paths.record);
}

/** A free TCP port on 127.0.0.1 now (QEMU binds it a moment later; a lost race is retried). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function removeIfThere(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
}

export async function upVm(o: UpOptions): Promise<UpResult> {
  const paths = guestPaths(o.env, o.name);
  if (o.authorize.length === 0) {
    throw new NxError("usage.invalid_argument", "cannot start the guest: no key to authorize");
  }
  const image = await buildImage({ repo: o.repo, cache: o.cache, log: o.log });
  o.verbose(`image ${image.dir} (${image.upToDate ? "up to date" : "built"}, ${image.boot} boot)`);
  const pid = await runningPid(paths);
  if (pid !== undefined) {
    if (o.fresh) {
      throw new NxError(
        "usage.invalid_argument",
        `cannot start guest ${o.name} fresh: it is running`,
        {
          hint: `stop it first: nx qemu down --name ${o.name}`,
          details: { name: o.name, pid },
        },
      );
    }
    const record = await readRecord(paths);
    if (record && record.pid === pid) return { record, started: false, image };
    throw new NxError(
      "usage.invalid_argument",
      `cannot start guest ${o.name}: its QEMU runs without a record`,
      {
        hint: `stop it first: nx qemu down --name ${o.name}`,
        details: { name: o.name, pid },
      },
    );
  }
  const qemu = await findTool(QEMU, "start the guest");
  await Deno.mkdir(paths.dir, { recursive: true, mode: 0o700 });
  for (
    const f of [paths.console, paths.agentSocket, paths.monitorSocket, paths.pid, paths.record]
  ) {
    await removeIfThere(f); // an old console log would hold an old boot's markers
  }
  if (o.fresh || !(await exists(paths.stateImage))) {
    if (image.stateTemplate) {
      o.verbose(`state disk ${paths.stateImage} (from the image's warm template)`);
      await copySparse(image.stateTemplate, paths.stateImage);
    } else {
      o.verbose(`state disk ${paths.stateImage} (new, empty, ${STATE_DISK_BYTES >> 20} MiB)`);
      await makeExt4(paths.stateImage, {
        bytes: STATE_DISK_BYTES,
        label: "nxstate",
        journal: true,
      });
    }
  }
  await Deno.writeTextFile(paths.authorizedKeys, o.authorize.map(pemLine).join(""));
  for (
    const [keys, path] of [[o.trust, paths.trust], [o.trustStores, paths.trustStores]] as const
  ) {
    if (keys.length > 0) await Deno.writeTextFile(path, keys.map(pemLine).join(""));
    else await removeIfThere(path);
  }

  const started = performance.now();
  const { port, args } = await spawnQemu(qemu, paths, image, o);
  const record: VmRecord = {
    name: o.name,
    pid: (await readPidFile(paths.pid))!,
    serial: `serial:${paths.agentSocket}`,
    tcp: `tcp:127.0.0.1:${port}`,
    console: paths.console,
    stateDir: paths.dir,
    image: image.hash,
    accel: o.accel,
    memoryMiB: o.memoryMiB,
    selftest: o.selftest,
    bootSeconds: null,
    command: shellLine(qemu, args.filter((a) => a !== "-daemonize")),
  };
  await writeRecord(paths, record);
  try {
    await waitReady(paths, record, started, o);
  } catch (e) {
    kill(record.pid);
    throw e;
  }
  await writeRecord(paths, record);
  return { record, started: true, image };
}

const pemLine = (pem: string) => pem.endsWith("\n") ? pem : `${pem}\n`;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Starts QEMU daemonized; a host port taken meanwhile is retried with another. */
async function spawnQemu(qemu: string, paths: GuestPaths, image: Image, o: UpOptions) {
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    const args = qemuArgs({
      name: `nx-${o.name}`,
      accel: o.accel,
      memoryMiB: o.memoryMiB,
      kernel: image.kernel,
      initrd: image.initrd,
      append: kernelCommandLine({ selftest: o.selftest, extra: o.env("NX_QEMU_APPEND") }),
      systemImage: image.system,
      stateImage: paths.stateImage,
      console: paths.console,
      agentSocket: paths.agentSocket,
      monitorSocket: paths.monitorSocket,
      pidFile: paths.pid,
      hostPort: port,
      fwCfg: {
        authorized_keys: paths.authorizedKeys,
        ...(o.trust.length > 0 ? { trust: paths.trust } : {}),
        ...(o.trustStores.length > 0 ? { trust_stores: paths.trustStores } : {}),
      },
      daemonize: true,
    });
    o.verbose(`qemu: ${shellLine(qemu, args)}`);
    // -daemonize: the foreground QEMU exits once the VM is set up (its errors on stderr), the
    // VM's QEMU runs on in its own session with stdin, stdout and stderr on /dev/null.
    const r = await run(qemu, args, { why: "start the guest" });
    if (r.code === 0) return { port, args };
    if (/host forwarding|hostfwd/i.test(r.stderr) && attempt < 3) continue;
    throw new NxError("io.failed", `cannot start guest ${o.name}: QEMU exited with ${r.code}`, {
      details: { name: o.name, stderr: lastLines(r.stderr, 20) },
      hint: /kvm/i.test(r.stderr) ? "KVM is not usable here: leave out --accel kvm" : undefined,
    });
  }
}

/** The console's `pkgr: ready`, then one ping per transport, all before the deadline. */
async function waitReady(paths: GuestPaths, record: VmRecord, started: number, o: UpOptions) {
  const deadline = started + o.timeoutMs;
  const alive = () => processMatches(record.pid, optionValue(paths.monitorSocket));
  const boot = await waitForConsole(paths.console, { timeoutMs: o.timeoutMs, alive });
  const tail = () => tailLines(boot.text, 20);
  if (boot.kind === "exited") {
    throw new NxError(
      "transport.unreachable",
      `cannot boot guest ${o.name}: QEMU exited before pkgr: ready`,
      {
        hint: `the guest's console: ${paths.console}`,
        details: { name: o.name, console: paths.console, lastLines: tail() },
      },
    );
  }
  if (boot.kind === "timeout") {
    throw new NxError(
      "transport.timeout",
      `cannot boot guest ${o.name}: no pkgr: ready within ${o.timeoutMs / 1000} s`,
      {
        hint: `the guest's console: ${paths.console}` +
          (o.accel === "kvm" ? "; KVM may not work here: leave out --accel kvm" : ""),
        details: { name: o.name, console: paths.console, lastLines: tail() },
      },
    );
  }
  record.bootSeconds = Math.round((performance.now() - started) / 10) / 100;
  o.verbose(`pkgr: ready after ${record.bootSeconds} s`);
  for (const target of [record.serial, record.tcp]) {
    const ms = await pingUntil(target, deadline, o);
    o.verbose(`ping ${target}: ${ms.toFixed(1)} ms`);
  }
}

/**
 * Errors a ping retries: the agent or the line is not there yet — or, on a serial line, what an
 * earlier attempt's session left on it (a line has no connection boundary) came first.
 */
const RETRIED = new Set([
  "transport.unreachable",
  "transport.closed",
  "transport.timeout",
  "transport.bad_frame",
]);

async function pingUntil(target: string, deadline: number, o: UpOptions): Promise<number> {
  for (;;) {
    const left = deadline - performance.now();
    try {
      const session = await connect(parseTarget(target), {
        identity: o.identity,
        knownAgents: o.knownAgents,
        timeouts: {
          connectMs: Math.max(100, Math.min(left, 5_000)),
          handshakeMs: Math.max(1_000, left),
        },
      });
      try {
        return await session.ping();
      } finally {
        await session.close();
      }
    } catch (e) {
      const code = e instanceof NxError ? e.code : undefined;
      if (!code || !RETRIED.has(code) || performance.now() + 200 >= deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export interface GuestStatus {
  name: string;
  running: boolean;
  pid: number | null;
  serial: string | null;
  tcp: string | null;
  console: string;
  stateDir: string;
  uptimeSeconds: number | null;
  bootSeconds: number | null;
}

/** The status of guest `name`, or of every guest that has a state directory. */
export async function vmStatus(env: Env, name?: string): Promise<GuestStatus[]> {
  const names = name !== undefined ? [name] : await guestNames(env);
  const out: GuestStatus[] = [];
  for (const n of names) {
    const paths = guestPaths(env, n);
    const pid = await runningPid(paths);
    const record = await readRecord(paths);
    const live = pid !== undefined && record?.pid === pid ? record : undefined;
    out.push({
      name: n,
      running: pid !== undefined,
      pid: pid ?? null,
      serial: live?.serial ?? null,
      tcp: live?.tcp ?? null,
      console: paths.console,
      stateDir: paths.dir,
      uptimeSeconds: pid !== undefined ? (await procInfo(pid))?.seconds ?? null : null,
      bootSeconds: live?.bootSeconds ?? null,
    });
  }
  return out;
}

async function guestNames(env: Env): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(guestsDir(env))) if (e.isDirectory) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

export interface DownResult {
  name: string;
  /** "powered-off": the guest shut down when asked; "killed": QEMU was killed; "not-running". */
  outcome: "powered-off" | "killed" | "not-running";
  seconds: number;
}

/** Powers the guest off (ACPI via the monitor), SIGKILL after `timeoutMs`. */
export async function downVm(env: Env, name: string, timeoutMs: number): Promise<DownResult> {
  const paths = guestPaths(env, name);
  const pid = await runningPid(paths);
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 10) / 100;
  if (pid === undefined) {
    for (const f of [paths.agentSocket, paths.monitorSocket, paths.pid]) await removeIfThere(f);
    return { name, outcome: "not-running", seconds: 0 };
  }
  const alive = () => processMatches(pid, optionValue(paths.monitorSocket));
  let asked = true;
  await monitorCommand(paths.monitorSocket, "system_powerdown").catch(() => (asked = false));
  if (asked && await waitGone(alive, timeoutMs)) {
    return { name, outcome: "powered-off", seconds: seconds() };
  }
  kill(pid);
  await waitGone(alive, 5_000);
  for (const f of [paths.agentSocket, paths.monitorSocket, paths.pid]) await removeIfThere(f);
  return { name, outcome: "killed", seconds: seconds() };
}
