/**
 * Fuzz: createStack's design choice and the snapshot's populateStack refuse
 * bad values with a typed error, before anything is built.
 */
import { describeRefusals } from "@mm386/hw-i386/testing";
import { describe } from "vitest";
import { type DesignStack, createStack, populateStack } from "../src/index.js";

describe("fuzz: createStack({ design }) and populateStack", () => {
  describeRefusals(
    () => createStack({ ramBytes: 16 * 1024 * 1024 }) as DesignStack,
    (s) => [s.machine.mmu.cr3, s.design.addressSpaces().length, s.design.dump(s.design.reference)],
    [
      {
        name: "createStack({ design })",
        call: (_, v) => createStack({ design: v as string }),
        accepts: (v) => v === undefined,
      },
      { name: "populateStack(stack, spaces)", call: (s, v) => populateStack(s, v as number) },
    ],
    { runs: 5 },
  );
});
