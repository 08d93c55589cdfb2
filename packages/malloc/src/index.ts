/**
 * @mm386/malloc: malloc/calloc/realloc/free for small kernel objects, with headers kept in simulated memory.
 *
 * This layer is not implemented yet; see the open issues and docs/architecture.md.
 * It exists so the layer order of the monorepo is visible from the start.
 *
 * @packageDocumentation
 */
export {};
