/**
 * @mm386/buddy: A generic buddy allocator over a range of integers; knows nothing about pages or memory.
 *
 * This layer is not implemented yet; see the open issues and docs/architecture.md.
 * It exists so the layer order of the monorepo is visible from the start.
 *
 * @packageDocumentation
 */
export {};
