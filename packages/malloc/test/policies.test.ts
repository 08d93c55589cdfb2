import { describeHeapConformance, describePolicyConformance } from "../src/conformance.js";
import { Malloc, addressOrderedFirstFit, segregatedFits } from "../src/index.js";

describePolicyConformance("segregated fits", segregatedFits);
describePolicyConformance("address-ordered first fit", addressOrderedFirstFit);

describeHeapConformance("Malloc (segregated fits)", (kv) => new Malloc(kv));
describeHeapConformance(
  "Malloc (first fit, 16-byte aligned)",
  (kv) => new Malloc(kv, { policy: addressOrderedFirstFit, align: 16 }),
);
