import { describePagingConformance } from "../src/conformance.js";
import { startPaging } from "../src/index.js";

describePagingConformance("hobby kernel (startPaging defaults)", (m) => startPaging(m));
