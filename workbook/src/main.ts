#!/usr/bin/env node
/**
 * The main program (`pnpm start`): a guided tour of the simulated machine and
 * of the hobby kernel's paging on top of it.
 * @module
 */
import { defaultStyle, runHwTour } from "./hw-tour.js";
import { runPagingTour } from "./paging-tour.js";

const style = defaultStyle();
const say = (line: string) => process.stdout.write(`${line}\n`);
runHwTour(say, style);
say("");
runPagingTour(say, style);
say("");
say(style.head("Where next"));
say(
  `  replay a JSON case step by step:  ${style.code("npx -y pnpm@12.21.0 --silent mmu-replay packages/hw-i386/test/fixtures/replay/basic.json")}`,
);
say(
  `  read the layers' guides:          ${style.code("packages/*/README.md")} and ${style.code("docs/architecture.md")}`,
);
