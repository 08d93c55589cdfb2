import { describePagingConformance } from "../src/conformance.js";
import { startPaging } from "../src/index.js";

describePagingConformance("hobby", (m) => startPaging(m));
