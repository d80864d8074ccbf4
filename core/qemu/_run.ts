/** Running the host tools the build and the VM need: a missing one is `tool.missing` with a hint. */
import { NxError } from "../errors.ts";

/** The Debian package of each host tool nx qemu runs. */
export const TOOL_PACKAGES: Record<string, string> = {
  "apt-get": "apt",
  "apt-cache": "apt",
  "dpkg-deb": "dpkg",
  "mke2fs": "e2fsprogs",
  "xz": "xz-utils",
  "qemu-system-x86_64": "qemu-system-x86",
};

export function toolMissing(tool: string, why: string): NxError {
  const pkg = TOOL_PACKAGES[tool];
  return new NxError("tool.missing", `cannot ${why}: ${tool} is not installed`, {
    hint: pkg ? `install it: apt-get install ${pkg} (or run .ci/setup)` : undefined,
    details: { tool, ...(pkg ? { package: pkg } : {}) },
  });
}

export interface RunResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  stdin?: Uint8Array;
  /** What the run is for, in messages: "cannot <why>: …". */
  why: string;
}

/** Runs `program`; a non-zero exit is returned, not thrown (the caller knows what it means). */
export async function run(program: string, args: string[], o: RunOptions): Promise<RunResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      cwd: o.cwd,
      env: { LC_ALL: "C", ...o.env },
      stdin: o.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw toolMissing(program.split("/").at(-1)!, o.why);
    throw new NxError("io.failed", `cannot ${o.why}: cannot run ${program}: ${e}`, { cause: e });
  }
  // stdin is written while the output is read: a tool writing more than a pipe holds (xz)
  // would otherwise block on its stdout while nx blocks on its stdin.
  const writing = o.stdin ? feed(child.stdin, o.stdin) : Promise.resolve();
  const [out] = await Promise.all([child.output(), writing]);
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

async function feed(stdin: WritableStream<Uint8Array>, data: Uint8Array): Promise<void> {
  const writer = stdin.getWriter();
  // A tool that stops reading early (xz at the end of its stream) closes the pipe: fine.
  await writer.write(data).catch(() => {});
  await writer.close().catch(() => {});
}

/** Runs `program` and insists on exit 0 (else io.failed with its stderr). */
export async function runOk(program: string, args: string[], o: RunOptions): Promise<Uint8Array> {
  const r = await run(program, args, o);
  if (r.code !== 0) {
    throw new NxError(
      "io.failed",
      `cannot ${o.why}: ${program} exited with ${r.code}: ${lastLines(r.stderr, 3)}`,
      { details: { program, args, code: r.code, stderr: lastLines(r.stderr, 20) } },
    );
  }
  return r.stdout;
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split("\n").slice(-n).join("\n");
}

/** The sbin directories: a user's PATH on Debian lacks them, and mke2fs lives there. */
const EXTRA_DIRS = ["/usr/sbin", "/sbin"];

/** The path of `tool` on PATH (or in /usr/sbin, /sbin); undefined when absent. */
export async function whichTool(tool: string): Promise<string | undefined> {
  const dirs = [...(Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":"), ...EXTRA_DIRS];
  for (const dir of dirs) {
    if (dir !== "" && await isExecutable(`${dir}/${tool}`)) return `${dir}/${tool}`;
  }
  return undefined;
}

/** The path of `tool`, else tool.missing with the package to install. */
export async function findTool(tool: string, why: string): Promise<string> {
  const path = await whichTool(tool);
  if (path === undefined) throw toolMissing(tool, why);
  return path;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}
