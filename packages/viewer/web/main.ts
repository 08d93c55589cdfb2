// The page's entry: mount the viewer with the stack factory the server was
// given (the default createStack, or the workbook's student layers).
import { mountViewer } from "@mm386/viewer/dom";
import { designs, makeStack, title } from "virtual:mm386-viewer-setup";

const root = document.getElementById("viewer")!;
const factory = await makeStack;
const viewer = mountViewer(root, {
  ...(factory ? { makeStack: factory } : {}),
  ...(designs ? { designs } : {}),
  ...(title ? { title } : {}),
});
// For the browser tests and the console: the live viewer.
(window as unknown as { mm386Viewer: unknown }).mm386Viewer = viewer;
