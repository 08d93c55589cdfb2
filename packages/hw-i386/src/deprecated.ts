/**
 * Names that moved, kept so that code written against the old entry points
 * still runs. Each says where the name lives now.
 *
 * @module
 */
import * as replay from "./replay.js";

/** @deprecated Moved to `@mm386/hw-i386/replay`. */
export const parseReplay = replay.parseReplay;
/** @deprecated Moved to `@mm386/hw-i386/replay`. */
export const parseReplayText = replay.parseReplayText;
/** @deprecated Moved to `@mm386/hw-i386/replay`. */
export const runReplay = replay.runReplay;
/** @deprecated Moved to `@mm386/hw-i386/replay`. */
export const runReplayCase = replay.runReplayCase;
/** @deprecated Moved to `@mm386/hw-i386/replay`. */
export const ReplayInputError = replay.ReplayInputError;
/** @deprecated Moved to `@mm386/hw-i386/replay`. */
export type ReplayInputError = replay.ReplayInputError;
/** @deprecated Moved to `@mm386/hw-i386/replay`. */
export type ReplayCase = replay.ReplayCase;
/** @deprecated Moved to `@mm386/hw-i386/replay`. */
export type ReplayStep = replay.ReplayStep;
/** @deprecated Moved to `@mm386/hw-i386/replay`. */
export type ReplayLine = replay.ReplayLine;
