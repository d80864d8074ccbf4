/**
 * The kernel modules the guest loads, in dependency order. A Debian kernel package ships no
 * modules.dep (its postinst runs depmod), so the dependencies come from each module's own
 * `.modinfo` section: NUL-separated `key=value` strings, `depends=a,b` among them — what
 * modinfo prints. Soft dependencies (`softdep=pre: crypto-crc32c`) name aliases, not files:
 * the modules they stand for are listed in {@link GUEST_MODULES} themselves.
 */

/**
 * What init loads (with their dependencies, before them): the virtio devices on PCI, ext4
 * (and crc32c_generic, ext4's checksum, which TCG's CPU has no instruction for), fw_cfg for
 * the keys, and the ACPI power button with evdev, whose event is the guest's power-off request.
 */
export const GUEST_MODULES = [
  "virtio_pci",
  "virtio_blk",
  "virtio_console",
  "virtio_net",
  "crc32c_generic",
  "ext4",
  "qemu_fw_cfg",
  "evdev",
  "button",
];

/** A module's name as depends= spells it: file name without .ko, `-` as `_`. */
export function moduleName(fileName: string): string {
  return fileName.replace(/\.ko(\.(xz|zst|gz))?$/, "").replaceAll("-", "_");
}

/** The `depends=` list of a module file's modinfo strings. */
export function moduleDepends(ko: Uint8Array): string[] {
  const marker = new TextEncoder().encode("depends=");
  for (let at = 0; at + marker.length <= ko.length; at++) {
    if (at > 0 && ko[at - 1] !== 0) continue;
    if (!marker.every((b, i) => ko[at + i] === b)) continue;
    let end = at + marker.length;
    while (end < ko.length && ko[end] !== 0) end++;
    const value = new TextDecoder().decode(ko.subarray(at + marker.length, end));
    return value.split(",").filter((n) => n !== "").map((n) => n.replaceAll("-", "_"));
  }
  return [];
}

/**
 * The load order of `wanted` and everything they depend on: each module after its
 * dependencies, otherwise in the order asked. A missing module or a cycle is an Error.
 */
export function loadOrder(
  wanted: string[],
  dependsOf: (name: string) => string[] | undefined,
): string[] | Error {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]): Error | undefined => {
    if (state.get(name) === "done") return undefined;
    if (state.get(name) === "visiting") return new Error(`cycle ${[...path, name].join(" → ")}`);
    const deps = dependsOf(name);
    if (deps === undefined) {
      return new Error(`module ${name} not found${path.length ? ` (for ${path.at(-1)})` : ""}`);
    }
    state.set(name, "visiting");
    for (const dep of deps) {
      const problem = visit(dep, [...path, name]);
      if (problem) return problem;
    }
    state.set(name, "done");
    order.push(name);
    return undefined;
  };
  for (const name of wanted) {
    const problem = visit(name, []);
    if (problem) return problem;
  }
  return order;
}
