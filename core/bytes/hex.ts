/** Lowercase hex, strict on input (even length, [0-9a-f] only). */

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function isHex(text: string, byteLength?: number): boolean {
  return /^(?:[0-9a-f]{2})*$/.test(text) &&
    (byteLength === undefined || text.length === byteLength * 2);
}

export function fromHex(text: string): Uint8Array {
  if (!isHex(text)) throw new TypeError("invalid hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}
