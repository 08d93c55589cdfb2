/**
 * The viewer's dev server: vite serving `web/`, with the workspace packages
 * read from their TypeScript sources, and a generated module
 * (`virtual:mm386-viewer-setup`) that tells the page which stack factory to
 * use. `pnpm run view` starts it with the default stack; the workbook starts
 * it with a module that builds the student's layers.
 *
 * @module
 */
import { dirname, isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";
import { showValue } from "@mm386/hw-i386";
import { VIEWER_ERROR, ViewerError } from "./errors.js";
import { type Plugin, type ViteDevServer, createServer, defaultClientConditions } from "vite";

/** Options of {@link serveViewer}. */
export interface ServeOptions {
  /** Port (default 5173; 0 for any free port). */
  readonly port?: number;
  /** Host to listen on (default 127.0.0.1). */
  readonly host?: string;
  /**
   * An absolute path to a module (TS or JS) whose export `exportName`
   * is a `StackFactory` (or a promise of one) the page uses instead of
   * `createStack`. It runs in the browser, so it may not use Node APIs.
   */
  readonly stackModule?: string;
  /** The export of `stackModule` to use (default `"makeStack"`). */
  readonly exportName?: string;
  /**
   * Instead of `stackModule`: the source text of such a module, which must
   * export `makeStack`. Its imports resolve as from the viewer's page: the
   * workspace packages by name, anything else by absolute path (the
   * workbook's way to build a stack from a student's solution files).
   */
  readonly stackSource?: string;
  /** The designs the page offers (default: every design `designNames()` gives). */
  readonly designs?: readonly string[];
  /** A title above the panels. */
  readonly title?: string;
}

/** A running viewer server. */
export interface ViewerServer {
  /** The URL to open, e.g. `http://127.0.0.1:5173/`. */
  readonly url: string;
  /** The vite server. */
  readonly vite: ViteDevServer;
  /** Stop it. */
  close(): Promise<void>;
}

const SETUP_ID = "virtual:mm386-viewer-setup";

/** The plugin that generates the setup module from `options`. */
function setupPlugin(options: ServeOptions): Plugin {
  const resolved = `\0${SETUP_ID}`;
  return {
    name: "mm386-viewer-setup",
    resolveId: (id) => (id === SETUP_ID ? resolved : null),
    load(id) {
      if (id !== resolved) return null;
      if (options.stackSource !== undefined)
        return [
          options.stackSource,
          `export const designs = ${JSON.stringify(options.designs ?? null)} ?? undefined;`,
          `export const title = ${JSON.stringify(options.title ?? null)} ?? undefined;`,
        ].join("\n");
      const lines = options.stackModule
        ? [
            `import { ${options.exportName ?? "makeStack"} as m } from ${JSON.stringify(options.stackModule)};`,
            "export const makeStack = m;",
          ]
        : ["export const makeStack = undefined;"];
      lines.push(`export const designs = ${JSON.stringify(options.designs ?? null)} ?? undefined;`);
      lines.push(`export const title = ${JSON.stringify(options.title ?? null)} ?? undefined;`);
      return lines.join("\n");
    },
  };
}

/** Refuse options that cannot work, before anything starts. */
function checkServeOptions(options: ServeOptions): void {
  const bad = (what: string): never => {
    throw new ViewerError(VIEWER_ERROR.BAD_ARGUMENT, what);
  };
  const { port, stackModule, stackSource, exportName } = options;
  if (port !== undefined && (!Number.isSafeInteger(port) || port < 0 || port > 65535))
    bad(`port ${showValue(port)} is not a whole number from 0 to 65535`);
  if (stackModule !== undefined && stackSource !== undefined)
    bad("give stackModule or stackSource, not both");
  if (stackModule !== undefined && (typeof stackModule !== "string" || !isAbsolute(stackModule)))
    bad(`stackModule ${showValue(stackModule)} is not an absolute path`);
  if (
    stackSource !== undefined &&
    (typeof stackSource !== "string" || !/\bmakeStack\b/.test(stackSource))
  )
    bad(`stackSource ${showValue(stackSource).slice(0, 60)} does not export makeStack`);
  if (
    exportName !== undefined &&
    (typeof exportName !== "string" || !/^[A-Za-z_$][\w$]*$/.test(exportName))
  )
    bad(`exportName ${showValue(exportName)} is not an identifier`);
}

/**
 * Start the viewer's dev server and return its URL. Options that cannot work
 * (a port out of range, a relative stackModule, both stackModule and
 * stackSource): E_BAD_ARGUMENT naming the value, nothing started. A port in
 * use: vite's own error, nothing left running.
 */
export async function serveViewer(options: ServeOptions = {}): Promise<ViewerServer> {
  checkServeOptions(options);
  const web = fileURLToPath(new URL("../web/", import.meta.url));
  const repo = fileURLToPath(new URL("../../../", import.meta.url));
  const vite = await createServer({
    configFile: false,
    root: web,
    logLevel: "warn",
    clearScreen: false,
    plugins: [setupPlugin(options)],
    // The workspace packages resolve to their sources: no build needed.
    resolve: { conditions: ["source", ...defaultClientConditions] },
    build: { target: "es2022" },
    optimizeDeps: { noDiscovery: true, include: [] },
    server: {
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 5173,
      strictPort: options.port !== undefined,
      fs: {
        allow: [repo, ...(options.stackModule ? [dirname(options.stackModule)] : [])],
      },
    },
  });
  try {
    await vite.listen();
  } catch (e) {
    await vite.close();
    throw e;
  }
  const url =
    vite.resolvedUrls?.local[0] ?? `http://${options.host ?? "127.0.0.1"}:${options.port ?? 5173}/`;
  return { url, vite, close: () => vite.close() };
}
