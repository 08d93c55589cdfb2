#!/usr/bin/env node
/**
 * The main program (`pnpm start`): a guided tour of the simulated machine.
 * @module
 */
import { runHwTour } from "./hw-tour.js";

runHwTour((line) => process.stdout.write(`${line}\n`));
