/**
 * Checks of a student's `solution.ts` as source text, with TypeScript's own
 * parser and checker: the imports it may not use (the reference's own
 * implementation) and its type errors. Type errors do not stop the tests
 * (vitest strips types and runs the file anyway), but a student should see
 * them: many bugs are type errors first.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, relative } from "node:path";
import ts from "typescript";

/**
 * The imports of `file` that bring in one of `forbidden` from an `@mm386`
 * package, as messages naming the import: named imports (also renamed ones),
 * and `ns.name` on a namespace or dynamic import of such a package.
 */
export function refusedImports(file: string, forbidden: readonly string[]): string[] {
  if (forbidden.length === 0) return [];
  const text = readFileSync(file, "utf8");
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const banned = new Set(forbidden);
  const found: string[] = [];
  const namespaces = new Map<string, string>();
  const line = (node: ts.Node) => sf.getLineAndCharacterOfPosition(node.getStart()).line + 1;
  const fromLibrary = (spec: ts.Expression) =>
    ts.isStringLiteral(spec) && spec.text.startsWith("@mm386/") ? spec.text : undefined;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      const pkg = node.moduleSpecifier ? fromLibrary(node.moduleSpecifier) : undefined;
      if (pkg !== undefined) {
        const clause = ts.isImportDeclaration(node) ? node.importClause : undefined;
        const bindings = clause?.namedBindings;
        const named = ts.isImportDeclaration(node)
          ? bindings && ts.isNamedImports(bindings)
            ? bindings.elements
            : []
          : node.exportClause && ts.isNamedExports(node.exportClause)
            ? node.exportClause.elements
            : [];
        for (const el of named) {
          const name = (el.propertyName ?? el.name).text;
          if (banned.has(name)) found.push(`line ${line(el)}: \`${name}\` from "${pkg}"`);
        }
        if (bindings && ts.isNamespaceImport(bindings)) namespaces.set(bindings.name.text, pkg);
        if (ts.isExportDeclaration(node) && !node.exportClause)
          found.push(`line ${line(node)}: \`export * from "${pkg}"\``);
      }
    }
    // const lib = await import("@mm386/x")
    if (
      ts.isVariableDeclaration(node) &&
      node.initializer &&
      ts.isIdentifier(node.name) &&
      ts.isAwaitExpression(node.initializer) &&
      ts.isCallExpression(node.initializer.expression) &&
      node.initializer.expression.expression.kind === ts.SyntaxKind.ImportKeyword
    ) {
      const pkg = fromLibrary(node.initializer.expression.arguments[0]!);
      if (pkg !== undefined) namespaces.set(node.name.text, pkg);
    }
    if (
      ts.isPropertyAccessExpression(node) &&
      ts.isIdentifier(node.expression) &&
      namespaces.has(node.expression.text) &&
      banned.has(node.name.text)
    )
      found.push(
        `line ${line(node)}: \`${node.expression.text}.${node.name.text}\` from "${namespaces.get(node.expression.text)}"`,
      );
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** One type error in the checked file. */
export interface TypeErrorReport {
  /** `solution.ts:12:5`, relative to the exercises folder. */
  readonly where: string;
  /** TypeScript's message (with its TS code). */
  readonly message: string;
  /** The line, and a marker under the error. */
  readonly frame: readonly string[];
}

/**
 * Type-check `file` as the repository does (strict, NodeNext, the packages'
 * sources through the "source" condition) and report the errors in `file`
 * itself (the packages are checked by their own CI).
 */
export function typeErrors(file: string, base = dirname(file)): TypeErrorReport[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    noEmit: true,
    skipLibCheck: true,
    customConditions: ["source"],
    types: ["node"],
    lib: ["lib.es2022.d.ts"],
  };
  const program = ts.createProgram([file], options);
  const sf = program.getSourceFile(file);
  if (!sf) return [];
  const diagnostics = [
    ...program.getSyntacticDiagnostics(sf),
    ...program.getSemanticDiagnostics(sf),
  ];
  return diagnostics.map((d) => {
    const pos = d.start ?? 0;
    const { line, character } = sf.getLineAndCharacterOfPosition(pos);
    const text = sf.text.split("\n")[line] ?? "";
    const width = Math.max(1, Math.min(d.length ?? 1, text.length - character));
    const gutter = `${line + 1} | `;
    return {
      where: `${relative(base, file)}:${line + 1}:${character + 1}`,
      message: `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`,
      frame: [
        `${gutter}${text.trimEnd()}`,
        `${" ".repeat(gutter.length + character)}${"^".repeat(width)}`,
      ],
    };
  });
}
