/**
 * Keys an agent trusts on its root before it listens (`nx agent --trust`, `--trust-store`): the
 * guest's init hands over the keys the host asked for at `nx qemu up`, and the agent adds them in
 * its own process, through the same methods as `nx pkg trust add` and `nx licensed trust add` —
 * one Deno start fewer per key, which under TCG is seconds each. A key already trusted is left as
 * it is (and said trusted); one that cannot be added is a warning, and the agent serves anyway (a
 * guest whose package service did not start helps no one).
 */
import { type CallContext, errorValue, type Pkgr, type Reporter } from "../api/mod.ts";
import { NxError } from "../errors.ts";

export interface ProvisionKeys {
  /** PEM texts of publisher keys (`pkg/publishers.toml`). */
  publishers: readonly string[];
  /** PEM texts of store keys that sign entitlements (`pkg/store_keys.toml`). */
  stores: readonly string[];
}

const ALREADY = new Set(["policy.already_trusted", "entitlement.store_already_trusted"]);

/** Trusts each key of `keys` on `pkgr`'s root; says `agent: trusted …` of each one trusted. */
export async function provisionKeys(pkgr: Pkgr, keys: ProvisionKeys, log: Reporter) {
  const call = (): CallContext => ({ now: new Date(), reporter: log });
  const add = async (what: string, run: () => Promise<{ id: string }>) => {
    let id: string;
    try {
      ({ id } = await run());
    } catch (e) {
      const held = e instanceof NxError && ALREADY.has(e.code) ? e.details?.id : undefined;
      if (typeof held !== "string") {
        const { code, message } = errorValue(e);
        log.emit({ kind: "warning", code, message: `cannot trust a ${what} key: ${message}` });
        return;
      }
      id = held;
    }
    log.emit({ kind: "marker", text: `agent: trusted ${what} ${id}` });
  };
  for (const publicKey of keys.publishers) {
    await add("publisher", () => pkgr.trustAdd({ publicKey, enabled: true }, call()));
  }
  for (const publicKey of keys.stores) {
    await add("store key", () => pkgr.licensedTrustAdd({ publicKey }, call()));
  }
}
