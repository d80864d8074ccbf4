/**
 * Whether a payload is a program this machine runs: an x86-64 Linux host and a 64-bit
 * little-endian x86-64 ELF executable (a position-dependent or position-independent one).
 */
import { NxError } from "../errors.ts";

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const EM_X86_64 = 0x3e;

export interface Host {
  os: string;
  arch: string;
}

function unsupported(app: string, why: string, details: Record<string, unknown>): NxError {
  return new NxError("launch.unsupported", `cannot launch ${app}: ${why}`, {
    details: { app, ...details },
    hint: "nx runs x86-64 Linux ELF programs; this app needs another runtime or machine",
  });
}

export function checkHost(app: string, host: Host): void {
  if (host.os !== "linux" || host.arch !== "x86_64") {
    throw unsupported(app, `this machine is ${host.os}/${host.arch}, not linux/x86_64`, {
      host: `${host.os}/${host.arch}`,
    });
  }
}

/** Reads e_ident, e_type and e_machine (the first 20 bytes; little-endian fields). */
export function checkElfHeader(app: string, header: Uint8Array): void {
  if (header.length < 20 || !ELF_MAGIC.every((b, i) => header[i] === b)) {
    throw unsupported(app, "its payload is not an ELF file", { elf: false });
  }
  const [elfClass, data] = [header[4], header[5]];
  const type = header[16] | (header[17] << 8);
  const machine = header[18] | (header[19] << 8);
  if (elfClass !== ELFCLASS64 || data !== ELFDATA2LSB || machine !== EM_X86_64) {
    throw unsupported(app, "its payload is not a 64-bit little-endian x86-64 program", {
      elfClass,
      data,
      machine,
    });
  }
  if (type !== ET_EXEC && type !== ET_DYN) {
    throw unsupported(app, "its payload is an ELF file but not an executable", { type });
  }
}
