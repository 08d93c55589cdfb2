#!/usr/bin/env node
/**
 * The main program (`pnpm start [--design NAME]`): a guided tour of a
 * design's stack for a newcomer. The hobby kernel (the default): the
 * simulated machine, its paging, kernel memory, and where to go next; the
 * other designs tell their own story.
 * @module
 */
import { parseArgs } from "node:util";
import { designNames } from "@mm386/malloc";
import { linuxStory } from "@mm386/paging/linux";
import { whitixTour } from "@mm386/paging/whitix";
import { type TourStyle, defaultStyle, runHwTour } from "./hw-tour.js";
import { runPagingTour } from "./paging-tour.js";
import { runStackTour } from "./stack-tour.js";

/** The story each design tells, by design name. */
const TOURS: Record<string, (say: (line: string) => void, style: TourStyle) => void> = {
  hobby: (say, style) => {
    runHwTour(say, style);
    say("");
    const { stack } = runPagingTour(say, style);
    runStackTour(stack, say, style);
  },
  whitix: (say) => say(whitixTour()),
  linux: (say) => say(linuxStory()),
};

const usage = `usage: pnpm start [--design ${Object.keys(TOURS).join("|")}]`;
const say = (line: string) => process.stdout.write(`${line}\n`);
// `pnpm start | head`: a closed pipe ends the tour quietly.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

function main(argv: string[]): number {
  let design: string;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { design: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
    if (values.help) {
      say(usage);
      return 0;
    }
    design = values.design ?? "hobby";
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  const tour = Object.hasOwn(TOURS, design) ? TOURS[design] : undefined;
  if (tour === undefined) {
    process.stderr.write(
      `--design ${JSON.stringify(design)} is not one of ${Object.keys(TOURS).join(", ")} (stacks exist for ${designNames().join(", ")})\n${usage}\n`,
    );
    return 2;
  }
  tour(say, defaultStyle());
  return 0;
}

process.exitCode = main(process.argv.slice(2));
