import { describe, expect, test } from "../harness.ts";
import { SmallIntMap } from "../../src/transport/small-int-map.ts";
import { mulberry32 } from "../seeded-random.ts";

describe("SmallIntMap", () => {
  test("random set / delete / get agree with Map (seeded, clustered and spread keys, growth)", () => {
    const random = mulberry32(0x51a7);
    const map = new SmallIntMap<number>(8);
    const model = new Map<number, number>();
    const problems: string[] = [];
    for (let op = 0; op < 50_000 && problems.length === 0; op++) {
      // Small dense keys collide a lot in a small table; a few large ones exercise the hash.
      const key = random() < 0.8 ? Math.floor(random() * 300) : Math.floor(random() * 0x7fffffff);
      const roll = random();
      if (roll < 0.5) {
        map.set(key, op);
        model.set(key, op);
      } else if (roll < 0.9) {
        if (map.delete(key) !== model.delete(key)) problems.push(`op ${op}: delete(${key})`);
      } else if (roll < 0.995) {
        if (map.get(key) !== model.get(key)) problems.push(`op ${op}: get(${key}) = ${map.get(key)} vs ${model.get(key)}`);
      } else {
        map.clear();
        model.clear();
      }
      if (map.size !== model.size) problems.push(`op ${op}: size ${map.size} vs ${model.size}`);
    }
    for (const [key, value] of model) if (map.get(key) !== value) problems.push(`final get(${key})`);
    expect(problems.slice(0, 3)).toEqual([]);
    expect(map.keys().sort((a, b) => a - b)).toEqual([...model.keys()].sort((a, b) => a - b));
    expect(map.values().sort((a, b) => a - b)).toEqual([...model.values()].sort((a, b) => a - b));
  });

  test("deleteWhere drops exactly the entries it is told to, across clustered probe runs, and agrees with Map after", () => {
    const random = mulberry32(0xde1e);
    for (let round = 0; round < 50; round++) {
      const map = new SmallIntMap<number>(8);
      const model = new Map<number, number>();
      for (let i = 0; i < 200; i++) {
        const key = Math.floor(random() * 400); // dense: long probe runs, some wrapping around the table
        map.set(key, i);
        model.set(key, i);
      }
      const drop = (value: number) => value % 3 === round % 3;
      const expected = [...model].filter(([, v]) => drop(v)).length;
      for (const [k, v] of model) if (drop(v)) model.delete(k);
      expect(map.deleteWhere(drop)).toBe(expected);
      expect(map.size).toBe(model.size);
      for (const [key, value] of model) expect(map.get(key)).toBe(value);
      expect(map.keys().sort((a, b) => a - b)).toEqual([...model.keys()].sort((a, b) => a - b));
    }
    expect(new SmallIntMap<number>().deleteWhere(() => true)).toBe(0);
  });

  test("keys outside [0, 2^31) are a RangeError; lookups of them find nothing", () => {
    const map = new SmallIntMap<string>();
    expect(() => map.set(-1, "x")).toThrow(RangeError);
    expect(() => map.set(2 ** 31, "x")).toThrow(RangeError);
    expect(() => map.set(1.5, "x")).toThrow(RangeError);
    expect(map.get(-1)).toBeUndefined();
    expect(map.delete(-1)).toBe(false);
    map.set(0, "zero");
    expect(map.get(0)).toBe("zero");
  });
});
