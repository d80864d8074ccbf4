/** What `nx pkg doctor` reports: findings with stable kinds (core/api/results.ts), and a helper. */
import type { ErrorCode } from "../../errors.ts";
import type { Finding, FindingKind } from "../../api/mod.ts";

export type { DoctorReport, Finding, FindingKind } from "../../api/mod.ts";

export function finding(
  kind: FindingKind,
  path: string,
  message: string,
  repairable: boolean,
  extra: { app?: string; code?: ErrorCode } = {},
): Finding {
  return {
    kind,
    ...(extra.app !== undefined ? { app: extra.app } : {}),
    path,
    message,
    repairable,
    ...(extra.code !== undefined ? { code: extra.code } : {}),
  };
}
