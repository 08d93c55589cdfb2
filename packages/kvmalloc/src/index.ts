/**
 * @mm386/kvmalloc: kvmalloc(n)/kvfree: n frames plus n contiguous kernel virtual pages, mapped.
 *
 * This layer is not implemented yet; see the open issues and docs/architecture.md.
 * It exists so the layer order of the monorepo is visible from the start.
 *
 * @packageDocumentation
 */
export {};
