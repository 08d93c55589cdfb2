/**
 * @mm386/allocation: ppalloc/ppfree and vpcreate/vpalloc/vpfree: physical and virtual page allocators on a swappable range allocator.
 *
 * This layer is not implemented yet; see the open issues and docs/architecture.md.
 * It exists so the layer order of the monorepo is visible from the start.
 *
 * @packageDocumentation
 */
export {};
