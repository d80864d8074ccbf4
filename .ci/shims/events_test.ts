import assert from "node:assert/strict";
import { EventEmitter as NodeEmitter } from "node:events";
import { EventEmitter } from "./events.ts";

interface Emitter {
  on(type: string, listener: (...args: unknown[]) => unknown): unknown;
  emit(type: string, ...args: unknown[]): boolean;
  listenerCount(type: string): number;
}

/** What commander does with its emitter, traced: the same trace from both implementations. */
function scenario(make: () => Emitter): unknown[] {
  const trace: unknown[] = [];
  class Command extends (make().constructor as new () => Emitter) {}
  const e = new Command();
  trace.push(e.emit("option:x", 1), e.listenerCount("option:x"));
  e.on("newListener", (type) => trace.push(["new", type, e.listenerCount(String(type))]));
  e.on("option:x", function (this: unknown, ...args) {
    trace.push(["first", this === e, args]);
    e.on("option:x", () => trace.push("added while emitting"));
  });
  e.on("option:x", (...args) => trace.push(["second", args]));
  trace.push(e.emit("option:x", "a", "b"), e.listenerCount("option:x"));
  trace.push(e.emit("option:x"), e.listenerCount("option:x"), e.listenerCount("nope"));
  try {
    e.emit("error", new RangeError("boom"));
  } catch (err) {
    trace.push(["threw", (err as Error).name, (err as Error).message]);
  }
  e.on("error", (err) => trace.push(["handled", (err as Error).message]));
  trace.push(e.emit("error", new Error("caught")));
  return trace;
}

Deno.test("EventEmitter shim: on, emit and listenerCount behave as node:events'", () => {
  assert.deepEqual(scenario(() => new EventEmitter()), scenario(() => new NodeEmitter()));
});

Deno.test("EventEmitter shim: a listener that is not a function is refused", () => {
  assert.throws(() => new EventEmitter().on("x", 1 as never), { code: "ERR_INVALID_ARG_TYPE" });
});

Deno.test("EventEmitter shim: the 11th listener of an event prints node's warning, once", async () => {
  const script = (module: string) => `
    import { EventEmitter } from "${module}";
    class Command extends EventEmitter {}
    const c = new Command();
    for (let i = 0; i < 13; i++) c.on("afterHelp", () => {});
    c.on("other", () => {});
  `;
  const stderrOf = async (module: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--no-config", "-"],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const w = out.stdin.getWriter();
    await w.write(new TextEncoder().encode(script(module)));
    await w.close();
    const { stderr } = await out.output();
    return new TextDecoder().decode(stderr).replace(/\(node:\d+\)/g, "(node:PID)");
  };
  const fromShim = await stderrOf(new URL("./events.ts", import.meta.url).href);
  assert.match(
    fromShim,
    /MaxListenersExceededWarning: .* 11 afterHelp listeners added to \[Command\]/,
  );
  assert.equal(fromShim, await stderrOf("node:events"));
});
