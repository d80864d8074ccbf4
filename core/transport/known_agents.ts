/**
 * known_agents: the agent host keys a host has pinned, as SSH's known_hosts. One entry per line,
 * `<target> ed25519 <base64 of the 32-byte public key>`; `#` starts a comment line; blank lines
 * are ignored. A target may have several lines (a key rotation in progress): any of them matches.
 * A malformed line is key.invalid, never skipped: a skipped pin would turn into accept-new.
 */
import { dirname } from "node:path";
import { NxError } from "../errors.ts";
import { mkdirp, writeFileAtomic } from "../store/mod.ts";
import { isAcceptablePublicKey } from "../trust/mod.ts";

export interface KnownAgents {
  /** The keys pinned for `target`; empty when the target is unknown. */
  lookup(target: string): Uint8Array[];
  /** Pins `key` for `target` (accept-new: called for a target that had no entry). */
  record(target: string, key: Uint8Array): Promise<void>;
}

export interface KnownAgentEntry {
  target: string;
  key: Uint8Array;
}

const KEY_TYPE = "ed25519";
const B64_32 = /^[A-Za-z0-9+/]{43}=$/;

export function parseKnownAgents(text: string, path = "known_agents"): KnownAgentEntry[] {
  const entries: KnownAgentEntry[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(/\s+/);
    const bad = (why: string) =>
      new NxError("key.invalid", `cannot read ${path}: line ${i + 1}: ${why}`, {
        details: { path, line: i + 1 },
        hint: "each line is `<target> ed25519 <base64 key>`; fix or delete the line",
      });
    if (fields.length !== 3) throw bad("expected `<target> ed25519 <base64 key>`");
    const [target, type, b64] = fields;
    if (type !== KEY_TYPE) throw bad(`unknown key type ${type}`);
    if (!B64_32.test(b64)) throw bad("the key is not the base64 of 32 bytes");
    let key: Uint8Array;
    try {
      key = Uint8Array.fromBase64(b64, { lastChunkHandling: "strict" });
    } catch {
      throw bad("the key is not canonical base64");
    }
    if (!isAcceptablePublicKey(key)) throw bad("not a valid Ed25519 public key");
    entries.push({ target, key });
  });
  return entries;
}

export function formatKnownAgent(entry: KnownAgentEntry): string {
  if (/\s/.test(entry.target) || entry.target === "" || entry.target.startsWith("#")) {
    throw new NxError(
      "transport.invalid_target",
      `cannot record agent key: target ${JSON.stringify(entry.target)} cannot be written`,
    );
  }
  return `${entry.target} ${KEY_TYPE} ${entry.key.toBase64()}\n`;
}

export function formatKnownAgents(entries: KnownAgentEntry[]): string {
  return entries.map(formatKnownAgent).join("");
}

export function lookupKnownAgent(entries: KnownAgentEntry[], target: string): Uint8Array[] {
  return entries.filter((e) => e.target === target).map((e) => e.key);
}

async function readTextOr(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw new NxError("io.failed", `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** known_agents on disk; a missing file is empty. Recording rewrites the file atomically. */
export class KnownAgentsFile implements KnownAgents {
  readonly path: string;
  #entries: KnownAgentEntry[];
  /** Records run one after another within this process (fleets handshake in parallel). */
  #writing: Promise<void> = Promise.resolve();

  private constructor(path: string, entries: KnownAgentEntry[]) {
    this.path = path;
    this.#entries = entries;
  }

  static async load(path: string): Promise<KnownAgentsFile> {
    return new KnownAgentsFile(path, parseKnownAgents(await readTextOr(path), path));
  }

  lookup(target: string): Uint8Array[] {
    return lookupKnownAgent(this.#entries, target);
  }

  record(target: string, key: Uint8Array): Promise<void> {
    const line = formatKnownAgent({ target, key });
    const run = this.#writing.then(async () => {
      // Re-read: another process may have added lines since load; keep them and the comments.
      const text = await readTextOr(this.path);
      const entries = parseKnownAgents(text, this.path);
      const pinned = lookupKnownAgent(entries, target);
      if (!pinned.some((k) => equalBytes(k, key))) {
        const joined = text === "" || text.endsWith("\n") ? text : `${text}\n`;
        await mkdirp(dirname(this.path), 0o700);
        await writeFileAtomic(this.path, new TextEncoder().encode(joined + line), 0o644);
        entries.push({ target, key });
      }
      this.#entries = entries;
    });
    this.#writing = run.catch(() => {});
    return run;
  }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
