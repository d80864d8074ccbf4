/** "Did you mean": the nearest name by edit distance, and the not-installed error that uses it. */
import { NxError } from "../errors.ts";

/** Levenshtein distance (insert, delete, substitute one character: cost 1 each). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `name`, when it is close enough to be a typo: at most a third (rounded up) of the
 * name's length away (at least 1, at most 3), ties broken by name order. Undefined otherwise.
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.ceil(name.length / 3)));
  let best: { name: string; d: number } | undefined;
  for (const c of [...candidates].sort()) {
    if (c === name) continue;
    const d = editDistance(name, c);
    if (d <= limit && (best === undefined || d < best.d)) best = { name: c, d };
  }
  return best?.name;
}

/**
 * `app.not_installed` for `action` on `appId`, with the next step: the installed app it was
 * probably meant to name, or `otherwise` (a hint of the caller's), or none.
 */
export function notInstalled(
  appId: string,
  action: string,
  installed: Iterable<string>,
  otherwise?: string,
): NxError {
  const near = closest(appId, installed);
  return new NxError("app.not_installed", `cannot ${action} ${appId}: it is not installed`, {
    ...(near !== undefined
      ? { hint: `did you mean \`${near}\`?`, details: { suggestion: near } }
      : otherwise !== undefined
      ? { hint: otherwise }
      : {}),
  });
}
