import assert from "node:assert/strict";
import { bootId, isDead, parseStat, procArgv, procStat, readProc } from "./_process.ts";

Deno.test("parseStat() reads state, group, session and start time past a hostile name", async (t) => {
  const tail = "S 1 4242 4242 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
  const cases: [string, string][] = [
    ["a plain name", `4242 (deno) ${tail}`],
    ["spaces and parentheses", `4242 (a) S 9 9 9 (x)) ${tail}`],
  ];
  for (const [name, text] of cases) {
    await t.step(name, () => {
      assert.deepEqual(parseStat(text), {
        state: "S",
        pgrp: 4242,
        session: 4242,
        startTicks: 987654,
      });
    });
  }
  await t.step("garbage", () => assert.equal(parseStat("no stat here"), undefined));
});

Deno.test("procStat() and procArgv() describe this process; a free pid is undefined", () => {
  const me = procStat(Deno.pid);
  assert.ok(me);
  assert.equal(isDead(me), false);
  assert.ok(me.startTicks > 0);
  // Linux never hands out a pid above 2^22 (PID_MAX_LIMIT).
  assert.equal(procStat(2 ** 22 + 1), undefined);
  assert.ok(procArgv(Deno.pid).length > 0);
  assert.deepEqual(procArgv(2 ** 22 + 1), []);
  assert.equal(readProc("/proc/nonexistent-entry"), undefined);
});

Deno.test("bootId() is a stable id of this boot", () => {
  assert.match(bootId(), /^[0-9a-f-]{36}$/);
  assert.equal(bootId(), bootId());
});

Deno.test("isDead() treats a zombie as dead", () => {
  assert.equal(isDead(undefined), true);
  assert.equal(isDead({ state: "Z", pgrp: 1, session: 1, startTicks: 1 }), true);
  assert.equal(isDead({ state: "D", pgrp: 1, session: 1, startTicks: 1 }), false);
});
