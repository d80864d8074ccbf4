/**
 * The documented dev store of the fixtures (docs/licensing.md#the-dev-store): its name and the
 * id of its key, fixtures/keys/licensing.pub (seed `seedFor("licensing")` in
 * fixtures/catalog.ts). The secret half stays with the store fixture; a root only trusts the
 * public key (`nx licensed trust add fixtures/keys/licensing.pub`).
 */

export const DEV_STORE = {
  /** The catalog's `store` name. */
  name: "nx-dev-store",
  /** 32 hex: fingerprint of fixtures/keys/licensing.pub. */
  keyId: "0e89db5480c25936a037f11826d133d6",
  /** Paths relative to the fixtures dir. */
  publicKeyFile: "keys/licensing.pub",
  secretKeyFile: "keys/licensing.key",
  catalogFile: "store/catalog.toml",
  catalogSigFile: "store/catalog.toml.sig",
} as const;
