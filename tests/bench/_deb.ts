/**
 * The dpkg peer: the same files as a bundle, packed as a `.deb` under /opt/<name>/ and installed
 * with `dpkg -i` into a private dpkg root (its own admin dir), never the system's.
 *
 * dpkg's default I/O is the safe one: every unpacked file is written as `<name>.dpkg-new`,
 * writeback is started with sync_file_range(2), then each file is fsynced before the renames.
 * Container images often turn that off in /etc/dpkg/dpkg.cfg.d/ (`force-unsafe-io`, as Docker's
 * `docker-apt-speedup` does, and as this machine's image does); `--refuse-unsafe-io` on the
 * command line (dpkg's `--no-force-…`/`--refuse-…` negation, parsed after the config files)
 * restores the default, so the peer is measured with the durability dpkg ships with.
 */
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { canRun, type Cmd, runProcess } from "./_measure.ts";

/** The dpkg options of every peer run; see the module comment for `--refuse-unsafe-io`. */
export const DPKG_FLAGS = [
  "--log=/dev/null",
  "--force-not-root",
  "--refuse-unsafe-io",
];

/** True when both `dpkg` and `dpkg-deb` can be spawned. */
export async function dpkgAvailable(): Promise<boolean> {
  return await canRun("dpkg", ["--version"]) && await canRun("dpkg-deb", ["--version"]);
}

/**
 * Builds `<dir>/<name>_<version>.deb` holding every file of `bundle` under /opt/<name>/ plus
 * DEBIAN/control. data.tar is stored uncompressed (`-Znone`): nx reads an uncompressed bundle
 * directory, so neither side pays for decompression.
 */
export async function buildDeb(
  bundle: string,
  dir: string,
  name: string,
  version: string,
): Promise<string> {
  const stage = join(dir, `deb-stage-${name}`);
  await Deno.mkdir(join(stage, "DEBIAN"), { recursive: true });
  await cp(bundle, join(stage, "opt", name), { recursive: true });
  await Deno.writeTextFile(
    join(stage, "DEBIAN", "control"),
    [
      `Package: ${name}`,
      `Version: ${version}`,
      "Architecture: all",
      "Maintainer: nx bench <bench@invalid>",
      "Description: nx bench peer: the files of an nx bundle",
      "",
    ].join("\n"),
  );
  const deb = join(dir, `${name}_${version}.deb`);
  await runProcess({
    cmd: "dpkg-deb",
    args: ["--root-owner-group", "-Znone", "--build", stage, deb],
  });
  await Deno.remove(stage, { recursive: true });
  return deb;
}

/** An empty dpkg root at `root`: the admin dir with an empty status database. */
export async function freshDpkgRoot(root: string): Promise<string> {
  const admin = join(root, "var", "lib", "dpkg");
  for (const sub of ["info", "updates", "triggers"]) {
    await Deno.mkdir(join(admin, sub), { recursive: true });
  }
  await Deno.writeFile(join(admin, "status"), new Uint8Array());
  return root;
}

/** `dpkg --root=<root> <DPKG_FLAGS> -i <deb>`: installs into `root`, admin dir inside it. */
export function dpkgInstallCmd(root: string, deb: string): Cmd {
  return { cmd: "dpkg", args: [`--root=${root}`, ...DPKG_FLAGS, "-i", deb] };
}
