/**
 * Connecting to one agent: the target, the identity key the host signs the handshake with
 * (`--identity`, else `NX_IDENTITY`, else `<config>/identity.key`) and the host's pins of agent
 * keys (`<config>/known_agents`), `<config>` being `$XDG_CONFIG_HOME/nx` or `~/.config/nx`.
 */
import { NxError } from "../core/errors.ts";
import type { Pkgr } from "../core/api/mod.ts";
import type { RemoteOptions } from "./remote.ts";

/** The identity file: --identity, else NX_IDENTITY, else the default under the config dir. */
export function identityPath(
  opts: RemoteOptions,
  env: (name: string) => string | undefined,
): string {
  if (opts.identity !== undefined) return opts.identity;
  const fromEnv = env("NX_IDENTITY");
  if (fromEnv) return fromEnv;
  return `${configDir(env)}/identity.key`;
}

/** nx's configuration directory: $XDG_CONFIG_HOME/nx, else ~/.config/nx. */
export function configDir(env: (name: string) => string | undefined): string {
  const xdg = env("XDG_CONFIG_HOME");
  if (xdg) return `${xdg}/nx`;
  return `${env("HOME") ?? "."}/.config/nx`;
}

/** What every connection of one command shares: the identity, and one known_agents writer. */
export interface HostSide {
  identity: import("../core/trust/mod.ts").KeyPair;
  knownAgents: import("../core/transport/mod.ts").KnownAgents;
}

export async function hostSide(opts: RemoteOptions): Promise<HostSide> {
  const env = (n: string) => Deno.env.get(n);
  const { KnownAgentsFile } = await import("../core/transport/mod.ts");
  const identity = await loadIdentity(identityPath(opts, env), env);
  return { identity, knownAgents: await KnownAgentsFile.load(`${configDir(env)}/known_agents`) };
}

/** A connected agent: its Pkgr, closed with the connection. */
export interface Remote extends AsyncDisposable {
  pkgr: Pkgr;
}

/** Connects to `target` and authenticates as the host. */
export async function openRemote(
  target: import("../core/transport/mod.ts").Target,
  host: HostSide,
  requestMs: number | undefined,
): Promise<Remote> {
  const { connect, remotePkgr } = await import("../core/transport/mod.ts");
  const session = await connect(target, { ...host, timeouts: { requestMs } });
  return { pkgr: remotePkgr(session), [Symbol.asyncDispose]: () => session.close() };
}

/** The host's secret key; a missing file says how to make the default one. */
async function loadIdentity(path: string, env: (name: string) => string | undefined) {
  const { loadSecretKey } = await import("../core/pkgr/keys.ts");
  try {
    return await loadSecretKey(path);
  } catch (e) {
    if (!(e instanceof NxError) || e.code !== "key.not_found") throw e;
    const dir = configDir(env);
    throw new NxError(
      "transport.no_identity",
      `cannot authenticate to the agent: no identity key at ${path}`,
      {
        hint: `create one with \`nx pkg keygen --out ${dir} --name identity\`, add ${dir}/` +
          "identity.pub to the agent's --authorized-keys file, or pass --identity KEY",
        details: { path },
      },
    );
  }
}
