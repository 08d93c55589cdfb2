/**
 * The viewer's state in a URL query, so that a run can be shared:
 * `?design=hobby&scenario=tour&seed=1&step=5`.
 *
 * @module
 */
import { showValue } from "@mm386/hw-i386";
import { VIEWER_ERROR, ViewerError } from "./errors.js";

/** What the URL carries. */
export interface ViewerLocation {
  /** Design name. */
  readonly design: string;
  /** Scenario name. */
  readonly scenario: string;
  /** Seed. */
  readonly seed: number;
  /** Step. */
  readonly step: number;
  /** The PDE whose page table is open, or null. */
  readonly pde: number | null;
}

/** The URL's defaults: what a bare `/` shows. */
export const DEFAULT_LOCATION: ViewerLocation = {
  design: "hobby",
  scenario: "tour",
  seed: 1,
  step: 0,
  pde: null,
};

/** A whole number from the query, or E_BAD_ARGUMENT naming the parameter and its text. */
function whole(name: string, text: string, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n > max)
    throw new ViewerError(
      VIEWER_ERROR.BAD_ARGUMENT,
      `${name}=${showValue(text)} is not a whole number from 0 to ${max}`,
    );
  return n;
}

/**
 * Read a query string (`?a=b&...`, with or without the `?`); parameters left
 * out take {@link DEFAULT_LOCATION}'s values. A number that is not one:
 * E_BAD_ARGUMENT naming it (names of designs and scenarios are checked by the
 * session, which knows them).
 */
export function parseLocation(query: string): ViewerLocation {
  const p = new URLSearchParams(query);
  const get = (k: string) => p.get(k);
  const seed = get("seed");
  const step = get("step");
  const pde = get("pde");
  return {
    design: get("design") ?? DEFAULT_LOCATION.design,
    scenario: get("scenario") ?? DEFAULT_LOCATION.scenario,
    seed: seed === null ? DEFAULT_LOCATION.seed : whole("seed", seed, 2 ** 32 - 1),
    step: step === null ? DEFAULT_LOCATION.step : whole("step", step, 1_000_000),
    pde: pde === null || pde === "" ? null : whole("pde", pde, 1023),
  };
}

/** The query string for `loc` (starting with `?`), the inverse of {@link parseLocation}. */
export function formatLocation(loc: ViewerLocation): string {
  const p = new URLSearchParams({
    design: loc.design,
    scenario: loc.scenario,
    seed: String(loc.seed),
    step: String(loc.step),
  });
  if (loc.pde !== null) p.set("pde", String(loc.pde));
  return `?${p.toString()}`;
}
