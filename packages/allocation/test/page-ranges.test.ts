import { describePageRangesConformance } from "../src/conformance.js";
import { pageRangeAllocator } from "../src/index.js";

describePageRangesConformance("PageRangeAllocator", pageRangeAllocator);
