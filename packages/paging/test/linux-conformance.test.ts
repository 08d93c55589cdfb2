/**
 * The design-neutral conformance suite on Linux on i386: 4 KiB pages, PSE,
 * without PGE, and with highmem (1 GiB: frames still come from low memory,
 * the zones hold 128 MiB of HIGHMEM beside them), HIGHPTE on (user page
 * tables from highmem, edited through kmapAtomic) and off.
 */
import { describeDesignConformance } from "@mm386/paging/conformance";
import { bootLinux } from "../src/linux/index.js";

describeDesignConformance("linux", (m) => bootLinux(m));
describeDesignConformance("linux with PSE", (m) => bootLinux(m, { pse: true }), { numRuns: 10 });
describeDesignConformance("linux without PGE", (m) => bootLinux(m, { pge: false }), {
  numRuns: 10,
});
describeDesignConformance("linux, 1 GiB, HIGHPTE on", (m) => bootLinux(m, { pse: true }), {
  ramBytes: 1024 * 1024 * 1024,
  numRuns: 5,
});
describeDesignConformance(
  "linux, 1 GiB, HIGHPTE off",
  (m) => bootLinux(m, { pse: true, highpte: false }),
  { ramBytes: 1024 * 1024 * 1024, numRuns: 5 },
);
