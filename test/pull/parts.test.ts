/**
 * How blobs are split into Range parts by default (Ollama's sizing: size / 16, each part 64 to
 * 256 MiB), checked on the plan alone: the network tests pull smaller blobs with smaller parts.
 */
import { expect, it } from "vitest";
import { DEFAULT_PART_SIZING, planParts } from "../../src/models/pull/parts.js";

const MIB = 1024 * 1024;

it("splits a blob into 16 parts, each 64 to 256 MiB, the last one shorter", () => {
  const sizes = (size: number) => planParts(size, DEFAULT_PART_SIZING).map((part) => part.length);
  expect(sizes(10 * MIB)).toEqual([10 * MIB]);
  expect(sizes(1024 * MIB)).toEqual(Array.from({ length: 16 }, () => 64 * MIB));
  expect(sizes(100 * MIB + 5)).toEqual([64 * MIB, 36 * MIB + 5]);
  expect(sizes(2048 * MIB)).toEqual(Array.from({ length: 16 }, () => 128 * MIB));
  expect(sizes(10 * 1024 * MIB)).toEqual(Array.from({ length: 40 }, () => 256 * MIB));
  const parts = planParts(1024 * MIB + 1, DEFAULT_PART_SIZING);
  expect(parts.map((part) => part.start)).toEqual(parts.map((_, i) => i * parts[0]!.length));
});
