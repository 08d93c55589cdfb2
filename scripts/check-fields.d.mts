/** Check the packages under `root`; returns one human-readable line per class field defined as undefined first. */
export declare function checkFields(root: string): string[];
