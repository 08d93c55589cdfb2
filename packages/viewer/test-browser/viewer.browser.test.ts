/**
 * The viewer in a real browser: Debian's Chromium driven by playwright-core,
 * against the dev server `pnpm run view` starts. The expectations are
 * independent of the viewer's code: the tour's mapping at 0x08048000 is
 * PDE 32, PTE 72 (0x08048000 >> 22 and bits 21:12), and the TLB state after
 * each step is what the tour's text says it must be.
 */
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type ViewerServer, serveViewer } from "@mm386/viewer/server";
import { designNames } from "@mm386/malloc";

const OUT = fileURLToPath(new URL("../test-output/", import.meta.url));
let server: ViewerServer;
let browser: BrowserContext;
let page: Page;
let profile: string;
/** Uncaught errors in the page: the library code must run in a browser (no Node-only APIs). */
const pageErrors: string[] = [];

beforeAll(async () => {
  server = await serveViewer({ port: 0 });
  profile = mkdtempSync(join(tmpdir(), "mm386-chromium-"));
  // A fresh profile per run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    viewport: { width: 1400, height: 1000 },
    executablePath: process.env["MM386_CHROMIUM"] ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage();
  page.on("pageerror", (e) => pageErrors.push(String(e)));
});

afterAll(async () => {
  expect(pageErrors).toEqual([]);
  await browser?.close();
  await server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const root = () => page.locator("#viewer");
const step = async () => Number(await root().getAttribute("data-step"));
const query = () => new URL(page.url()).searchParams;

describe("the viewer page", () => {
  test("loads at step 0 with a 32x32 page directory", async () => {
    await page.goto(`${server.url}?design=hobby&scenario=tour&seed=1&step=0`);
    await expect.poll(step).toBe(0);
    expect(await page.locator("[data-pde]").count()).toBe(1024);
    // The hobby kernel maps its kernel at 0xC0000000: PDE 768 is present and a kernel entry.
    await expect
      .poll(() => page.locator('[data-pde="768"]').getAttribute("class"))
      .toContain("kernel");
    // Nothing is mapped in the user half before the tour makes a space.
    expect(await page.locator("[data-pde].user").count()).toBe(0);
  });

  test("steps forward with the keyboard; the URL follows; a click opens the page table", async () => {
    for (let i = 0; i < 4; i++) await page.keyboard.press("ArrowRight");
    await expect.poll(step).toBe(4);
    expect(query().get("step")).toBe("4");
    // Step 3 mapped 0x08048000: PDE 32 is a present user entry; its table has PTE 72 present.
    await expect
      .poll(() => page.locator('[data-pde="32"]').getAttribute("class"))
      .toContain("user");
    await page.locator('[data-pde="32"]').click();
    await expect.poll(() => page.locator("[data-pte]").count()).toBe(1024);
    expect(await page.locator('[data-pte="72"]').getAttribute("class")).toContain("present");
    expect(await page.locator("[data-pte].present").count()).toBe(1);
    expect(query().get("pde")).toBe("32");
    // Step 4 wrote through it from user mode: a miss and a walk, now cached for that page.
    expect(await page.locator('tr[data-vpn="32840"]').count()).toBe(1); // 0x08048000 >> 12
  });

  test("marks a stale TLB entry, and invlpg removes it; the timeline shows the fault", async () => {
    await page.goto(`${server.url}?design=hobby&scenario=tour&seed=1&step=10`);
    await expect.poll(step).toBe(10);
    await expect.poll(() => page.locator("tr.stale").count()).toBe(1);
    expect(await page.locator("tr.stale").getAttribute("data-vpn")).toBe("32840");
    // Step 6 read 0x40000000 from user mode: error code 4 (not present, read, user), CR2 = the address.
    const fault = page.locator('[data-event="fault"][data-step="6"]');
    expect(await fault.textContent()).toContain("CR2=0x40000000");
    expect(await fault.textContent()).toContain("error 4");
    await page.keyboard.press("ArrowRight"); // step 11: invlpg
    await expect.poll(step).toBe(11);
    expect(await page.locator("tr.stale").count()).toBe(0);
    expect(await page.locator('[data-event="flush"][data-step="11"]').textContent()).toContain(
      "invlpg 0x08048000",
    );
  });

  test("steps back to an earlier state (replayed from the seed)", async () => {
    await page.goto(`${server.url}?design=hobby&scenario=tour&seed=1&step=4`);
    await expect.poll(step).toBe(4);
    const before = {
      cr3: await root().getAttribute("data-cr3"),
      tlb: await page.locator("[data-testid=tlb] tbody").innerText(),
      hits: await page.locator("[data-testid=tlb-counters]").getAttribute("data-hits"),
      owners: await page.locator("[data-testid=owners]").innerText(),
    };
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    await expect.poll(step).toBe(7);
    expect(await page.locator("[data-testid=heap] .block").count()).toBeGreaterThan(0);
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowLeft");
    await expect.poll(step).toBe(4);
    expect({
      cr3: await root().getAttribute("data-cr3"),
      tlb: await page.locator("[data-testid=tlb] tbody").innerText(),
      hits: await page.locator("[data-testid=tlb-counters]").getAttribute("data-hits"),
      owners: await page.locator("[data-testid=owners]").innerText(),
    }).toEqual(before);
    expect(query().get("step")).toBe("4");
  });

  test("a step of the tour renders in under 100 ms", async () => {
    await page.goto(`${server.url}?design=hobby&scenario=tour&seed=1&step=0`);
    await expect.poll(step).toBe(0);
    const times: number[] = [];
    for (let i = 1; i <= 14; i++) {
      await page.keyboard.press("ArrowRight");
      await expect.poll(step).toBe(i);
      times.push(Number(await root().getAttribute("data-render-ms")));
    }
    times.sort((a, b) => a - b);
    console.log(`tour step render: median ${times[7]} ms, max ${times[13]} ms`);
    expect(times[7]).toBeLessThan(100);
  });

  test("switches design and scenario from the pickers; the URL follows", async () => {
    const names = designNames();
    await page.goto(`${server.url}?design=hobby&scenario=tour&seed=1&step=3`);
    await expect.poll(step).toBe(3);
    for (const d of names) {
      await page.locator("[data-testid=design]").selectOption(d);
      await expect.poll(() => root().getAttribute("data-design")).toBe(d);
      expect(await step()).toBe(0);
      expect(query().get("design")).toBe(d);
    }
    // The heap panel shows boundary-tag blocks: the hobby kernel's malloc (Whitix and Linux run kmalloc).
    await page.locator("[data-testid=design]").selectOption("hobby");
    await page.locator("[data-testid=scenario]").selectOption("workload");
    await expect.poll(() => query().get("scenario")).toBe("workload");
    for (let i = 0; i < 10; i++) await page.keyboard.press("ArrowRight");
    await expect.poll(step).toBe(10);
    expect(await page.locator("[data-testid=heap] .block.allocated").count()).toBeGreaterThan(0);
  });

  test("a bad URL value is named on the page, and the default is shown", async () => {
    await page.goto(`${server.url}?design=nonesuch&step=2`);
    await expect
      .poll(() => page.locator("[data-testid=notice]").textContent())
      .toContain('"nonesuch"');
    expect(await root().getAttribute("data-design")).toBe("hobby");
  });

  test("saves a screenshot", async () => {
    await page.goto(`${server.url}?design=hobby&scenario=tour&seed=1&step=10&pde=32`);
    await expect.poll(step).toBe(10);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, "viewer.png"), fullPage: true });
  });
});

describe("a stack factory of one's own (how the workbook shows a student's layers)", () => {
  const variants = [
    {
      how: "a module",
      entries: 8,
      options: {
        stackModule: fileURLToPath(new URL("./fixtures/small-tlb-stack.ts", import.meta.url)),
      },
    },
    {
      how: "source text",
      entries: 16,
      options: {
        stackSource: [
          'import { SetAssociativeTlb } from "@mm386/hw-i386";',
          'import { createStack } from "@mm386/malloc";',
          "export const makeStack = (design, options) =>",
          "  createStack({ ...options, design, tlb: () => new SetAssociativeTlb({ entries: 16, ways: 4 }) });",
        ].join("\n"),
      },
    },
  ];
  test.each(variants)("the page runs the stack of $how: its TLB is the one shown", async (v) => {
    const own = await serveViewer({ port: 0, title: "exercise 2: your TLB", ...v.options });
    try {
      await page.goto(`${own.url}?design=hobby&scenario=tour&step=5`);
      await expect.poll(step).toBe(5);
      expect(await page.locator("h1").textContent()).toBe("exercise 2: your TLB");
      const counters = await page.locator("[data-testid=tlb-counters]").textContent();
      expect(counters).toMatch(new RegExp(`^${v.entries}-entry`));
    } finally {
      await own.close();
    }
  });

  test("options that cannot work are refused before anything starts", async () => {
    for (const options of [
      { port: -1 },
      { port: 70000 },
      { stackModule: "relative/stack.ts" },
      { stackModule: "/a.ts", stackSource: "export const makeStack = 1;" },
      { stackSource: "export const nothing = 1;" },
      { stackModule: "/a.ts", exportName: "not an identifier" },
    ])
      await expect(serveViewer(options)).rejects.toMatchObject({ code: "E_BAD_ARGUMENT" });
  });
});
