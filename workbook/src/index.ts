/**
 * @mm386/workbook: guided exercises that chain the mm386 layers, the CLI
 * that runs them (`pnpm workbook`), and the main program (`pnpm start`), a
 * guided tour of the default stack. The stack itself is assembled by
 * `createStack` from `@mm386/malloc`, re-exported here.
 *
 * @packageDocumentation
 */
export { createStack, type Stack, type StackOptions } from "@mm386/malloc";
export { runHwTour, defaultStyle, type TourResult, type TourStyle } from "./hw-tour.js";
export { runPagingTour, freeLists, type PagingTourResult } from "./paging-tour.js";
export { runStackTour, type StackTourResult } from "./stack-tour.js";
export * from "./exercise-api.js";
export { EXERCISES, type Exercise, type ImplKind } from "./exercises.js";
export { main, verify, type CliIo, type VerifyOptions } from "./cli.js";
export {
  makeQuestion,
  seededRandom,
  PAGE_OFFSETS,
  QUIZ_KINDS,
  QuizParamsError,
  type Question,
  type QuizKind,
  type QuizParams,
} from "./quiz.js";
export { walkChecker, WalkMismatch } from "./walk-checker.js";
