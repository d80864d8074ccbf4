import assert from "node:assert/strict";
import { EXIT_CLASSES, NxError } from "../errors.ts";
import { fleetExit, runFleet, worstExit } from "./fleet.ts";

/** A promise each test settles by hand, so order and concurrency are decided by the test. */
function gate<T>() {
  let open!: (value: T) => void;
  let fail!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { promise, open, fail };
}

Deno.test("runFleet() runs at most `parallel` targets at once and keeps target order", async () => {
  const gates = [0, 1, 2, 3, 4].map(() => gate<string>());
  const started: number[] = [];
  let running = 0;
  let peak = 0;
  const done = runFleet([0, 1, 2, 3, 4], 2, async (i) => {
    started.push(i);
    peak = Math.max(peak, ++running);
    try {
      return await gates[i].promise;
    } finally {
      running--;
    }
  });
  await Promise.resolve();
  assert.deepEqual(started, [0, 1]);
  // finish out of order: the outcomes still follow the targets
  gates[1].open("one");
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(started, [0, 1, 2]);
  gates[2].open("two");
  gates[4].open("four");
  gates[3].open("three");
  gates[0].open("zero");
  const outcomes = await done;
  assert.equal(peak, 2);
  assert.deepEqual(started.toSorted(), [0, 1, 2, 3, 4]);
  assert.deepEqual(outcomes.map((o) => o.ok && o.result), ["zero", "one", "two", "three", "four"]);
  assert.deepEqual(outcomes.map((o) => o.target), [0, 1, 2, 3, 4]);
});

Deno.test("runFleet() never stops at a failure and keeps each target's error", async () => {
  const outcomes = await runFleet(["a", "b", "c", "d"], 1, (t) => {
    if (t === "b") throw new NxError("transport.unreachable", "cannot connect to b: refused");
    if (t === "c") return Promise.reject(new Error("boom"));
    return Promise.resolve(t.toUpperCase());
  });
  assert.deepEqual(outcomes.map((o) => o.ok), [true, false, false, true]);
  assert.equal(outcomes[0].ok && outcomes[0].result, "A");
  assert.equal(!outcomes[1].ok && outcomes[1].error.code, "transport.unreachable");
  assert.equal(!outcomes[2].ok && outcomes[2].error.code, "internal.unexpected");
  assert.equal(outcomes[3].ok && outcomes[3].result, "D");
  assert.equal(fleetExit(outcomes), EXIT_CLASSES.internal);
});

Deno.test("runFleet() with more workers than targets, and with none", async () => {
  const outcomes = await runFleet([1, 2], 8, (n) => Promise.resolve(n * 10));
  assert.deepEqual(outcomes.map((o) => o.ok && o.result), [10, 20]);
  assert.deepEqual(await runFleet([], 4, () => Promise.resolve(0)), []);
});

Deno.test("runFleet() refuses a parallel that is not a positive integer", async (t) => {
  for (const parallel of [0, -1, 1.5, NaN]) {
    await t.step(String(parallel), async () => {
      await assert.rejects(
        runFleet([1], parallel, () => Promise.resolve(1)),
        (e) => e instanceof NxError && e.code === "usage.invalid_argument",
      );
    });
  }
});

Deno.test("worstExit() is the highest exit class, success only when all succeeded", async (t) => {
  const { success, usage, validation_reject, delegate_failure, unsupported, internal } =
    EXIT_CLASSES;
  const cases: [number[], number][] = [
    [[], success],
    [[success, success], success],
    [[success, usage], usage],
    [[delegate_failure, validation_reject, success], delegate_failure],
    [[unsupported, delegate_failure], unsupported],
    [[usage, internal, validation_reject], internal],
  ];
  for (const [codes, worst] of cases) {
    await t.step(JSON.stringify(codes), () => {
      assert.equal(worstExit(codes as (typeof success)[]), worst);
    });
  }
});

Deno.test("fleetExit() counts each failure with its error's exit class", () => {
  const ok = { target: "a", ok: true as const, result: 1 };
  const failed = (code: "transport.timeout" | "agent.invalid_request") => ({
    target: "b",
    ok: false as const,
    error: new NxError(code, "cannot x: y"),
  });
  assert.equal(fleetExit([ok]), EXIT_CLASSES.success);
  assert.equal(fleetExit([ok, failed("agent.invalid_request")]), EXIT_CLASSES.usage);
  assert.equal(
    fleetExit([failed("agent.invalid_request"), ok, failed("transport.timeout")]),
    EXIT_CLASSES[new NxError("transport.timeout", "x").exitClass],
  );
});
