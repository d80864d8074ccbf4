/**
 * `node:process` for commander: a facade over Deno's own APIs with what commander reads. At
 * start-up that is nothing: its stream getters run when help or an error is written (nx replaces
 * the writers, not the width and colour getters), `env` when colours are decided or an option
 * reads its environment variable, `exitCode` when help ends, `argv`, `execArgv` and `versions`
 * when a program parses without `{ from: "user" }`. `exit` and `exitCode` behave as node's; `on`
 * (signal forwarding) and `execPath` serve only executable subcommands, which nx has none of.
 * Every value is what node:process in the pinned Deno gives for the same stream and environment.
 */
import { colorDepth, columnsOf } from "./_tty.ts";
import { fileURLToPath } from "./url.ts";
import { unsupported } from "./_unsupported.ts";

const encoder = new TextEncoder();

/** process.stdout / process.stderr: node's tty.WriteStream on a terminal, else a plain stream. */
function stdio(fd: 1 | 2, file: typeof Deno.stdout | typeof Deno.stderr) {
  return {
    /** Synchronous, as node:process writes to a terminal, a file or a pipe in Deno. */
    write(chunk: string | Uint8Array): boolean {
      const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
      for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
      return true;
    },
    get isTTY(): boolean {
      return file.isTerminal();
    },
    get columns(): number | undefined {
      return file.isTerminal() ? columnsOf(fd) : undefined;
    },
    /** tty.WriteStream#hasColors(count = 16): whether the colour depth gives `count` colours. */
    hasColors(count = 16): boolean {
      return count <= 2 ** colorDepth();
    },
  };
}

/** process.env: the environment, read through (node's proxy over Deno.env). */
const env = new Proxy({} as Record<string, string>, {
  get: (_, name) => typeof name === "string" ? Deno.env.get(name) : undefined,
  has: (_, name) => typeof name === "string" && Deno.env.has(name),
  set: (_, name, value) => {
    if (typeof name === "string") Deno.env.set(name, String(value));
    return true;
  },
  deleteProperty: (_, name) => {
    if (typeof name === "string") Deno.env.delete(name);
    return true;
  },
  ownKeys: () => Object.keys(Deno.env.toObject()),
  getOwnPropertyDescriptor: (_, name) => {
    const value = typeof name === "string" ? Deno.env.get(name) : undefined;
    return value === undefined
      ? undefined
      : { value, writable: true, enumerable: true, configurable: true };
  },
});

/** node's process.exitCode: unset until assigned; assigning it sets Deno's exit code. */
let exitCode: number | undefined;

const process = {
  stdout: stdio(1, Deno.stdout),
  stderr: stdio(2, Deno.stderr),
  env,
  get exitCode(): number | undefined {
    return exitCode;
  },
  set exitCode(code: number | undefined) {
    exitCode = code;
    Deno.exitCode = code ?? 0;
  },
  exit(code?: number): never {
    if (code !== undefined) process.exitCode = code;
    Deno.exit(Deno.exitCode);
  },
  /** [deno, the main module's path, ...arguments], as node:process builds it in Deno. */
  get argv(): string[] {
    const main = Deno.mainModule;
    return [Deno.execPath(), main.startsWith("file:") ? fileURLToPath(main) : main, ...Deno.args];
  },
  execArgv: [] as string[],
  /** Commander reads only `versions.electron`. */
  versions: {} as Record<string, string | undefined>,
  defaultApp: undefined,
  platform: Deno.build.os === "windows" ? "win32" : Deno.build.os,
  get execPath(): string {
    return Deno.execPath();
  },
  on(): never {
    unsupported("node:process", "forward signals to an executable subcommand");
  },
};

export default process;
