/** Structural rules for a bundle directory, decided from the reader's facts. */
import { NxError } from "../errors.ts";
import { capFor, CAPS, isSafeRelativePath } from "../bundle/mod.ts";
import type { BundleFacts } from "../bundle/mod.ts";

export function checkStructure(facts: BundleFacts, displayPath: string): void {
  // trust: the bundle must exist and be a directory (upstream forbids archives)
  if (facts.rootType === "missing") {
    throw new NxError("bundle.not_found", `cannot read bundle: ${displayPath} does not exist`);
  }
  if (facts.rootType !== "dir") {
    throw new NxError(
      "bundle.not_directory",
      `cannot read bundle: ${displayPath} is not a directory`,
    );
  }
  // trust: bounded walk — more files or deeper nesting than the caps is refused outright
  if (facts.walkLimitHit) {
    throw new NxError(
      "bundle.too_many_files",
      `cannot read bundle: more than ${CAPS.files} entries or deeper than ${CAPS.depth} levels`,
    );
  }
  let total = 0;
  for (const entry of facts.entries) {
    const where = { details: { path: entry.path } };
    // trust: no absolute paths, `..` segments or odd characters
    if (!isSafeRelativePath(entry.path)) {
      throw new NxError("bundle.unsafe_path", `cannot accept path \`${entry.path}\``, where);
    }
    // trust: links could point outside the bundle or alias another file
    if (entry.type === "symlink") {
      throw new NxError("bundle.symlink", `cannot accept symlink ${entry.path}`, where);
    }
    if (entry.type === "other") {
      throw new NxError("bundle.special_file", `cannot accept special file ${entry.path}`, where);
    }
    if (entry.type !== "file") continue;
    if (entry.nlink !== 1) {
      throw new NxError("bundle.hardlink", `cannot accept hard-linked file ${entry.path}`, where);
    }
    // trust: size caps are checked from lstat before any byte is trusted
    const cap = capFor(entry.path);
    if (entry.size > cap) {
      throw new NxError(
        "bundle.too_large",
        `cannot accept ${entry.path}: ${entry.size} bytes exceeds the ${cap}-byte cap`,
        { details: { path: entry.path, size: entry.size, cap } },
      );
    }
    total += entry.size;
  }
  if (total > CAPS.total) {
    throw new NxError(
      "bundle.too_large",
      `cannot accept bundle: ${total} bytes exceeds the ${CAPS.total}-byte cap`,
      { details: { size: total, cap: CAPS.total } },
    );
  }
}
