import assert from "node:assert/strict";
import { NxError } from "../errors.ts";
import { formatTarget, parseTarget, parseTargetsFile, type Target } from "./target.ts";

function refused(body: () => unknown): NxError {
  try {
    body();
  } catch (e) {
    assert.ok(e instanceof NxError, String(e));
    return e;
  }
  assert.fail("expected transport.invalid_target");
}

Deno.test("parseTarget() accepts each form and formatTarget() spells it back", async (t) => {
  const cases: [string, Target, string?][] = [
    ["local", { kind: "local" }],
    ["tcp:127.0.0.1:7000", { kind: "tcp", host: "127.0.0.1", port: 7000 }],
    ["tcp:guest.example:1", { kind: "tcp", host: "guest.example", port: 1 }],
    [
      "tcp:Guest-1.LAN:65535",
      { kind: "tcp", host: "guest-1.lan", port: 65535 },
      "tcp:guest-1.lan:65535",
    ],
    ["tcp:[::1]:7000", { kind: "tcp", host: "::1", port: 7000 }],
    ["tcp:[FE80::1:2]:22", { kind: "tcp", host: "fe80::1:2", port: 22 }, "tcp:[fe80::1:2]:22"],
    ["tcp:[::ffff:10.0.0.1]:80", { kind: "tcp", host: "::ffff:10.0.0.1", port: 80 }],
    ["tcp:[1:2:3:4:5:6:7:8]:80", { kind: "tcp", host: "1:2:3:4:5:6:7:8", port: 80 }],
    ["serial:/dev/vport0p1", { kind: "serial", path: "/dev/vport0p1" }],
    ["serial:guest.sock", { kind: "serial", path: "guest.sock" }],
  ];
  for (const [text, target, canonical] of cases) {
    await t.step(text, () => {
      assert.deepEqual(parseTarget(text), target);
      assert.equal(formatTarget(target), canonical ?? text);
      assert.deepEqual(parseTarget(formatTarget(target)), target);
    });
  }
});

Deno.test("parseTarget() refuses malformed targets with transport.invalid_target and the forms", async (t) => {
  const cases = [
    "",
    "Local",
    "tcp",
    "tcp:",
    "tcp:host",
    "tcp::7000",
    "tcp:host:",
    "tcp:host:0",
    "tcp:host:65536",
    "tcp:host:070",
    "tcp:host:+70",
    "tcp:host:7e3",
    "tcp:host:http",
    "tcp:::1:7000",
    "tcp:[::1]",
    "tcp:[::1:7000",
    "tcp:[1:2:3:4:5:6:7:8:9]:80",
    "tcp:[1::2::3]:80",
    "tcp:[::g]:80",
    "tcp:[fe80::1%eth0]:80",
    "tcp:256.0.0.1:80",
    "tcp:01.2.3.4:80",
    "tcp:-host:80",
    "tcp:ho_st:80",
    "tcp:host name:80",
    "serial:",
    "serial:/dev/tty S0",
    "serial:/dev/x\ny",
    "udp:host:80",
    "/dev/ttyS0",
  ];
  for (const text of cases) {
    await t.step(JSON.stringify(text), () => {
      const e = refused(() => parseTarget(text));
      assert.equal(e.code, "transport.invalid_target");
      assert.match(e.hint ?? "", /tcp:HOST:PORT/);
      assert.equal(e.details?.target, text);
    });
  }
});

Deno.test("parseTarget() with listen allows port 0 and refuses local", () => {
  assert.deepEqual(parseTarget("tcp:127.0.0.1:0", { listen: true }), {
    kind: "tcp",
    host: "127.0.0.1",
    port: 0,
  });
  assert.equal(
    refused(() => parseTarget("local", { listen: true })).code,
    "transport.invalid_target",
  );
  assert.equal(refused(() => parseTarget("tcp:h:0")).code, "transport.invalid_target");
});

Deno.test("parseTargetsFile() skips comments and blank lines, keeps order", () => {
  const text = [
    "# the lab",
    "tcp:10.0.0.2:7000",
    "",
    "   serial:/run/guest.sock   # the qemu chardev",
    "\ttcp:[::1]:7001\r",
    "#tcp:10.0.0.9:7000",
  ].join("\n");
  assert.deepEqual(parseTargetsFile(text), [
    { kind: "tcp", host: "10.0.0.2", port: 7000 },
    { kind: "serial", path: "/run/guest.sock" },
    { kind: "tcp", host: "::1", port: 7001 },
  ]);
  assert.deepEqual(parseTargetsFile(""), []);
});

Deno.test("parseTargetsFile() refuses a duplicate, also in another spelling", () => {
  const e = refused(() => parseTargetsFile("tcp:a.lan:1\ntcp:b.lan:1\ntcp:A.LAN:1\n"));
  assert.equal(e.code, "transport.invalid_target");
  assert.equal(e.details?.line, 3);
  assert.equal(e.details?.first, 1);
});

Deno.test("parseTargetsFile() names the line of a malformed target", () => {
  const e = refused(() => parseTargetsFile("tcp:a:1\n\ntcp:b:99999\n"));
  assert.equal(e.code, "transport.invalid_target");
  assert.equal(e.details?.line, 3);
  assert.match(e.hint ?? "", /serial:PATH/);
});
