/**
 * Where a root command runs: `local`, `tcp:HOST:PORT` or `serial:PATH` (a unix socket, character
 * device or FIFO). Parsing is strict and canonical — a host name is lower-cased and a port has no
 * leading zero — so `formatTarget(parseTarget(t))` is the one spelling known_agents pins a key
 * under. Pure: no file is opened here (streams.ts does that).
 */
import { NxError } from "../errors.ts";

export type Target =
  | { kind: "local" }
  | { kind: "tcp"; host: string; port: number }
  | { kind: "serial"; path: string };

export interface ParseTargetOptions {
  /** An agent's `--listen`: port 0 (pick a free one) is allowed, `local` is not. */
  listen?: boolean;
}

const FORMS = "local, tcp:HOST:PORT (IPv6 in brackets: tcp:[::1]:7000) or serial:PATH";

function invalid(text: string, reason: string, details: Record<string, unknown> = {}): NxError {
  return new NxError("transport.invalid_target", `cannot use target \`${text}\`: ${reason}`, {
    hint: `a target is ${FORMS}`,
    details: { target: text, ...details },
  });
}

// A DNS name (labels of letters, digits and inner hyphens) or a dotted IPv4 address.
const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

const isIPv4 = (text: string) =>
  IPV4.test(text) && text.split(".").every((n) => Number(n) <= 255 && !/^0\d/.test(n));

/** Eight hex groups, one `::` standing for the missing ones, a dotted IPv4 as the last two. */
function isIPv6(text: string): boolean {
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = halves.map((h) => (h === "" ? [] : h.split(":")));
  const all = groups.flat();
  let count = all.length;
  if (all.length > 0 && all[all.length - 1].includes(".")) {
    if (!isIPv4(all[all.length - 1])) return false;
    all.pop();
    count++;
  }
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}

function parseHost(text: string, host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith("[")) {
    const inner = lower.slice(1, -1);
    if (!lower.endsWith("]") || !isIPv6(inner)) {
      throw invalid(text, `\`${host}\` is not a bracketed IPv6 address`);
    }
    return inner;
  }
  if (lower.includes(":")) {
    throw invalid(text, "an IPv6 address must be in brackets");
  }
  if (IPV4.test(lower)) {
    if (!isIPv4(lower)) throw invalid(text, `\`${host}\` is not an IPv4 address`);
    return lower;
  }
  if (!HOST_NAME.test(lower)) throw invalid(text, `\`${host}\` is not a host name`);
  return lower;
}

function parsePort(text: string, port: string, listen: boolean): number {
  const min = listen ? 0 : 1;
  const n = /^(?:0|[1-9]\d{0,4})$/.test(port) ? Number(port) : NaN;
  if (!(n >= min && n <= 65535)) {
    throw invalid(text, `the port must be a number from ${min} to 65535`, { port });
  }
  return n;
}

function parseTcp(text: string, rest: string, listen: boolean): Target {
  const cut = rest.lastIndexOf(":");
  if (cut < 0) throw invalid(text, "the port is missing");
  const host = rest.slice(0, cut);
  if (host === "") throw invalid(text, "the host is missing");
  return {
    kind: "tcp",
    host: parseHost(text, host),
    port: parsePort(text, rest.slice(cut + 1), listen),
  };
}

function parseSerial(text: string, path: string): Target {
  if (path === "") throw invalid(text, "the path is missing");
  // known_agents and targets files are whitespace-separated lines: a path is one word
  // deno-lint-ignore no-control-regex -- control characters are what is refused
  if (/[\s\u0000-\u001f\u007f]/.test(path)) {
    throw invalid(text, "the path holds whitespace or a control character");
  }
  return { kind: "serial", path };
}

/** Parses one target; anything else is `transport.invalid_target` with the accepted forms. */
export function parseTarget(text: string, options: ParseTargetOptions = {}): Target {
  const listen = options.listen ?? false;
  if (text === "local") {
    if (listen) throw invalid(text, "an agent listens on tcp or serial");
    return { kind: "local" };
  }
  if (text.startsWith("tcp:")) return parseTcp(text, text.slice(4), listen);
  if (text.startsWith("serial:")) return parseSerial(text, text.slice(7));
  throw invalid(text, "unknown kind");
}

/** The canonical spelling of a target (what parseTarget accepts and known_agents records). */
export function formatTarget(target: Target): string {
  switch (target.kind) {
    case "local":
      return "local";
    case "tcp":
      return `tcp:${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`;
    case "serial":
      return `serial:${target.path}`;
  }
}

/**
 * A targets file (`--targets FILE`): one target per line; blank lines and `#` comments (a whole
 * line, or after whitespace) are skipped. A target listed twice is refused: a fleet would run the
 * operation on it twice at once, and the second writer would fail with lock.busy.
 */
export function parseTargetsFile(text: string): Target[] {
  const targets: Target[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "") return;
    let target: Target;
    try {
      target = parseTarget(line);
    } catch (e) {
      if (!(e instanceof NxError)) throw e;
      throw new NxError(e.code, `${e.message} (line ${i + 1})`, {
        hint: e.hint,
        details: { ...e.details, line: i + 1 },
      });
    }
    const key = formatTarget(target);
    const first = seen.get(key);
    if (first !== undefined) {
      throw invalid(line, `it is listed twice (lines ${first} and ${i + 1})`, {
        line: i + 1,
        first,
      });
    }
    seen.set(key, i + 1);
    targets.push(target);
  });
  return targets;
}
