/**
 * The selftest installs bundles signed by the fixture key: the root must trust that publisher,
 * enabled, with that key — checked before anything is installed, so an untrusted root is refused
 * with the code an install would fail with and a hint that says how to trust it.
 */
import type { CallContext, Pkgr } from "../api/mod.ts";
import { NxError } from "../errors.ts";
import type { Fixture } from "./fixtures.ts";

const HINT = "trust the fixture key on that root first: `nx pkg trust add fixtures/keys/dev.pub " +
  "--name dev` (a QEMU guest: `nx qemu up --trust fixtures/keys/dev.pub`)";

export async function expectTrusted(pkgr: Pkgr, call: CallContext, fixtures: Fixture[]) {
  const publishers = await pkgr.trustList({}, call);
  for (const f of fixtures) {
    const entry = publishers.find((p) => p.id === f.publisher);
    const details = { publisher: f.publisher, key: f.key, bundle: f.id };
    if (entry === undefined) {
      throw new NxError(
        "policy.publisher_unknown",
        `cannot run the selftest: the root does not trust publisher ${f.publisher} (${f.id})`,
        { hint: HINT, details },
      );
    }
    if (!entry.enabled) {
      throw new NxError(
        "policy.disabled",
        `cannot run the selftest: publisher ${f.publisher} is disabled on the root`,
        { hint: HINT, details },
      );
    }
    if (!entry.keys.includes(f.key)) {
      throw new NxError(
        "policy.key_unknown",
        `cannot run the selftest: the root does not list key ${f.key} for publisher ${f.publisher}`,
        { hint: HINT, details },
      );
    }
  }
}
