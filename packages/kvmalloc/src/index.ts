/**
 * @mm386/kvmalloc: `kvmalloc(n)` takes n frames (not necessarily consecutive)
 * and n consecutive kernel virtual pages and maps them; `kvfree` undoes all
 * three. Optional guard pages make an overrun fault at a precise address.
 *
 * @packageDocumentation
 */
export * from "./api.js";
export {
  Kvmalloc,
  KvmallocError,
  KVMALLOC_ERROR,
  type KvmallocErrorCode,
  type KvmallocOptions,
} from "./kvmalloc.js";
