/** Exercise 2, reference: the unbounded TLB of @mm386/hw-i386. */
import { UnboundedTlb } from "@mm386/hw-i386";
import type { TlbExercise } from "../../src/exercise-api.js";

export const createTlb: TlbExercise["createTlb"] = () => new UnboundedTlb();
