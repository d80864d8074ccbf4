/**
 * Where verify's time goes, each part against the same floor as the verify suite (one
 * `sha256sum` over every file of big-1.0.0.nxb), measured in the same run. Informational: no
 * targets. Rows, whole process unless marked:
 *
 * - the hashing verify does (SHA-256 of all files, SHA-512 of the payload) in a bare script,
 *   and SHA-256 alone (the floor's exact work) to compare hashing throughput;
 * - in-process only: the same hashing with synchronous reads (what async op round trips cost),
 *   and readBundle() (walk, read, hash) and verifyBundle() (pure checks and signatures) from
 *   core, to split verifyAt().
 *
 * Start-up (`deno run` of an empty file, `nx --version`) is measured by the startup suite.
 */
import { fileURLToPath } from "node:url";
import { ELF_PAYLOAD_FILE } from "../../core/bundle/layout.ts";
import { readBundle } from "../../core/store/bundle_reader.ts";
import { loadTrust, rootPaths } from "../../core/store/root.ts";
import { planChallenge } from "../../core/trust/challenge.ts";
import { verifyBundle } from "../../core/trust/verify.ts";
import { hashFiles, hashFilesSync } from "./_hash_files.ts";
import { metric, type Outcome, runProcess, sample, type Suite, timed } from "./_measure.ts";
import { denoRun, listFiles, sha256sumCmd, trustedRoot } from "./_nx.ts";

const HASH_SCRIPT = fileURLToPath(new URL("_hash_files.ts", import.meta.url));
const FLOOR = "sha256sum over all files of big-1.0.0.nxb, one process (as in the verify suite)";

export const breakdownSuite: Suite = {
  name: "breakdown",
  summary: "where nx pkg verify's time goes: start-up, module load, hashing, verification",
  async run(ctx) {
    const big = ctx.big;
    const files = await listFiles(big.bundle);
    const floor = sha256sumCmd(big.bundle, files);
    const hashAll = denoRun(HASH_SCRIPT, [big.bundle, ELF_PAYLOAD_FILE, ...files]);
    const hash256 = denoRun(HASH_SCRIPT, [big.bundle, "-", ...files]);

    ctx.log("breakdown: whole processes");
    const ms = async (c: typeof floor) => (await runProcess(c)).ms;
    const whole = await sample(ctx.plan, {
      floor: () => ms(floor),
      hashAll: () => ms(hashAll),
      hash256: () => ms(hash256),
    });

    ctx.log("breakdown: in-process parts");
    const root = await trustedRoot(ctx.scratch);
    const trust = await loadTrust(rootPaths(root));
    const read = () => readBundle(big.bundle, (small) => planChallenge(small, trust.publishers));
    const facts = await read();
    const verifyContext = { ...trust, now: new Date() };
    const inProcess = await sample(ctx.plan, {
      hashAll: () => timed(() => hashFiles(big.bundle, files, ELF_PAYLOAD_FILE)),
      hash256: () => timed(() => hashFiles(big.bundle, files)),
      hashAllSync: () => timed(() => hashFilesSync(big.bundle, files, ELF_PAYLOAD_FILE)),
      read: () => timed(read),
      verify: () => timed(() => verifyBundle(facts, verifyContext, big.bundle)),
    });

    const row = (name: string, nxLabel: string, w?: number[], p?: number[]): Outcome =>
      metric({
        suite: "breakdown",
        name,
        unit: "ms",
        nxLabel,
        wholeProcess: w,
        inProcess: p,
        floorLabel: FLOOR,
        floor: whole.floor,
      });
    return [
      row(
        "node:crypto SHA-256, all files",
        "deno run _hash_files.ts: SHA-256 of every file in 1 MiB reads (the floor's work)",
        whole.hash256,
        inProcess.hash256,
      ),
      row(
        "node:crypto SHA-256 + SHA-512 payload",
        "deno run _hash_files.ts: the hashing verify does (SHA-256 all, SHA-512 payload)",
        whole.hashAll,
        inProcess.hashAll,
      ),
      row(
        "same hashing, sync I/O (in-process)",
        "hashFilesSync(): the same hashing with Deno.openSync/readSync instead of awaited reads",
        undefined,
        inProcess.hashAllSync,
      ),
      row(
        "readBundle() (in-process)",
        "readBundle() from core/store/bundle_reader.ts: walk, read and hash the bundle",
        undefined,
        inProcess.read,
      ),
      row(
        "verifyBundle() (in-process)",
        "verifyBundle() from core/trust/verify.ts on facts read once: pure checks, Ed25519",
        undefined,
        inProcess.verify,
      ),
    ];
  },
};
