/**
 * The Deno floor of `deno task bench` (bench tooling, not product code): the least any Deno
 * program pays for the work of `nx pkg verify`, `install` or `pack` of a bundle directory, with
 * nothing of nx loaded — the runtime's start-up, `node:crypto`, and the passes over the bytes that
 * the Nexus format makes unavoidable (docs/performance.md#the-deno-floor):
 *
 * - every file read once in 1 MiB chunks through SHA-256 (the signed index's digests);
 * - the payload through SHA-512 as well: once to verify its Ed25519 signature (the challenge
 *   hash), twice to make one (Ed25519 signing hashes the message for the nonce, then for the
 *   challenge);
 * - install and pack also write every file (0444) into a new directory, make it durable with one
 *   syncfs(2) (what core/store/fs.ts Durable does on Linux >= 5.8), rename it into place and
 *   fsync its parent.
 *
 * The signature arithmetic, the manifest, the journal and the registry are left out: the floor
 * only gets cheaper for it. `install-registry` is install's floor plus the least a libSQL registry
 * costs: the `libsql` addon loaded (as list's floor loads it) and one row committed into a new
 * registry file with nx's pragmas (WAL, synchronous=FULL).
 *
 * `list` is the floor of `nx pkg list` against `nx --version`: it loads what `nx --version` loads
 * (build/main.js, nx's start-up graph, not run), then reads the apps' summary rows (the registry's
 * own query, core/registry/summaries_sql.ts, a module that imports nothing) from the
 * registry file through the `libsql` package (the addon nx's registry uses, which needs Deno's node
 * layer) and prints them as JSON — no schema, no tree check, no licensing.
 *
 * usage (from the repository, `deno run --no-config --v8-flags=--no-lazy`, as _deno_floor.ts
 * runs it):
 *   deno_floor.ts verify <bundle dir>                        (--allow-read)
 *   deno_floor.ts install|pack <src dir> <stage> <final>     (+ --allow-write --allow-ffi)
 *   deno_floor.ts install-registry <src dir> <stage> <final> <registry.db>
 *                                                            (+ --allow-env --allow-sys)
 *   deno_floor.ts list <registry.db>                         (--allow-read --allow-env
 *                                                             --allow-ffi --allow-sys)
 * It prints the number of files and bytes it read (list: the rows as JSON).
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { SUMMARIES_SQL } from "../../core/registry/summaries_sql.ts";

const PAYLOAD = "payload.elf";
const CHUNK = 1024 * 1024;
/** Stands for the challenge's R ‖ A (its bytes do not change the cost). */
const CHALLENGE_PREFIX = new Uint8Array(64);

function files(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(rel ? `${dir}/${rel}` : dir)) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...files(dir, path));
    else if (e.isFile) out.push(path);
  }
  return out.sort();
}

/** Reads `path` once, feeding every chunk to each hash and to `write`. */
function pass(path: string, buffer: Uint8Array, sha512Passes: number, write?: Deno.FsFile) {
  const sha256 = createHash("sha256");
  const sha512 = Array.from({ length: sha512Passes }, () => createHash("sha512"));
  for (const h of sha512) h.update(CHALLENGE_PREFIX);
  const file = Deno.openSync(path);
  let bytes = 0;
  try {
    for (let n = file.readSync(buffer); n !== null && n > 0; n = file.readSync(buffer)) {
      const chunk = buffer.subarray(0, n);
      sha256.update(chunk);
      for (const h of sha512) h.update(chunk);
      if (write) { for (let at = 0; at < n;) at += write.writeSync(chunk.subarray(at)); }
      bytes += n;
    }
  } finally {
    file.close();
  }
  sha256.digest();
  for (const h of sha512) h.digest();
  return bytes;
}

/** One libc call on the directory `dir` (opened read-only): syncfs(2) or fsync(2). */
function onDir(dir: string, call: "syncfs" | "fsync"): void {
  const libc = Deno.dlopen("libc.so.6", {
    open: { parameters: ["buffer", "i32"], result: "i32" },
    syncfs: { parameters: ["i32"], result: "i32" },
    fsync: { parameters: ["i32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
  });
  try {
    const O_DIRECTORY = 0o200000;
    const fd = libc.symbols.open(new TextEncoder().encode(`${dir}\0`), O_DIRECTORY);
    if (fd < 0) throw new Error(`cannot open ${dir}`);
    const rc = libc.symbols[call](fd);
    libc.symbols.close(fd);
    if (rc !== 0) throw new Error(`${call} of ${dir} failed`);
  } finally {
    libc.close();
  }
}

/** The `libsql` package's Database class: the addon nx's registry uses, through the node layer. */
function libsqlDatabase() {
  return createRequire(new URL("../../node_modules/", import.meta.url))("libsql");
}

/** One row committed into a new registry file, with the pragmas core/registry/_open.ts sets. */
function commitRow(db: string): void {
  const Database = libsqlDatabase();
  const registry = new Database(db);
  try {
    registry.exec("PRAGMA journal_mode = WAL");
    registry.exec("PRAGMA synchronous = FULL");
    registry.exec("CREATE TABLE apps (id TEXT PRIMARY KEY, record TEXT NOT NULL)");
    registry.prepare("INSERT INTO apps VALUES (?, ?)").run("big", "{}");
  } finally {
    registry.close();
  }
}

async function list(db: string): Promise<void> {
  await import(new URL("../../build/main.js", import.meta.url).href);
  const Database = libsqlDatabase();
  const registry = new Database(db, { readonly: true });
  try {
    console.log(JSON.stringify(registry.prepare(SUMMARIES_SQL).all()));
  } finally {
    registry.close();
  }
}

function main([mode, src, stage, final, db]: string[]): void {
  const list = files(src);
  const buffer = new Uint8Array(CHUNK);
  const sha512Passes = (path: string) => path !== PAYLOAD ? 0 : mode === "pack" ? 2 : 1;
  let bytes = 0;
  if (mode === "verify") {
    for (const path of list) bytes += pass(`${src}/${path}`, buffer, sha512Passes(path));
  } else if (mode === "install" || mode === "install-registry" || mode === "pack") {
    Deno.mkdirSync(stage);
    for (const path of list) {
      const cut = path.lastIndexOf("/");
      if (cut > 0) Deno.mkdirSync(`${stage}/${path.slice(0, cut)}`, { recursive: true });
      const out = Deno.openSync(`${stage}/${path}`, { write: true, createNew: true, mode: 0o444 });
      try {
        bytes += pass(`${src}/${path}`, buffer, sha512Passes(path), out);
      } finally {
        out.close();
      }
    }
    onDir(stage, "syncfs");
    Deno.renameSync(stage, final);
    onDir(final.slice(0, final.lastIndexOf("/")) || "/", "fsync");
    if (mode === "install-registry") commitRow(db);
  } else {
    throw new Error(
      "usage: deno_floor.ts verify|install|install-registry|pack|list <src> " +
        "[<stage> <final> [<db>]]",
    );
  }
  console.log(`${list.length} files, ${bytes} bytes`);
}

if (Deno.args[0] === "list") await list(Deno.args[1]);
else main(Deno.args);
