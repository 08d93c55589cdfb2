/** The design-neutral conformance suite on Whitix, as booted by createStack. */
import { describeDesignConformance } from "../src/conformance.js";
import { bootWhitix } from "../src/whitix/index.js";

describeDesignConformance("whitix", (machine) => bootWhitix(machine));
