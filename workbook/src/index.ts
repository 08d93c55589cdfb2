/**
 * @mm386/workbook: guided exercises that chain the mm386 layers, and the main
 * program. For now it holds the guided tour: the simulated machine, then the
 * hobby kernel's paging; the exercises arrive with the layers they exercise.
 *
 * @packageDocumentation
 */
export { runHwTour, defaultStyle, type TourResult, type TourStyle } from "./hw-tour.js";
export { runPagingTour, type PagingTourResult } from "./paging-tour.js";
