/** Linux fault-handler exercise, reference: linuxUserFault from @mm386/paging/linux. */
export { linuxUserFault as faultHandler } from "@mm386/paging/linux";
