/**
 * The workspace's layers, written once (docs/architecture.md, DESIGN §1).
 *
 * Bottom first; each layer lists the workspace packages it may import.
 * buddy sits above hw-i386 in the list but needs nothing at all. Every
 * layer but the workbook is a folder of packages/; the workbook sits at the
 * root. scripts/check-deps.mjs checks the imports against this, the root
 * vitest config makes a test project of each layer, and the README-examples
 * test runs each layer's README example; scripts/test/layers.test.ts checks
 * that the list matches the packages on disk.
 */
export const LAYERS = Object.freeze({
  "hw-i386": [],
  buddy: [],
  allocation: ["hw-i386", "buddy"],
  paging: ["hw-i386", "buddy", "allocation"],
  kvmalloc: ["hw-i386", "buddy", "allocation", "paging"],
  malloc: ["hw-i386", "buddy", "allocation", "paging", "kvmalloc"],
  viewer: ["hw-i386", "buddy", "allocation", "paging", "kvmalloc", "malloc"],
  experiments: ["hw-i386", "buddy", "allocation", "paging", "kvmalloc", "malloc"],
  workbook: [
    "hw-i386",
    "buddy",
    "allocation",
    "paging",
    "kvmalloc",
    "malloc",
    "viewer",
    "experiments",
  ],
});

/** The layer names, bottom first. */
export const LAYER_NAMES = Object.freeze(Object.keys(LAYERS));

/** The folder of a layer, relative to the repository root: `packages/<name>`, or `workbook`. */
export function layerDir(name) {
  return name === "workbook" ? "workbook" : `packages/${name}`;
}
