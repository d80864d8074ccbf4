/** `nx pkg pack <src>`: read the source tree, assemble in memory (pure), publish atomically. */
import { join } from "node:path";
import { NxError } from "../errors.ts";
import { ASSETS_DIR, MIGRATIONS_DIR, payloadFileFor } from "../bundle/mod.ts";
import { assembleBundle, parseManifestToml } from "../pack/mod.ts";
import { publishTree, readSourceFile, readTree } from "../store/mod.ts";
import type { KeyPair } from "../trust/mod.ts";
import type { PackResult } from "../protocol/mod.ts";
import { marker, type Reporter } from "./context.ts";
import { NX_VERSION } from "../version/mod.ts";

export interface PackRequest {
  source: string;
  out?: string;
  key?: KeyPair;
  force: boolean;
  sourceDateEpoch: number;
}

async function mustRead(source: string, name: string): Promise<Uint8Array> {
  const bytes = await readSourceFile(source, name);
  if (bytes === undefined) {
    throw new NxError(
      "pack.missing_input",
      `cannot pack: ${name} not found at ${join(source, name)}`,
    );
  }
  return bytes;
}

export async function pack(request: PackRequest, reporter: Reporter): Promise<PackResult> {
  const manifestToml = await mustRead(request.source, "manifest.toml");
  const spec = parseManifestToml(manifestToml);
  const payloadName = payloadFileFor(spec.payloadKind);
  const payload = await mustRead(request.source, payloadName);
  const extraFiles = new Map([
    ...await readTree(request.source, ASSETS_DIR),
    ...await readTree(request.source, MIGRATIONS_DIR),
  ]);
  const packed = assembleBundle({
    spec,
    manifestToml,
    payload,
    extraFiles,
    key: request.key,
    sourceDateEpoch: request.sourceDateEpoch,
    tool: `nx ${NX_VERSION}`,
  });
  const out = request.out ?? `${packed.name}.nxb`;
  await publishTree(out, packed.files, request.force);
  marker({ reporter }, `pkgr: built ${packed.name}@${packed.version}`);
  if (packed.keyFingerprint) marker({ reporter }, `pkgr: signed key=${packed.keyFingerprint}`);
  return {
    name: packed.name,
    version: packed.version,
    out,
    publisher: packed.publisher,
    scheme: packed.keyFingerprint ? "nx-index" : "payload-only",
    files: [...packed.files].map(([path, b]) => ({ path, size: b.length })).sort((a, b) =>
      a.path < b.path ? -1 : 1
    ),
  };
}
