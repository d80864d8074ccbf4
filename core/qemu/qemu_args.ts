/**
 * The QEMU command line of a guest (docs/qemu.md explains each part). One guest is one
 * `qemu-system-x86_64` process: TCG unless asked for KVM, one vCPU, the kernel booted directly
 * (PVH when it is an uncompressed vmlinux), the console on ttyS0 into a file, two virtio disks,
 * a virtio-serial port on a unix socket, user networking with one forwarded port, fw_cfg blobs
 * for the keys, a human monitor on a unix socket — and no default devices.
 */

/** The guest agent's TCP port inside the guest (user networking forwards a host port to it). */
export const GUEST_AGENT_PORT = 7420;
/** The name of the virtio-serial port (/sys/class/virtio-ports/vport0p1/name). */
export const AGENT_PORT_NAME = "nx.agent";

export type Accel = "tcg" | "kvm";

export interface VmSpec {
  /** QEMU's -name: `nx-<guest name>`. */
  name: string;
  accel: Accel;
  memoryMiB: number;
  /** What -kernel takes (vmlinux: PVH boot; bzImage: the Linux boot protocol). */
  kernel: string;
  initrd: string;
  /** The kernel command line. */
  append: string;
  systemImage: string;
  stateImage: string;
  console: string;
  agentSocket: string;
  monitorSocket: string;
  pidFile: string;
  /** The host port forwarded to the guest's {@link GUEST_AGENT_PORT} on 127.0.0.1. */
  hostPort: number;
  /** fw_cfg blobs: name below `opt/nx/` → host file. */
  fwCfg: Record<string, string>;
  /** Fork into the background once QEMU is set up (`-daemonize`). */
  daemonize: boolean;
}

/** QEMU's option syntax: a comma inside a value is written twice. */
export const optionValue = (value: string) => value.replaceAll(",", ",,");

/**
 * The kernel command line: ttyS0 console, few messages, reboot at once on a panic; then
 * `extra` (NX_QEMU_APPEND: e.g. `loglevel=7`, `nx.serial=agent`).
 */
export function kernelCommandLine(o: { selftest: boolean; extra?: string }): string {
  const words = ["console=ttyS0", "quiet", "panic=-1", ...(o.selftest ? ["nx.selftest=1"] : [])];
  const extra = o.extra?.trim();
  return [...words, ...(extra ? [extra] : [])].join(" ");
}

export function qemuArgs(spec: VmSpec): string[] {
  const v = optionValue;
  const fwCfg = Object.entries(spec.fwCfg).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    .flatMap(([name, file]) => ["-fw_cfg", `name=opt/nx/${name},file=${v(file)}`]);
  return [
    "-name",
    v(spec.name),
    "-machine",
    "q35",
    "-accel",
    spec.accel,
    // Deno needs more than the default qemu64 model (SSE4.2, POPCNT…): all TCG can emulate.
    "-cpu",
    spec.accel === "kvm" ? "host" : "max",
    "-smp",
    "1",
    "-m",
    String(spec.memoryMiB),
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-kernel",
    v(spec.kernel),
    "-initrd",
    v(spec.initrd),
    "-append",
    spec.append,
    "-serial",
    `file:${v(spec.console)}`,
    // Guest flushes reach the image file (writeback honours them; `unsafe` would drop them).
    "-drive",
    `file=${v(spec.systemImage)},if=virtio,format=raw,readonly=on,cache=writeback`,
    "-drive",
    `file=${v(spec.stateImage)},if=virtio,format=raw,cache=writeback,discard=unmap`,
    "-device",
    "virtio-serial-pci",
    "-chardev",
    `socket,id=nxa,path=${v(spec.agentSocket)},server=on,wait=off`,
    "-device",
    `virtserialport,chardev=nxa,name=${AGENT_PORT_NAME}`,
    "-netdev",
    `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${spec.hostPort}-:${GUEST_AGENT_PORT}`,
    "-device",
    "virtio-net-pci,netdev=n0",
    ...fwCfg,
    "-monitor",
    `unix:${v(spec.monitorSocket)},server=on,wait=off`,
    "-pidfile",
    v(spec.pidFile),
    ...(spec.daemonize ? ["-daemonize"] : []),
  ];
}

/** A command line as one `sh` line (for `-v` and the docs: run QEMU by hand). */
export function shellLine(program: string, args: string[]): string {
  const quote = (s: string) =>
    /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
  return [program, ...args].map(quote).join(" ");
}
