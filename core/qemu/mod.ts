/**
 * The face of core/qemu/: the guest image build (image.ts), the VM lifecycle (vm.ts), the
 * console log as a marker log (console.ts) and the QEMU monitor (monitor.ts) behind
 * `nx qemu build|up|down|status|console` — docs/qemu.md.
 */
export * from "./console.ts";
export * from "./image.ts";
export * from "./monitor.ts";
export * from "./paths.ts";
export * from "./qemu_args.ts";
export * from "./vm.ts";
