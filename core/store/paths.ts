/**
 * Every path of a state root, derived from the one injected root directory. No I/O: making the
 * paths registers the root as the anchor its paths are walked from (see anchored.ts).
 */
import { join, resolve } from "node:path";
import { anchorRoot } from "./anchored.ts";

export const ROOT_FORMAT = "nx-state-root";
export const ROOT_VERSION = 1;

export interface RootPaths {
  root: string;
  pkg: string;
  apps: string;
  rootFile: string;
  policyFile: string;
  publishersFile: string;
  /** The store keys trusted to sign licensing records (`nx licensed trust add`). */
  storeKeysFile: string;
  /** The root's device key: its fingerprint is the device an entitlement is bound to. */
  deviceKeyFile: string;
  registryDb: string;
  journal: string;
  lock: string;
  staging: string;
}

export function rootPaths(root: string): RootPaths {
  anchorRoot(root);
  const pkg = join(root, "pkg");
  return {
    root,
    pkg,
    apps: join(root, "apps"),
    rootFile: join(pkg, "root.json"),
    policyFile: join(pkg, "policy.toml"),
    publishersFile: join(pkg, "publishers.toml"),
    storeKeysFile: join(pkg, "store_keys.toml"),
    deviceKeyFile: join(pkg, "device.key"),
    registryDb: join(pkg, "registry.db"),
    journal: join(pkg, "journal"),
    lock: join(pkg, "lock"),
    staging: join(pkg, "staging"),
  };
}

/** `--root`, else `$NX_ROOT`, else `$XDG_STATE_HOME/nx/root` (default `~/.local/state/nx/root`). */
export function resolveRootDir(
  flag: string | undefined,
  env: (name: string) => string | undefined,
): string {
  const chosen = flag ?? env("NX_ROOT");
  if (chosen) return resolve(chosen);
  const xdg = env("XDG_STATE_HOME");
  // An empty or relative XDG_STATE_HOME is invalid per the XDG spec and is ignored.
  const state = xdg && xdg.startsWith("/")
    ? xdg
    : join(env("HOME") ?? Deno.cwd(), ".local", "state");
  return join(state, "nx", "root");
}
