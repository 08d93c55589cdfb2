/** Planted mistake: every fault inside an area maps a fresh writable frame, whatever the area allows. */
import { PTE } from "@mm386/hw-i386";
import type { UserFaultHandler } from "@mm386/paging/linux";

export const faultHandler: UserFaultHandler = {
  name: "planted writes-read-only",
  handle(ctx, addr) {
    if (ctx.findArea(addr) === undefined) return "no mapping there";
    const page = addr - (addr % 4096);
    const frame = ctx.allocUserFrame();
    if (frame === null) return "out of memory";
    if (!ctx.setPte(page, frame | PTE.P | PTE.US | PTE.RW)) {
      ctx.freeUserFrame(frame);
      return "out of memory";
    }
    ctx.clearUserPage(page);
    ctx.ownFrame(page, frame);
    return true;
  },
};
