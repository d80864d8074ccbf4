import assert from "node:assert/strict";
import { kernelCommandLine, optionValue, qemuArgs, shellLine, type VmSpec } from "./qemu_args.ts";

const spec = (over: Partial<VmSpec> = {}): VmSpec => ({
  name: "nx-default",
  accel: "tcg",
  memoryMiB: 512,
  kernel: "/c/image-1/kernel",
  initrd: "/c/image-1/initrd",
  append: kernelCommandLine({ selftest: false }),
  systemImage: "/c/image-1/system.img",
  stateImage: "/s/default/state.img",
  console: "/s/default/console.log",
  agentSocket: "/s/default/agent.sock",
  monitorSocket: "/s/default/monitor.sock",
  pidFile: "/s/default/qemu.pid",
  hostPort: 40001,
  fwCfg: { authorized_keys: "/s/default/authorized_keys" },
  daemonize: true,
  ...over,
});

/** The value after each occurrence of `flag`. */
const values = (args: string[], flag: string) =>
  args.flatMap((a, i) => a === flag ? [args[i + 1]] : []);

Deno.test("qemuArgs() makes the guest's devices, one of each, and no default ones", () => {
  const args = qemuArgs(spec());
  assert.ok(args.includes("-nodefaults") && args.includes("-no-user-config"));
  assert.deepEqual(values(args, "-accel"), ["tcg"]);
  assert.deepEqual(values(args, "-cpu"), ["max"]);
  assert.deepEqual(values(args, "-smp"), ["1"]);
  assert.deepEqual(values(args, "-m"), ["512"]);
  assert.deepEqual(values(args, "-serial"), ["file:/s/default/console.log"]);
  assert.deepEqual(values(args, "-drive"), [
    "file=/c/image-1/system.img,if=virtio,format=raw,readonly=on,cache=writeback",
    "file=/s/default/state.img,if=virtio,format=raw,cache=writeback,discard=unmap",
  ]);
  assert.deepEqual(values(args, "-chardev"), [
    "socket,id=nxa,path=/s/default/agent.sock,server=on,wait=off",
  ]);
  assert.deepEqual(values(args, "-device"), [
    "virtio-serial-pci",
    "virtserialport,chardev=nxa,name=nx.agent",
    "virtio-net-pci,netdev=n0",
  ]);
  assert.deepEqual(values(args, "-netdev"), [
    "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:40001-:7420",
  ]);
  assert.deepEqual(values(args, "-monitor"), [
    "unix:/s/default/monitor.sock,server=on,wait=off",
  ]);
  assert.deepEqual(values(args, "-fw_cfg"), [
    "name=opt/nx/authorized_keys,file=/s/default/authorized_keys",
  ]);
  assert.equal(args.at(-1), "-daemonize");
  // A power cut (system_reset) must reboot the guest, and a guest power-off must end QEMU.
  assert.ok(!args.includes("-no-reboot") && !args.includes("-no-shutdown"));
});

Deno.test("qemuArgs() never asks for a cache mode that drops the guest's flushes", () => {
  for (const drive of values(qemuArgs(spec()), "-drive")) {
    assert.match(drive, /cache=writeback/);
    assert.doesNotMatch(drive, /cache=unsafe|cache\.no-flush/);
  }
});

Deno.test("qemuArgs() sorts fw_cfg blobs, takes KVM's host CPU, stays in the foreground", () => {
  const args = qemuArgs(
    spec({ accel: "kvm", fwCfg: { trust: "/t.pem", authorized_keys: "/a" }, daemonize: false }),
  );
  assert.deepEqual(values(args, "-fw_cfg"), [
    "name=opt/nx/authorized_keys,file=/a",
    "name=opt/nx/trust,file=/t.pem",
  ]);
  assert.deepEqual(values(args, "-cpu"), ["host"]);
  assert.ok(!args.includes("-daemonize"));
});

Deno.test("optionValue() doubles commas, as QEMU's option syntax wants", () => {
  assert.equal(optionValue("/home/a,b/console.log"), "/home/a,,b/console.log");
  const args = qemuArgs(spec({ console: "/x,y/console.log" }));
  assert.deepEqual(values(args, "-serial"), ["file:/x,,y/console.log"]);
});

Deno.test("kernelCommandLine() asks for the selftest only when told", () => {
  assert.equal(kernelCommandLine({ selftest: false }), "console=ttyS0 quiet panic=-1");
  assert.equal(kernelCommandLine({ selftest: true }), "console=ttyS0 quiet panic=-1 nx.selftest=1");
  assert.equal(
    kernelCommandLine({ selftest: false, extra: " loglevel=7 nx.serial=agent " }),
    "console=ttyS0 quiet panic=-1 loglevel=7 nx.serial=agent",
  );
  assert.equal(kernelCommandLine({ selftest: false, extra: "" }), "console=ttyS0 quiet panic=-1");
});

Deno.test("shellLine() quotes what sh would split or expand", () => {
  assert.equal(
    shellLine("qemu", ["-append", "console=ttyS0 quiet", "-name", "it's"]),
    `qemu -append 'console=ttyS0 quiet' -name 'it'\\''s'`,
  );
  assert.equal(shellLine("qemu", ["-m", "512", "file=/a,b"]), "qemu -m 512 file=/a,b");
});
