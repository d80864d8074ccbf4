/**
 * The image build's warm-up boot. Deno under TCG spends most of a guest's boot compiling the
 * bundle; its V8 code cache and module analyses (DENO_DIR) halve that once they exist. So the
 * build boots the new image once (kernel command line `nx.warmup=1`) on a blank state disk:
 * init runs a first boot's commands (trust add, init, the agent up to `pkgr: ready`) with
 * DENO_DIR on that disk, then powers off. The disk — a root made in the guest, warm caches — is
 * kept as `state-template.img`; `up` copies it for every fresh guest. A failed warm-up costs
 * only speed: the image is used without a template (fresh state disks start empty and cold).
 */
import { join } from "node:path";
import { makeExt4 } from "./_disk.ts";
import { findTool, lastLines, runOk } from "./_run.ts";
import { tailLines } from "./console.ts";
import { kernelCommandLine, qemuArgs } from "./qemu_args.ts";

export const STATE_DISK_BYTES = 256 << 20;
const WARMUP_DONE = /^nx-init: (\[[0-9.]+\] )?warm-up done\r?$/m;

export interface WarmupResult {
  ok: boolean;
  seconds: number;
  /** Why it failed: the console's last lines, or QEMU's error. */
  problem?: string[];
}

/**
 * Boots `dir`'s kernel, initrd and system.img once in warm-up mode; on success `template` is the
 * warm state disk. `timeoutMs` bounds the whole boot.
 */
export async function warmUp(
  dir: string,
  template: string,
  timeoutMs: number,
): Promise<WarmupResult> {
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  const qemu = await findTool("qemu-system-x86_64", "warm the image up");
  // Unix socket paths are short: a temp directory of its own, not the (maybe deep) cache.
  const sockets = await Deno.makeTempDir({ prefix: "nx-warmup-" });
  const disk = `${template}.tmp`;
  try {
    await makeExt4(disk, { bytes: STATE_DISK_BYTES, label: "nxstate", journal: true });
    const console = join(sockets, "console.log");
    const args = qemuArgs({
      name: "nx-warmup",
      accel: "tcg",
      memoryMiB: 512,
      kernel: join(dir, "kernel"),
      initrd: join(dir, "initrd"),
      append: `${kernelCommandLine({ selftest: false })} nx.warmup=1`,
      systemImage: join(dir, "system.img"),
      stateImage: disk,
      console,
      agentSocket: join(sockets, "agent.sock"),
      monitorSocket: join(sockets, "monitor.sock"),
      pidFile: join(sockets, "qemu.pid"),
      hostPort: 0, // user networking picks a free host port: nothing connects to it
      fwCfg: {},
      daemonize: false,
    });
    const child = new Deno.Command(qemu, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const out = await child.output();
    clearTimeout(timer);
    const text = await Deno.readTextFile(console).catch(() => "");
    if (!WARMUP_DONE.test(text)) {
      const qemuSaid = lastLines(new TextDecoder().decode(out.stderr), 5);
      return {
        ok: false,
        seconds: seconds(),
        problem: [...tailLines(text, 10), ...(qemuSaid ? [qemuSaid] : [])],
      };
    }
    await Deno.rename(disk, template);
    return { ok: true, seconds: seconds() };
  } finally {
    await Deno.remove(disk).catch(() => {});
    await Deno.remove(sockets, { recursive: true }).catch(() => {});
  }
}

/** Copies a disk image keeping its holes (an empty ext4 is mostly holes): coreutils' cp. */
export async function copySparse(from: string, to: string): Promise<void> {
  const tmp = `${to}.tmp`;
  await runOk("cp", ["--sparse=always", "--", from, tmp], { why: `copy the state disk template` });
  await Deno.rename(tmp, to);
}
