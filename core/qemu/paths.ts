/**
 * Where `nx qemu` keeps things. The image cache is shared by every guest of a user:
 * `$NX_QEMU_CACHE`, else `$XDG_CACHE_HOME/nx/qemu`, else `~/.cache/nx/qemu`. Each guest has a
 * state directory of its own (its QEMU's pid, console log, sockets, port and state disk):
 * `$XDG_RUNTIME_DIR/nx/qemu/<name>`, else `$XDG_STATE_HOME/nx/qemu/<name>`, else
 * `~/.local/state/nx/qemu/<name>`. An empty or relative XDG variable is ignored (the XDG spec).
 */
import { join } from "node:path";
import { NxError } from "../errors.ts";

export type Env = (name: string) => string | undefined;

const absolute = (value: string | undefined) => value && value.startsWith("/") ? value : undefined;

function home(env: Env): string {
  const dir = absolute(env("HOME"));
  if (!dir) {
    throw new NxError("usage.invalid_argument", "cannot find nx's directories: HOME is not set", {
      hint: "set HOME, or NX_QEMU_CACHE and XDG_RUNTIME_DIR",
    });
  }
  return dir;
}

/** The image cache: debs, the unpacked kernel and the images. */
export function cacheDir(env: Env): string {
  const own = absolute(env("NX_QEMU_CACHE"));
  if (own) return own;
  return join(absolute(env("XDG_CACHE_HOME")) ?? join(home(env), ".cache"), "nx", "qemu");
}

/** The directory holding every guest's state directory. */
export function guestsDir(env: Env): string {
  const runtime = absolute(env("XDG_RUNTIME_DIR"));
  if (runtime) return join(runtime, "nx", "qemu");
  return join(absolute(env("XDG_STATE_HOME")) ?? join(home(env), ".local", "state"), "nx", "qemu");
}

/** A guest name: what a directory, a socket and QEMU's `-name` can all carry. */
export const GUEST_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export function checkGuestName(name: string): string {
  if (!GUEST_NAME.test(name)) {
    throw new NxError("usage.invalid_argument", `cannot use guest name ${JSON.stringify(name)}`, {
      hint: "a name is 1–32 of a-z, 0-9, _ and -, starting with a letter or digit",
    });
  }
  return name;
}

/** The files of one guest's state directory. */
export interface GuestPaths {
  name: string;
  dir: string;
  /** QEMU's -pidfile. */
  pid: string;
  /** ttyS0: the guest's console and marker log. */
  console: string;
  /** The virtio-serial port's chardev socket (the `serial:` transport). */
  agentSocket: string;
  /** QEMU's human monitor (system_powerdown, system_reset). */
  monitorSocket: string;
  /** The state disk (ext4) the guest mounts at /state. */
  stateImage: string;
  /**
   * The fw_cfg blobs: the hosts the agent lets in, the publishers the root trusts, the store keys
   * it trusts to sign entitlements.
   */
  authorizedKeys: string;
  trust: string;
  trustStores: string;
  /** What `up` started: {@link VmRecord} as JSON. */
  record: string;
}

/** Linux's limit for a unix socket path (sun_path, NUL included). */
const SUN_PATH_MAX = 108;

export function guestPaths(env: Env, name: string): GuestPaths {
  const dir = join(guestsDir(env), checkGuestName(name));
  const paths = {
    name,
    dir,
    pid: join(dir, "qemu.pid"),
    console: join(dir, "console.log"),
    agentSocket: join(dir, "agent.sock"),
    monitorSocket: join(dir, "monitor.sock"),
    stateImage: join(dir, "state.img"),
    authorizedKeys: join(dir, "authorized_keys"),
    trust: join(dir, "trust.pem"),
    trustStores: join(dir, "trust_stores.pem"),
    record: join(dir, "vm.json"),
  };
  if (new TextEncoder().encode(paths.monitorSocket).length >= SUN_PATH_MAX) {
    throw new NxError(
      "usage.invalid_argument",
      `cannot use ${dir} for guest ${name}: its socket paths are longer than a unix socket allows`,
      { hint: "set XDG_RUNTIME_DIR to a shorter directory", details: { dir } },
    );
  }
  return paths;
}
