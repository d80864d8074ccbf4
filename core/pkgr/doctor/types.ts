/** What `nx pkg doctor` reports: findings with stable kinds, and what `--repair` did. */
import type { ErrorCode } from "../../errors.ts";

/** Stable finding kinds (docs/transactions.md#doctor lists what each means and repairs). */
export type FindingKind =
  // Registry against tree.
  | "staging-leftover"
  | "temp-leftover"
  | "app-dir-missing"
  | "current-mismatch"
  | "version-missing"
  | "file-missing"
  | "file-unexpected"
  | "file-digest-mismatch"
  | "data-missing"
  | "version-orphan"
  | "data-orphan"
  | "app-orphan"
  // Unsafe or undefined entries of the layout.
  | "unsafe-link"
  | "special-file"
  | "unsafe-mode"
  | "foreign-owner"
  | "hard-link"
  | "stray-entry"
  // A lost registry.
  | "registry-missing"
  | "version-unverified";

export interface Finding {
  kind: FindingKind;
  app?: string;
  path: string;
  message: string;
  repairable: boolean;
  /** The stable error code behind the finding (a verification failure, `registry.missing`). */
  code?: ErrorCode;
  /** Set on the entries of `repaired`: what `--repair` did. */
  action?: string;
}

export interface DoctorReport {
  ok: boolean;
  apps: number;
  files: number;
  recovered?: string;
  findings: Finding[];
  repaired: Finding[];
}

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
