/**
 * The request of every method, as one strict object (an unknown key is an error). A request means
 * the same on any side of a wire: it names no file of the caller's machine that the service would
 * open. A bundle is a {@link BundleRef} a transport can replace by an upload; `trustAdd` carries
 * the public key's text, never a key file's path (and never a secret key).
 */
import * as z from "zod";

const nonEmpty = z.string().min(1);
const flag = z.boolean().optional();

/**
 * A bundle the service reads: `{kind: "path", path}` is a bundle directory the service can open
 * itself (a local call, or a path on the agent's side). A transport ships a host's bundle as an
 * upload and names it `{kind: "upload", id, name}`: `id` is the upload the agent completed on
 * this connection, `name` the path as the host typed it. The agent opens an upload as
 * `{kind: "path", path: <its upload directory>, name}`: the service reads `path` and shows
 * `name` wherever a result, error or audit entry names the bundle (core/pkgr bundleName), so a
 * remote call reads exactly as a local one.
 */
export const BundleRefSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("path"), path: nonEmpty, name: nonEmpty.optional() }),
  z.strictObject({ kind: z.literal("upload"), id: nonEmpty, name: nonEmpty }),
]);
export type BundleRef = z.infer<typeof BundleRefSchema>;

export const VerifyRequestSchema = z.strictObject({ bundle: BundleRefSchema });
export const InspectRequestSchema = z.strictObject({ bundle: BundleRefSchema });
/**
 * install and upgrade (one shape); a downgrade means adopting newer kept data (install) or a
 * lower version (upgrade). `query`'s request is the registry's own RegistryQuery.
 */
export const UpgradeRequestSchema = z.strictObject({
  bundle: BundleRefSchema,
  dryRun: flag,
  allowDowngrade: flag,
});
/** install; `reinstall`: put the installed active version's files back from this bundle. */
export const InstallRequestSchema = UpgradeRequestSchema.extend({ reinstall: flag });
export const RollbackRequestSchema = z.strictObject({
  app: nonEmpty,
  to: nonEmpty.optional(),
  dryRun: flag,
});
/** The data stays unless `purge` (`keepData` is the default, said explicitly; not both). */
export const UninstallRequestSchema = z.strictObject({
  app: nonEmpty,
  keepData: flag,
  purge: flag,
  dryRun: flag,
});
/** Restore the active version's files from the copy nx keeps (apps/<id>/versions/<v>). */
export const RepairRequestSchema = z.strictObject({ app: nonEmpty, dryRun: flag });
/** Remove the app's data: an installed app keeps an empty data dir per retained version. */
export const ClearDataRequestSchema = z.strictObject({ app: nonEmpty, dryRun: flag });
export const ListRequestSchema = z.strictObject({});
/** `files`: also list the active version's files. */
export const InfoRequestSchema = z.strictObject({ app: nonEmpty, files: flag });
export const HistoryRequestSchema = z.strictObject({
  app: nonEmpty.optional(),
  limit: z.number().int().positive().optional(),
  /** One entry by its id (`seq`): the result is that entry alone (`audit.not_found` if none). */
  id: z.number().int().positive().optional(),
});
export const DoctorRequestSchema = z.strictObject({ repair: flag });
export const TrustAddRequestSchema = z.strictObject({
  /** The key as SPKI PEM text (what `nx pkg keygen` writes to NAME.pub). */
  publicKey: z.string(),
  /** Add the key to this existing publisher (key rotation) instead of the key's own id. */
  publisher: nonEmpty.optional(),
  name: z.string().optional(),
  /** false: add the publisher disabled (default true). */
  enabled: flag,
});
export const TrustRemoveRequestSchema = z.strictObject({
  /** Publisher id or name. */
  id: nonEmpty,
});
export const TrustListRequestSchema = z.strictObject({});
/** `nx pkg init`: create the root (idempotent). */
export const InitRequestSchema = z.strictObject({});
export const PolicyShowRequestSchema = z.strictObject({});
export const PolicySetRequestSchema = z.strictObject({
  /** As the command line spells it: `dev-mode`, `retain-versions`, … */
  key: z.string(),
  /** on|off for switches, a number, or a word such as strict (parsed by the service). */
  value: z.string(),
});

export type VerifyRequest = z.infer<typeof VerifyRequestSchema>;
export type InspectRequest = z.infer<typeof InspectRequestSchema>;
export type InstallRequest = z.infer<typeof InstallRequestSchema>;
export type UpgradeRequest = z.infer<typeof UpgradeRequestSchema>;
export type RollbackRequest = z.infer<typeof RollbackRequestSchema>;
export type UninstallRequest = z.infer<typeof UninstallRequestSchema>;
export type RepairRequest = z.infer<typeof RepairRequestSchema>;
export type ClearDataRequest = z.infer<typeof ClearDataRequestSchema>;
export type ListRequest = z.infer<typeof ListRequestSchema>;
export type InfoRequest = z.infer<typeof InfoRequestSchema>;
export type HistoryRequest = z.infer<typeof HistoryRequestSchema>;
export type DoctorRequest = z.infer<typeof DoctorRequestSchema>;
export type TrustAddRequest = z.infer<typeof TrustAddRequestSchema>;
export type TrustRemoveRequest = z.infer<typeof TrustRemoveRequestSchema>;
export type TrustListRequest = z.infer<typeof TrustListRequestSchema>;
export type InitRequest = z.infer<typeof InitRequestSchema>;
export type PolicyShowRequest = z.infer<typeof PolicyShowRequestSchema>;
export type PolicySetRequest = z.infer<typeof PolicySetRequestSchema>;
