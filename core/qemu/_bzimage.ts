/**
 * Reading a bzImage (Documentation/arch/x86/boot.rst): the setup header says where the
 * compressed kernel (an ELF vmlinux) sits — `payload_offset`/`payload_length` at 0x248/0x24c,
 * counted from the protected-mode code, which starts after the `setup_sects` + 1 sectors.
 * What scripts/extract-vmlinux finds by scanning for magic numbers, the header gives exactly.
 *
 * QEMU boots an ELF kernel that carries a PVH entry note directly in 32-bit mode (no real-mode
 * setup, no decompressor under TCG): {@link hasPvhEntry} tells whether the extracted one does.
 */

export type Compression = "xz" | "zstd" | "gzip" | "lz4" | "lzma" | "bzip2" | "lzo" | "unknown";

export interface Payload {
  compression: Compression;
  bytes: Uint8Array;
}

const MAGICS: [Compression, number[]][] = [
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
  ["gzip", [0x1f, 0x8b]],
  ["lz4", [0x02, 0x21, 0x4c, 0x18]],
  ["bzip2", [0x42, 0x5a, 0x68]],
  ["lzo", [0x89, 0x4c, 0x5a, 0x4f]],
  ["lzma", [0x5d, 0x00, 0x00]],
];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => bytes[i] === b);
}

/** The compressed kernel inside a bzImage, or an Error saying why there is none. */
export function bzImagePayload(image: Uint8Array): Payload | Error {
  if (image.length < 0x250) return new Error("too short for a bzImage");
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  // "HdrS" at 0x202, then the boot protocol version; payload fields exist from 2.08 on.
  if (view.getUint32(0x202, true) !== 0x53726448) return new Error("no bzImage setup header");
  const protocol = view.getUint16(0x206, true);
  if (protocol < 0x208) return new Error(`boot protocol ${protocol.toString(16)} has no payload`);
  const setupSects = image[0x1f1] === 0 ? 4 : image[0x1f1];
  const start = (setupSects + 1) * 512 + view.getUint32(0x248, true);
  const length = view.getUint32(0x24c, true);
  if (start + length > image.length || length === 0) return new Error("payload out of bounds");
  const bytes = image.subarray(start, start + length);
  const found = MAGICS.find(([, magic]) => startsWith(bytes, magic));
  return { compression: found?.[0] ?? "unknown", bytes };
}

const PT_NOTE = 4;
/** XEN_ELFNOTE_PHYS32_ENTRY: the PVH entry point QEMU's -kernel looks for. */
const XEN_ELFNOTE_PHYS32_ENTRY = 18;

/** Whether `elf` is a 64-bit little-endian ELF with a Xen PVH entry note. */
export function hasPvhEntry(elf: Uint8Array): boolean {
  if (elf.length < 64 || !startsWith(elf, [0x7f, 0x45, 0x4c, 0x46, 2, 1])) return false;
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const phoff = Number(view.getBigUint64(0x20, true));
  const phentsize = view.getUint16(0x36, true);
  const phnum = view.getUint16(0x38, true);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > elf.length || view.getUint32(ph, true) !== PT_NOTE) continue;
    const offset = Number(view.getBigUint64(ph + 8, true));
    const size = Number(view.getBigUint64(ph + 32, true));
    const end = Math.min(offset + size, elf.length);
    for (let at = offset; at + 12 <= end;) {
      const nameSize = view.getUint32(at, true);
      const descSize = view.getUint32(at + 4, true);
      const type = view.getUint32(at + 8, true);
      const name = new TextDecoder().decode(elf.subarray(at + 12, at + 12 + nameSize));
      if (type === XEN_ELFNOTE_PHYS32_ENTRY && name.replace(/\0+$/, "") === "Xen") return true;
      at += 12 + align4(nameSize) + align4(descSize);
    }
  }
  return false;
}

const align4 = (n: number) => (n + 3) & ~3;
