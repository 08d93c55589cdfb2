// The module serveViewer() generates (see src/server.ts).
declare module "virtual:mm386-viewer-setup" {
  import type { StackFactory } from "@mm386/viewer";
  /** The stack factory to use, or undefined for createStack. */
  export const makeStack: StackFactory | Promise<StackFactory> | undefined;
  /** The designs to offer, or undefined for designNames(). */
  export const designs: readonly string[] | undefined;
  /** The page title, or undefined. */
  export const title: string | undefined;
}
