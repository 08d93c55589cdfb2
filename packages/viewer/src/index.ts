/**
 * @mm386/viewer: the stack in a web page. A {@link Session} runs a seeded
 * scenario on any design's stack and steps forward and back through it;
 * {@link inspectStack} turns a stack into what the page shows (the page
 * directory and tables, the TLB with stale entries marked, every frame's
 * owner, the buddy free lists, the heap's blocks) by reading memory
 * physically, so that looking never disturbs the TLB or the event stream.
 * The page itself is in `@mm386/viewer/dom` (`mountViewer`), the dev server
 * in `@mm386/viewer/server` (`serveViewer`).
 *
 * @packageDocumentation
 */
export * from "./errors.js";
export * from "./inspect.js";
export * from "./extras.js";
export * from "./scenario.js";
export * from "./url.js";
