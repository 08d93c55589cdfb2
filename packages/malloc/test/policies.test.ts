import { describePolicyConformance } from "../src/conformance.js";
import { addressOrderedFirstFit, segregatedFits } from "../src/index.js";

describePolicyConformance("segregated fits", segregatedFits);
describePolicyConformance("address-ordered first fit", addressOrderedFirstFit);
