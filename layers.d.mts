/** What each layer may import (workspace package names without `@mm386/`), bottom first. */
export declare const LAYERS: Readonly<Record<string, readonly string[]>>;
/** The layer names, bottom first. */
export declare const LAYER_NAMES: readonly string[];
/** The folder of a layer, relative to the repository root: `packages/<name>`, or `workbook`. */
export declare function layerDir(name: string): string;
