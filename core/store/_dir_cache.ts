/** A tree's directories opened lazily below its top, one component at a time, never through a link. */
import { type DirHandle, isErrno } from "./handles.ts";

/** Opens the directories of a tree lazily (creating them with `create`, when given). */
export class DirCache {
  #open = new Map<string, DirHandle>();

  constructor(private readonly top: DirHandle, private readonly create?: number) {}

  get(rel: string, onUnsafe: (rel: string) => Error): DirHandle {
    if (rel === "") return this.top;
    const hit = this.#open.get(rel);
    if (hit) return hit;
    const cut = rel.lastIndexOf("/");
    const parent = this.get(cut < 0 ? "" : rel.slice(0, cut), onUnsafe);
    const name = rel.slice(cut + 1);
    if (this.create !== undefined) parent.mkdir(name, this.create);
    try {
      const dir = parent.openDir(name);
      this.#open.set(rel, dir);
      return dir;
    } catch (e) {
      if (isErrno(e, "ELOOP", "ENOTDIR")) throw onUnsafe(rel);
      throw e;
    }
  }

  close(): void {
    for (const dir of this.#open.values()) dir.close();
    this.top.close();
  }
}

/** A bundle-relative path's directory ("" at the top) and last component. */
export function splitPath(path: string): { dir: string; name: string } {
  const cut = path.lastIndexOf("/");
  return { dir: cut < 0 ? "" : path.slice(0, cut), name: path.slice(cut + 1) };
}
