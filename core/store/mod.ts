/** The face of core/store/: everything other folders may use. */
export * from "./apps.ts";
export * from "./bundle_reader.ts";
export * from "./copy.ts";
export * from "./faults.ts";
export * from "./fs.ts";
export * from "./lock.ts";
export * from "./paths.ts";
export * from "./root.ts";
export * from "./stage.ts";
export * from "./tree.ts";
export * from "./scan.ts";
// Descriptor-relative, link-refusing access for the transport's and the agent's own walks.
export { DirHandle, FileHandle, isErrno } from "./handles.ts";
export { DirCache, splitPath } from "./_dir_cache.ts";
export { openDirAt, unsafeEntry } from "./anchored.ts";
