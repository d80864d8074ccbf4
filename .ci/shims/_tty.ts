/**
 * What node:process reports about a standard stream on a terminal: its window size (node's
 * tty.WriteStream asks the kernel for that descriptor's own size, TIOCGWINSZ, where
 * Deno.consoleSize() answers for the first of stdin, stdout, stderr that is a terminal) and its
 * colour depth (node's getColorDepth, from the environment; ported from the pinned Deno's
 * ext/node/polyfills/internal/tty.js, the Windows branch left out: nx runs on Linux).
 */
import { emitWarning } from "./_warn.ts";

const TIOCGWINSZ = 0x5413n; // Linux, every architecture Deno ships for

let ioctl: ((fd: number, request: bigint, buf: Uint8Array) => number) | undefined;

/** The terminal's width on `fd` (1 or 2), or undefined when the kernel cannot say. */
export function columnsOf(fd: 1 | 2): number | undefined {
  try {
    ioctl ??= Deno.dlopen("libc.so.6", {
      ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
    }).symbols.ioctl;
  } catch {
    // no FFI (a narrower permission set than bin/nx's): ask node:process itself
    const nodeProcess = (globalThis as unknown as {
      process: Record<"stdout" | "stderr", { columns?: number }>;
    }).process;
    return nodeProcess[fd === 1 ? "stdout" : "stderr"].columns;
  }
  const winsize = new Uint8Array(8); // struct winsize { rows, cols, xpixel, ypixel: u16 }
  if (ioctl(fd, TIOCGWINSZ, winsize) !== 0) return undefined;
  return new DataView(winsize.buffer).getUint16(2, true);
}

const COLORS_2 = 1;
const COLORS_16 = 4;
const COLORS_256 = 8;
const COLORS_16M = 24;

const TERM_ENVS: Record<string, number> = {
  eterm: COLORS_16,
  cons25: COLORS_16,
  console: COLORS_16,
  cygwin: COLORS_16,
  dtterm: COLORS_16,
  gnome: COLORS_16,
  hurd: COLORS_16,
  jfbterm: COLORS_16,
  konsole: COLORS_16,
  kterm: COLORS_16,
  mlterm: COLORS_16,
  mosh: COLORS_16M,
  putty: COLORS_16,
  st: COLORS_16,
  "rxvt-unicode-24bit": COLORS_16M,
  terminator: COLORS_16M,
  "xterm-kitty": COLORS_16M,
};

const CI_ENVS: [string, number][] = [
  ["APPVEYOR", COLORS_256],
  ["BUILDKITE", COLORS_256],
  ["CIRCLECI", COLORS_16M],
  ["DRONE", COLORS_256],
  ["GITEA_ACTIONS", COLORS_16M],
  ["GITHUB_ACTIONS", COLORS_16M],
  ["GITLAB_CI", COLORS_256],
  ["TRAVIS", COLORS_256],
];

const TERM_PATTERNS = [
  /ansi/,
  /color/,
  /linux/,
  /direct/,
  /^con[0-9]*x[0-9]/,
  /^rxvt/,
  /^screen/,
  /^xterm/,
  /^vt100/,
  /^vt220/,
];

let warned = false;

/** The environment as getColorDepth reads it (Deno.env, or a table in tests). */
export type Env = Pick<Deno.Env, "get" | "has">;

/** node warns once when FORCE_COLOR overrides NODE_DISABLE_COLORS or NO_COLOR. */
function warnOnDeactivatedColors(env: Env["get"]): void {
  if (warned) return;
  let name = "";
  if (env("NODE_DISABLE_COLORS") !== undefined && env("NODE_DISABLE_COLORS") !== "") {
    name = "NODE_DISABLE_COLORS";
  }
  if (env("NO_COLOR") !== undefined && env("NO_COLOR") !== "") {
    if (name !== "") name += "' and '";
    name += "NO_COLOR";
  }
  if (name !== "") {
    emitWarning(`The '${name}' env is ignored due to the 'FORCE_COLOR' env being set.`, "Warning");
    warned = true;
  }
}

/** node's tty getColorDepth(process.env): 1, 4, 8 or 24 bits (NaN: see TERM_ENVS). */
export function colorDepth(environment: Env = Deno.env): number {
  const env = (name: string) => environment.get(name);
  const has = (name: string) => environment.has(name);
  const force = env("FORCE_COLOR");
  if (force !== undefined) {
    switch (force) {
      case "":
      case "1":
      case "true":
        warnOnDeactivatedColors(env);
        return COLORS_16;
      case "2":
        warnOnDeactivatedColors(env);
        return COLORS_256;
      case "3":
        warnOnDeactivatedColors(env);
        return COLORS_16M;
      default:
        return COLORS_2;
    }
  }
  if (
    (env("NODE_DISABLE_COLORS") !== undefined && env("NODE_DISABLE_COLORS") !== "") ||
    (env("NO_COLOR") !== undefined && env("NO_COLOR") !== "") || env("TERM") === "dumb"
  ) {
    return COLORS_2;
  }
  if (env("TMUX")) return COLORS_16M;
  if (has("TF_BUILD") && has("AGENT_NAME")) return COLORS_16; // Azure DevOps
  if (has("CI")) {
    for (const [name, depth] of CI_ENVS) if (has(name)) return depth;
    return env("CI_NAME") === "codeship" ? COLORS_256 : COLORS_2;
  }
  const teamcity = env("TEAMCITY_VERSION");
  if (teamcity !== undefined) {
    return /^(9\.(0*[1-9]\d*)\.|\d{2,}\.)/.test(teamcity) ? COLORS_16 : COLORS_2;
  }
  switch (env("TERM_PROGRAM")) {
    case "iTerm.app": {
      const version = env("TERM_PROGRAM_VERSION");
      return !version || /^[0-2]\./.test(version) ? COLORS_256 : COLORS_16M;
    }
    case "HyperTerm":
    case "MacTerm":
      return COLORS_16M;
    case "Apple_Terminal":
      return COLORS_256;
  }
  const colorterm = env("COLORTERM");
  if (colorterm === "truecolor" || colorterm === "24bit") return COLORS_16M;
  const term = env("TERM");
  if (term) {
    if (/truecolor/.test(term)) return COLORS_16M;
    if (/^xterm-256/.test(term)) return COLORS_256;
    const lower = term.toLowerCase();
    // node looks the name up on a plain object: TERM=constructor finds Object, a depth of NaN
    const known: unknown = TERM_ENVS[lower];
    if (known) return typeof known === "number" ? known : NaN;
    if (TERM_PATTERNS.some((p) => p.test(lower))) return COLORS_16;
  }
  if (colorterm) return COLORS_16;
  return COLORS_2;
}
