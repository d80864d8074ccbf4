import assert from "node:assert/strict";
import { join } from "node:path";
import type { ProgressEvent } from "../api/mod.ts";
import type { NxError } from "../errors.ts";
import { appPaths } from "../store/mod.ts";
import { launchApp } from "./launch.ts";
import {
  assertGone,
  assertNoCopyLeft,
  call,
  code,
  fileExists,
  installApp,
  installShell,
  options,
  SH,
  waitFor,
} from "./_launch_testing.ts";

Deno.test("launchApp() runs the payload in the data directory with the args and a cleared environment", async () => {
  const app = await installShell();
  const events: ProgressEvent[] = [];
  const script = 'pwd; echo "$0|$1|$2"; exe=$(readlink /proc/$$/exe); ' +
    'stat -c "%a %n" "$exe" "${exe%/*}"; env | sort; echo ran > ran.txt; echo oops >&2';
  const result = await launchApp(
    options(app, ["-c", script, "first", "two words", "third"], {
      reporter: call(events).reporter,
    }),
  );
  const data = await Deno.realPath(app.data);
  const [cwd, argv, exe, exeDir, ...env] = result.stdout!.trimEnd().split("\n");
  assert.equal(cwd, data);
  assert.equal(argv, "first|two words|third");
  // What ran is the private copy (0700 in a 0700 directory of the scratch dir), not the root's.
  const [copyMode, copyPath] = exe.split(" ");
  const [dirMode, dirPath] = exeDir.split(" ");
  assert.deepEqual([copyMode, dirMode], ["700", "700"]);
  assert.equal(copyPath, `${dirPath}/shell`);
  assert.ok(dirPath.startsWith(`${await Deno.realPath(app.scratch)}/nx-launch-`), dirPath);
  assert.deepEqual(env.filter((line) => !line.startsWith("PWD=")), [
    `HOME=${data}`,
    "LANG=C.UTF-8",
    "NX_APP_ID=shell",
    "NX_APP_VERSION=1.0.0",
    "PATH=/usr/bin:/bin",
  ]);
  assert.equal(result.stderr, "oops\n");
  assert.equal(result.exitCode, 0);
  assert.equal(result.stdoutTruncated, false);
  assert.equal(await Deno.readTextFile(join(app.data, "ran.txt")), "ran\n");
  assert.deepEqual(events, [{ kind: "marker", text: "pkgr: launch app=shell v=1.0.0" }]);
  await assertNoCopyLeft(app);
});

Deno.test("launchApp() in capture mode keeps the first 64 KiB of each stream", async () => {
  const app = await installShell();
  const script = "head -c 200000 /dev/zero | tr '\\0' a; head -c 70000 /dev/zero | tr '\\0' b >&2";
  const result = await launchApp(options(app, ["-c", script]));
  assert.equal(result.stdout, "a".repeat(64 * 1024));
  assert.equal(result.stderr, "b".repeat(64 * 1024));
  assert.equal(result.stdoutTruncated, true);
  assert.equal(result.stderrTruncated, true);
  await assertNoCopyLeft(app);
});

Deno.test("launchApp() of a program that exits non-zero is launch.failed with its exit code", async () => {
  const app = await installShell();
  await assert.rejects(launchApp(options(app, ["-c", "echo bad >&2; exit 3"])), (e) => {
    assert.equal(code(e), "launch.failed");
    const d = (e as NxError).details!;
    assert.deepEqual([d.app, d.version, d.exitCode, d.signal, d.stderr], [
      "shell",
      "1.0.0",
      3,
      null,
      "bad\n",
    ]);
    return true;
  });
  await assertNoCopyLeft(app);
});

Deno.test("launchApp() of a program killed by a signal is launch.failed with the signal", async () => {
  const app = await installShell();
  await assert.rejects(launchApp(options(app, ["-c", "kill -KILL $$"])), (e) => {
    assert.equal(code(e), "launch.failed");
    assert.deepEqual((e as NxError).details!.exitCode, null);
    assert.deepEqual((e as NxError).details!.signal, "SIGKILL");
    return true;
  });
  await assertNoCopyLeft(app);
});

Deno.test("launchApp() of a payload changed after install is integrity.file_digest_mismatch and runs nothing", async (t) => {
  const app = await installShell();
  const payload = join(appPaths(app.paths, "shell").version("1.0.0"), "payload.elf");
  const original = await Deno.readFile(payload);
  const args = ["-c", "echo ran > ran.txt"];
  const cases: [string, (bytes: Uint8Array) => Uint8Array][] = [
    ["one flipped byte", (b) => b.map((x, i) => i === 1000 ? x ^ 1 : x)],
    ["one byte more", (b) => new Uint8Array([...b, 0])],
    ["one byte less", (b) => b.subarray(0, b.length - 1)],
  ];
  for (const [name, change] of cases) {
    await t.step(name, async () => {
      await Deno.chmod(payload, 0o644);
      await Deno.writeFile(payload, change(original));
      await assert.rejects(
        launchApp(options(app, args)),
        (e) => code(e) === "integrity.file_digest_mismatch",
      );
      assert.equal(await fileExists(join(app.data, "ran.txt")), false, "nothing ran");
      await assertNoCopyLeft(app);
    });
  }
  await t.step("a link in place of the payload", async () => {
    await Deno.remove(payload);
    await Deno.symlink(SH, payload);
    await assert.rejects(launchApp(options(app, args)), (e) => code(e) === "root.unsafe_entry");
    await assertNoCopyLeft(app);
  });
  await t.step("no payload", async () => {
    await Deno.remove(payload);
    await assert.rejects(
      launchApp(options(app, args)),
      (e) => code(e) === "integrity.file_missing",
    );
    await assertNoCopyLeft(app);
  });
  assert.equal(await fileExists(join(app.data, "ran.txt")), false, "nothing ran");
});

Deno.test("launchApp() cancelled stops the program's whole group (op.cancelled)", async (t) => {
  const cases: [string, string][] = [
    ["it dies of SIGTERM", ""],
    ["it ignores SIGTERM: SIGKILL after the grace time", "trap '' TERM; "],
  ];
  for (const [name, prelude] of cases) {
    await t.step(name, async () => {
      const app = await installShell();
      const controller = new AbortController();
      const script = `${prelude}sleep 600 & echo $! > sleep.pid; echo up > started; wait`;
      const running = launchApp(
        options(app, ["-c", script], { signal: controller.signal, graceMs: 50 }),
      );
      await waitFor(join(app.data, "started"), running);
      controller.abort();
      await assert.rejects(running, (e) => {
        assert.equal(code(e), "op.cancelled");
        const d = (e as NxError).details!;
        assert.equal(d.signal, prelude === "" ? "SIGTERM" : "SIGKILL");
        return true;
      });
      await assertGone(join(app.data, "sleep.pid"));
      await assertNoCopyLeft(app);
    });
  }
});

Deno.test("launchApp() with inherited stdio hands the program nx's descriptors, keeps no output", async () => {
  const app = await installShell();
  // Command substitution runs in a subshell: /proc/$$ is still the program's own descriptors.
  const script = 'fds=$(readlink /proc/$$/fd/1 /proc/$$/fd/2); echo "$fds" > fds.txt';
  const inherited = await launchApp(options(app, ["-c", script], { stdio: "inherit" }));
  assert.deepEqual([inherited.stdout, inherited.stderr], [undefined, undefined]);
  const fds = (await Deno.readTextFile(join(app.data, "fds.txt"))).trim().split("\n");
  assert.equal(fds.length, 2);
  assert.ok(fds.every((fd) => fd !== "/dev/null" && !fd.startsWith("/dev/null")), `${fds}`);
  await assertNoCopyLeft(app);
});

Deno.test("launchApp() kills what the program left running in its group when it exits", async () => {
  const app = await installShell();
  await launchApp(options(app, ["-c", "sleep 600 & echo $! > sleep.pid"]));
  await assertGone(join(app.data, "sleep.pid"));
  await assertNoCopyLeft(app);
});

Deno.test("launchApp() refuses what it cannot run (launch.unsupported) and runs nothing", async (t) => {
  const sh = await Deno.readFile(SH);
  await t.step("an ELF for another machine (e_machine aarch64)", async () => {
    const arm = sh.slice();
    arm.set([0xb7, 0x00], 18);
    const app = await installApp("armapp", arm);
    await assert.rejects(
      launchApp(options(app, ["-c", "echo ran > ran.txt"])),
      (e) => code(e) === "launch.unsupported",
    );
    assert.equal(await fileExists(join(app.data, "ran.txt")), false);
    await assertNoCopyLeft(app);
  });
  await t.step("a 32-bit ELF", async () => {
    const elf32 = sh.slice();
    elf32[4] = 1;
    const app = await installApp("elf32", elf32);
    await assert.rejects(launchApp(options(app, [])), (e) => code(e) === "launch.unsupported");
    await assertNoCopyLeft(app);
  });
  await t.step("a ui program", async () => {
    const app = await installApp("uiapp", new TextEncoder().encode("nxir 1\n"), "ui-program");
    await assert.rejects(launchApp(options(app, [])), (e) => code(e) === "launch.unsupported");
    await assertNoCopyLeft(app);
  });
  await t.step("a host that is not x86-64 Linux", async () => {
    const app = await installShell("hosted");
    for (const host of [{ os: "linux", arch: "aarch64" }, { os: "darwin", arch: "x86_64" }]) {
      await assert.rejects(
        launchApp(options(app, [], { host })),
        (e) => code(e) === "launch.unsupported",
      );
    }
    await assertNoCopyLeft(app);
  });
  await t.step("a record whose active version lists no payload.elf", async () => {
    const app = await installShell("nopayload");
    const record = {
      ...app.record,
      versions: app.record.versions.map((v) => ({
        ...v,
        files: v.files.filter((f) => f.path !== "payload.elf"),
      })),
    };
    await assert.rejects(
      launchApp(options({ ...app, record }, ["-c", "echo ran > ran.txt"])),
      (e) => code(e) === "launch.unsupported",
    );
    assert.equal(await fileExists(join(app.data, "ran.txt")), false);
    await assertNoCopyLeft(app);
  });
});

Deno.test("launchApp() refuses a missing data directory (root.invalid) and creates nothing", async () => {
  const app = await installShell();
  await Deno.remove(app.data, { recursive: true });
  await assert.rejects(launchApp(options(app, ["-c", "true"])), (e) => code(e) === "root.invalid");
  assert.equal(await fileExists(app.data), false);
  await assertNoCopyLeft(app);
});

Deno.test("launchApp() refuses a data directory that is a link (root.unsafe_entry)", async () => {
  const app = await installShell();
  const elsewhere = await Deno.makeTempDir({ prefix: "nx-launch-elsewhere-" });
  await Deno.remove(app.data, { recursive: true });
  await Deno.symlink(elsewhere, app.data);
  await assert.rejects(
    launchApp(options(app, ["-c", "echo ran > ran.txt"])),
    (e) => code(e) === "root.unsafe_entry",
  );
  assert.equal(await fileExists(join(elsewhere, "ran.txt")), false);
  await assertNoCopyLeft(app);
});

Deno.test("launchApp() with an aborted signal runs nothing (op.cancelled)", async () => {
  const app = await installShell();
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    launchApp(options(app, ["-c", "echo ran > ran.txt"], { signal: controller.signal })),
    (e) => code(e) === "op.cancelled",
  );
  assert.equal(await fileExists(join(app.data, "ran.txt")), false);
  await assertNoCopyLeft(app);
});
