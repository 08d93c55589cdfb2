#!/usr/bin/env node
/**
 * The main program (`pnpm start`): a guided tour of the default stack for a
 * newcomer: the simulated machine, the hobby kernel's paging, kernel memory,
 * and where to go next.
 * @module
 */
import { defaultStyle, runHwTour } from "./hw-tour.js";
import { runPagingTour } from "./paging-tour.js";
import { runStackTour } from "./stack-tour.js";

const style = defaultStyle();
const say = (line: string) => process.stdout.write(`${line}\n`);
runHwTour(say, style);
say("");
const { stack } = runPagingTour(say, style);
runStackTour(stack, say, style);
