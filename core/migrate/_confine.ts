/**
 * The wrapper every migration process runs under (util-linux and sh, always on Debian):
 *
 *   setpriv --pdeathsig KILL -- setsid -- prlimit --as=… --data=… --fsize=… --core=0 -- \
 *     sh -c 'read -r go && exec "$@"' sh <command> <args…>
 *
 * Each tool execs the next in the same process, so the pid nx spawned is the step's pid. The
 * parent-death signal is set first; `setsid` makes the process lead a new session and process
 * group (a group kill reaches all of it, never nx); `prlimit` sets the resource limits; the `sh`
 * gate waits for one line on stdin — nx writes it only after the process is recorded durably,
 * and if nx dies first the pipe closes, `read` fails and the command never runs.
 */
import { NxError } from "../errors.ts";

export interface Rlimits {
  /** RLIMIT_AS, bytes. */
  addressSpace: number;
  /** RLIMIT_DATA, bytes. */
  data: number;
  /** RLIMIT_FSIZE, bytes. */
  fileSize: number;
}

export interface ConfineTools {
  setpriv: string;
  setsid: string;
  prlimit: string;
  sh: string;
}

const DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/** `sh -c` body: one line from nx opens the gate; EOF (nx gone) closes it for good. */
export const GATE = 'read -r go && exec "$@"';

async function find(name: string): Promise<string> {
  for (const dir of DIRS) {
    const path = `${dir}/${name}`;
    try {
      const info = await Deno.stat(path);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return path;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  throw new NxError("tool.missing", `cannot migrate: ${name} is not installed`, {
    hint: "migrations need util-linux (setpriv, setsid, prlimit) and /bin/sh",
    details: { tool: name, searched: DIRS },
  });
}

export async function confineTools(): Promise<ConfineTools> {
  return {
    setpriv: await find("setpriv"),
    setsid: await find("setsid"),
    prlimit: await find("prlimit"),
    sh: await find("sh"),
  };
}

/** The program and arguments that run `command args…` confined. */
export function confinedCommand(
  tools: ConfineTools,
  limits: Rlimits,
  command: string,
  args: string[],
): { program: string; args: string[] } {
  return {
    program: tools.setpriv,
    args: [
      "--pdeathsig",
      "KILL",
      "--",
      tools.setsid,
      "--",
      tools.prlimit,
      `--as=${limits.addressSpace}`,
      `--data=${limits.data}`,
      `--fsize=${limits.fileSize}`,
      "--core=0",
      "--",
      tools.sh,
      "-c",
      GATE,
      "sh",
      command,
      ...args,
    ],
  };
}
