/**
 * @mm386/paging: The hobby kernel's paging: boot page table, pagedirs with vpde/kvpd bookkeeping, mapMem and address spaces.
 *
 * This layer is not implemented yet; see the open issues and docs/architecture.md.
 * It exists so the layer order of the monorepo is visible from the start.
 *
 * @packageDocumentation
 */
export {};
