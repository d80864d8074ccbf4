/**
 * Power cuts on a real guest: an upgrade of the 16 MiB fixture (big 1.0.0 → a 1.0.1 with one
 * changed asset, packed here) is cut by a hard reset of the guest (QEMU's `system_reset`: the
 * guest's page cache is lost, the disk image keeps what reached it) or by SIGKILL of QEMU itself
 * (then `nx qemu up` again on the same state disk), at several moments: when the agent reports the
 * bundle verified (the upload is over), a little later, right after it reports the commit, and at
 * a fixed delay after the host started the call. After the boot the app must be exactly at the
 * old or the new version — the new one whenever the commit was reported before the cut — with
 * exactly that version's files (`info --files` against the bundle's index), the retained versions
 * that go with it, and `nx pkg doctor` over the transport clean. This is what a SIGKILL of the CLI
 * (tests/crash_test.ts) cannot show: a missing fsync.
 */
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { type Fixture, readFixture } from "../core/selftest/mod.ts";
import { countLines, Guest, guestTurn, QEMU_AVAILABLE } from "./_qemu.ts";
import { FIXTURES, nxCommandLine, packWithDevKey, tempDir } from "./helpers.ts";

type Cut = "reset" | "kill";
/** When to cut: `delayMs` after a new console line with `after` (or after the call started). */
interface Moment {
  after: "start" | "pkgr: verified ok" | "pkgr: install app=big v=1.0.1";
  delayMs: number;
}

const COMMITTED = "pkgr: install app=big v=1.0.1";
// Each cut costs a boot (~15-30 s under TCG): four keep the file near three minutes.
const CUTS: [Cut, Moment][] = [
  ["reset", { after: "pkgr: verified ok", delayMs: 0 }],
  ["reset", { after: COMMITTED, delayMs: 0 }],
  ["kill", { after: "pkgr: verified ok", delayMs: 400 }],
  ["kill", { after: "start", delayMs: 1500 }],
];

/** big 1.0.1: the 1.0.0 source with its first asset rewritten, signed with the dev key. */
async function bigNext(): Promise<string> {
  const dir = await tempDir();
  const src = join(dir, "src", "big-1.0.1");
  await cp(join(FIXTURES, "src", "big-1.0.0"), src, { recursive: true });
  const manifest = join(src, "manifest.toml");
  const text = await Deno.readTextFile(manifest);
  await Deno.writeTextFile(manifest, text.replace('version = "1.0.0"', 'version = "1.0.1"'));
  await Deno.writeFile(join(src, "assets", "data", "000.bin"), new Uint8Array(4096).fill(0x5a));
  const packed = await packWithDevKey(src, join(dir, "bundles", "big-1.0.1.nxb"));
  assert.equal(packed.code, 0, packed.stdout);
  return dir;
}

/** What the host's upgrade call ended with: its envelope's code, or the signal that ended it. */
function hostOutcome(o: Deno.CommandOutput): string {
  if (o.signal) return `killed (${o.signal})`;
  try {
    return JSON.parse(new TextDecoder().decode(o.stdout)).code;
  } catch {
    return `exit ${o.code}`;
  }
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const label = (cut: Cut, m: Moment) =>
  `${cut} at ${m.after}${m.delayMs ? ` +${m.delayMs} ms` : ""}`;

Deno.test({
  name: QEMU_AVAILABLE
    ? "a power cut during an upgrade on a QEMU guest leaves the old or the new version, intact"
    : "a power cut on a QEMU guest (skipped: qemu-system-x86_64 not found)",
  ignore: !QEMU_AVAILABLE,
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const next = await bigNext();
  const fixtures: Record<string, Fixture> = {
    "1.0.0": await readFixture(FIXTURES, "big-1.0.0"),
    "1.0.1": await readFixture(next, "big-1.0.1"),
  };
  using _turn = await guestTurn();
  await using guest = await Guest.boot(`pc${Deno.pid % 100000}`);
  const installed = await guest.pkg("serial", ["install", fixtures["1.0.0"].path]);
  assert.equal(installed.code, 0, installed.stdout);

  for (const [cut, moment] of CUTS) {
    await t.step(label(cut, moment), async () => {
      const before = await guest.pkg("tcp", ["info", "big"]);
      assert.equal(before.json?.data.version, "1.0.0", before.stdout);
      const retainedBefore: string[] = before.json?.data.retained;
      const text = await guest.console();
      const seen = moment.after === "start" ? 0 : countLines(text, moment.after);
      const committedBefore = countLines(text, COMMITTED);

      const line = nxCommandLine([
        "pkg",
        "upgrade",
        fixtures["1.0.1"].path,
        "--transport",
        guest.up.serial,
        "--json",
      ]);
      const started = performance.now();
      const child = new Deno.Command(line.cmd, {
        args: line.args,
        env: { NO_COLOR: "1", ...guest.env },
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let acknowledged = false;
      const output = child.output().then((o) => {
        acknowledged = o.code === 0;
        return o;
      });
      if (moment.after !== "start") await guest.waitConsole(moment.after, seen);
      if (moment.delayMs > 0) await new Promise((r) => setTimeout(r, moment.delayMs));
      const ackedAtCut = acknowledged;
      const committedAtCut = countLines(await guest.console(), COMMITTED) > committedBefore;

      const cutAt = performance.now();
      const readyBefore = countLines(await guest.console(), "pkgr: ready");
      if (cut === "reset") await guest.monitor("system_reset");
      else await guest.killQemu();
      try {
        child.kill("SIGKILL"); // the host side is not under test; its call is gone anyway
      } catch { /* it had exited */ }
      const host = await output;
      if (cut === "reset") {
        await guest.waitConsole("pkgr: ready", readyBefore);
        await guest.waitAnswering();
      } else {
        await guest.start();
      }
      const backAt = performance.now();

      const info = await guest.pkg("tcp", ["info", "big", "--files"]);
      assert.equal(info.code, 0, info.stdout);
      const version: string = info.json?.data.version;
      assert.ok(version === "1.0.0" || version === "1.0.1", `big is at ${version}`);
      if (ackedAtCut || committedAtCut) {
        assert.equal(version, "1.0.1", "the commit was reported before the cut: it must survive");
      }
      assert.equal(info.json?.data.state, "active");
      assert.deepEqual(
        info.json?.data.files,
        fixtures[version].files,
        `the files of big ${version}`,
      );
      assert.deepEqual(
        [...info.json?.data.retained].sort(),
        version === "1.0.1" ? ["1.0.0"] : [...retainedBefore].sort(),
      );
      assert.equal(info.json?.data.dataSize, 0);
      const doctor = await guest.pkg("tcp", ["doctor"]);
      assert.equal(doctor.code, 0, doctor.stdout);
      assert.deepEqual(doctor.json?.data.findings, []);
      console.log(
        `power cut ${label(cut, moment)}: big ${version}; host call ${hostOutcome(host)}; ` +
          `cut ${seconds(cutAt - started)} s after the call, ready again ${
            seconds(backAt - cutAt)
          } s later` +
          (doctor.json?.data.recovered ? `; recovered ${doctor.json.data.recovered}` : ""),
      );

      if (version === "1.0.1") {
        const back = await guest.pkg("tcp", ["rollback", "big"]);
        assert.equal(back.code, 0, back.stdout);
      }
    });
  }
});
