import assert from "node:assert/strict";
import { lazyCompilesText, parseFunctionEvents } from "./_lazy_compile.ts";

const PREFIX = "file:///repo/build/";

/** A function-event log as V8 writes it: `function,<event>,<script>,<start>,<end>,<ms>,<t>,…`. */
const LOG = [
  "script-details,3,ext:core/00_primordials.js,0,0,",
  `script-details,50,${PREFIX}main.js,0,0,`,
  `script-details,51,${PREFIX}chunk-A.js,0,0,`,
  "function,parse-function,3,10,20,0.500,100,primordial",
  "function,deserialize,50,0,900,0.200,110,file:///repo/build/main.js",
  "function,deserialize,51,0,400,0.100,111,file:///repo/build/chunk-A.js",
  "function,first-execution,50,0,900,0,112,",
  "function,parse-function,50,120,180,0.030,120,run",
  "function,interpreter,50,120,180,0.020,121,run",
  "function,parse-function,51,7,40,0.040,130,check",
  "function,preparse-resolution,51,7,40,0.005,131,check",
  "function,interpreter,51,7,40,0.010,132,check",
  "function,baseline,51,7,40,0.015,133,check",
  "function,parse-function,51,60,90,0.050,140,",
  "function,first-execution,51,60,90,0,141,",
  "code-creation,Builtin,2,150,0x1,10,Abort",
  "",
].join("\n");

Deno.test("parseFunctionEvents counts the functions of the bundle compiled on first call", () => {
  const counts = parseFunctionEvents(LOG, PREFIX);
  assert.equal(counts.functions, 3);
  assert.equal(counts.scripts, 2);
  assert.equal(counts.fromCache, 2);
  assert.ok(Math.abs(counts.loggedMs - 0.17) < 1e-9, `loggedMs ${counts.loggedMs}`);
});

Deno.test("parseFunctionEvents refuses a log without a script of the bundle", () => {
  const foreign = LOG.split("\n").filter((l) => !l.includes(PREFIX)).join("\n");
  assert.throws(() => parseFunctionEvents(foreign, PREFIX), /no script of/);
});

Deno.test("lazyCompilesText says how many scripts came from the code cache", () => {
  const all = lazyCompilesText({ functions: 3, loggedMs: 0.17, fromCache: 2, scripts: 2 });
  assert.match(all, /3 functions of build\/ were compiled on their first call \(0\.2 ms/);
  assert.match(all, /the code of all 2 of its scripts/);
  const some = lazyCompilesText({ functions: 3, loggedMs: 0.17, fromCache: 1, scripts: 2 });
  assert.match(some, /the code of 1 of its 2 scripts came/);
});
