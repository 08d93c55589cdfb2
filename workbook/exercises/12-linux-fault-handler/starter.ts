/**
 * Linux exercise: the user page-fault handler. Read README.md first.
 * `ctx` gives the kernel services on the current address space:
 * findArea(addr), pte(page), setPte(page, pte), allocUserFrame(),
 * freeUserFrame(frame), zeroPage(), clearUserPage(page), ownFrame(page, frame),
 * count("zeroPageMap" | "zeroPageCopy").
 */
import { LINUX_ERROR, LinuxMmError } from "@mm386/allocation/linux";
import { PF_ERROR, PTE } from "@mm386/hw-i386";
import { PROT, type UserFaultHandler } from "@mm386/paging/linux";

export const faultHandler: UserFaultHandler = {
  name: "my fault handler",
  handle(ctx, addr, errorCode) {
    // TODO 1: the area holding addr; none, PROT_NONE, or a write to an area without
    //         PROT_WRITE: return a string saying why (a segmentation fault).
    // TODO 2: not present and a read: map the zero page read-only (P|US); count it.
    // TODO 3: not present and a write, or a write to the zero page: a frame of its own
    //         (null: throw E_NO_MEMORY), P|US|RW, zeroed with clearUserPage, owned; count a copy.
    // TODO 4: anything else: a string.
    void [ctx, addr, errorCode, PF_ERROR, PTE, PROT, LINUX_ERROR, LinuxMmError];
    return "the fault handler is not written yet";
  },
};
