/**
 * Warnings as node:process prints them. They are so rare (a misuse of commander, a contradictory
 * colour environment) that the real node:process loads for them, and only for them: the text, its
 * `(node:PID)` prefix, its timing and `--no-warnings` are then Deno's own.
 */

interface NodeProcess {
  emitWarning(warning: string | Error, type?: string): void;
}

export function emitWarning(warning: string | Error, type?: string): void {
  (globalThis as unknown as { process: NodeProcess }).process.emitWarning(warning, type);
}
