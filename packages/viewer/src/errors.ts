/**
 * The viewer's refusals: a typed error with a code and a message that names
 * the bad value.
 *
 * @module
 */

/** Codes carried by {@link ViewerError}. */
export const VIEWER_ERROR = {
  /** A design, scenario, seed or step that is not one the viewer knows. */
  BAD_ARGUMENT: "E_BAD_ARGUMENT",
  /** A scenario step failed in a way the scenario does not expect (a bug in a layer). */
  STEP_FAILED: "E_STEP_FAILED",
} as const;

/** One of the {@link VIEWER_ERROR} codes. */
export type ViewerErrorCode = (typeof VIEWER_ERROR)[keyof typeof VIEWER_ERROR];

/** A refused call; nothing the viewer holds was changed by it. */
export class ViewerError extends Error {
  /** Always `"ViewerError"`. */
  override readonly name = "ViewerError";
  constructor(
    /** Machine-readable reason. */
    readonly code: ViewerErrorCode,
    message: string,
    /** `cause`: the error this one reports. */
    options?: ErrorOptions,
  ) {
    super(`${code}: ${message}`, options);
  }
}
