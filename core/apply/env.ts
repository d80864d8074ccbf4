/** What executing a plan needs: the root, the registry, runners and hooks, all injected. */
import type { MigrationStep } from "../bundle/mod.ts";
import type { Registry } from "../registry/mod.ts";
import type { Reporter } from "../pkgr/mod.ts";
import type { RootPaths } from "../store/mod.ts";
import type { Faults } from "./faults.ts";

export type MigrationRunner = (
  chain: MigrationStep[],
  bundleDir: string,
  dataDir: string,
) => Promise<void>;

export interface ApplyEnv {
  paths: RootPaths;
  registry: Registry;
  reporter: Reporter;
  faults: Faults;
  runMigrations: MigrationRunner;
}
