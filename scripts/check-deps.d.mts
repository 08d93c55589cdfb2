/** What each layer may import, bottom first (the list of layers.mjs at the root). */
export { LAYERS } from "../layers.mjs";
/** Check the tree at `root`; returns a list of human-readable violations. */
export declare function checkDependencies(root: string): string[];
/** The one entry point that the tests of any layer may import: `@mm386/hw-i386/testing`. */
export declare const TEST_HELPERS: string;
