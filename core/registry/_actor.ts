/** Who the running process is, for the audit log: its uid, its user name and the nx version. */
import { userInfo } from "node:os";
import { NX_VERSION } from "../version/nx_version.ts";
import type { AuditActor } from "./types.ts";

let cached: AuditActor | undefined;

/** The process's identity (read once; a name that cannot be looked up is null). */
export function processActor(): AuditActor {
  if (cached) return cached;
  let uid: number | null = null;
  let user: string | null = null;
  try {
    uid = Deno.uid();
  } catch {
    // No uid on this platform, or no --allow-sys: recorded as unknown.
  }
  try {
    user = userInfo().username || null;
  } catch {
    user = Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ?? null;
  }
  cached = { uid, user, nxVersion: NX_VERSION };
  return cached;
}
