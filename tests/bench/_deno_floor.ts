/**
 * The Deno floor's commands (deno_floor.ts): the pinned Deno, no config (nothing of nx but, for
 * list, what `nx --version` loads; no npm package but, for list, libsql), only the permissions
 * the mode needs, and the V8 flags bin/nx gives the bundle (list's floor loads build/main.js, and
 * the code cache is keyed to them).
 */
import { fileURLToPath } from "node:url";
import { bundleFlags, DENO } from "../helpers.ts";
import type { Cmd } from "./_measure.ts";

const SCRIPT = fileURLToPath(new URL("deno_floor.ts", import.meta.url));

/** What the floor does, for a row's legend. */
export const DENO_FLOOR_TEXT = {
  verify: "deno run of a script that only reads every file through node:crypto SHA-256, and " +
    "the payload through SHA-512 once (tests/bench/deno_floor.ts)",
  install: "deno run of a script that only reads every file through node:crypto SHA-256 (the " +
    "payload through SHA-512 once), writes it into a staging dir, one syncfs, rename, fsync " +
    "the parent (tests/bench/deno_floor.ts)",
  "install-registry": "the same install floor, then the libsql addon loaded and one row " +
    "committed into a new registry file with WAL and synchronous=FULL, as nx's registry must",
  pack: "deno run of a script that only reads every source file through node:crypto SHA-256 " +
    "(the payload through SHA-512 twice, as Ed25519 signing does), writes it into a staging dir, " +
    "one syncfs, rename, fsync the parent (tests/bench/deno_floor.ts)",
  list: "deno run of a script that loads what nx --version loads (build/main.js), then reads " +
    "the same summary rows through the libsql addon nx's registry uses and prints them as JSON " +
    "(tests/bench/deno_floor.ts)",
} as const;

export function denoFloorCmd(mode: "verify" | "list", src: string): Cmd;
export function denoFloorCmd(
  mode: "install" | "pack",
  src: string,
  stage: string,
  final: string,
): Cmd;
export function denoFloorCmd(
  mode: "install-registry",
  src: string,
  stage: string,
  final: string,
  registry: string,
): Cmd;
export function denoFloorCmd(mode: keyof typeof DENO_FLOOR_TEXT, src: string, ...dirs: string[]) {
  const perms = {
    verify: ["--allow-read"],
    install: ["--allow-read", "--allow-write", "--allow-ffi"],
    "install-registry": [
      "--allow-read",
      "--allow-write",
      "--allow-ffi",
      "--allow-env",
      "--allow-sys",
    ],
    pack: ["--allow-read", "--allow-write", "--allow-ffi"],
    list: ["--allow-read", "--allow-env", "--allow-ffi", "--allow-sys"],
  }[mode];
  return { cmd: DENO, args: ["run", ...bundleFlags(), ...perms, SCRIPT, mode, src, ...dirs] };
}
