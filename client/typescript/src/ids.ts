/**
 * Time-ordered checkpoint ids (UUIDv7, RFC 9562), as the Python client makes them.
 * @module
 */
import { randomBytes } from "node:crypto";

let lastMs = 0;
let counter = 0;

/**
 * A new UUIDv7; ids made in one process sort in the order they were made (the 12-bit
 * `rand_a` field counts within one millisecond, RFC 9562 method 1).
 */
export function newCheckpointId(): string {
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    counter = randomBytes(2).readUInt16BE(0) & 0x3ff;
  } else {
    counter += 1;
    if (counter > 0xfff) {
      // The counter is exhausted: borrow the next millisecond.
      lastMs += 1;
      counter = 0;
    }
  }
  const bytes = randomBytes(16);
  const ms = BigInt(lastMs);
  for (let i = 0; i < 6; i += 1) {
    bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  }
  bytes[6] = 0x70 | ((counter >> 8) & 0x0f);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
