import assert from "node:assert/strict";
import * as node from "node:url";
import { fileURLToPath } from "./url.ts";

/** The result, or the error's code, of `f(input)`. */
function outcome(f: (u: string | URL) => string, input: string | URL): string {
  try {
    return f(input);
  } catch (e) {
    return `throws ${(e as { code?: string }).code}`;
  }
}

Deno.test("fileURLToPath() gives node:url's path or error for each URL", () => {
  const urls = [
    "file:///",
    "file:///a/b/c",
    "file:///a/b/",
    "file:///a%20b/%C3%A9",
    "file:///a/%2e%2e/b",
    "file:///a%2Fb",
    "file:///a%2fb",
    "file:///a%25/b",
    "file://localhost/a",
    "file://host/a",
    "http://x/a",
    "file:///a?q#h",
    "file:///%E2%82%AC",
  ];
  for (const url of urls) {
    for (const input of [url, new URL(url)]) {
      assert.equal(outcome(fileURLToPath, input), outcome(node.fileURLToPath, input), url);
    }
  }
  assert.equal(outcome(fileURLToPath, "not a url"), outcome(node.fileURLToPath, "not a url"));
  assert.equal(
    outcome(fileURLToPath, 1 as unknown as string),
    outcome(node.fileURLToPath, 1 as unknown as string),
  );
});
