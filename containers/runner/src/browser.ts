/** Chromium for the runner: which binary, which flags, and contexts that cost little. */
import * as fs from "fs";
import { chromium, type Browser, type BrowserContext } from "playwright-core";

/**
 * Flags for a headless Chromium in a container without a GPU or a user namespace sandbox; the
 * background services would only phone home (the job has no use for updates or sync).
 */
export const CHROMIUM_ARGS: readonly string[] = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--no-default-browser-check",
    // Site isolation would start a renderer process for every recipient site; the runner holds
    // no credentials worth isolating, and reusing renderers triples throughput (scripts/bench).
    "--disable-site-isolation-trials",
    "--disable-features=Translate,MediaRouter,OptimizationHints,IsolateOrigins,site-per-process",
];

const DEBIAN_CHROMIUM = "/usr/bin/chromium";

/** `CHROMIUM_PATH` if set, else Debian's /usr/bin/chromium when present, else Playwright's own. */
export function resolveChromiumPath(
    env: NodeJS.ProcessEnv = process.env,
    exists: (p: string) => boolean = fs.existsSync,
): string | undefined {
    const fromEnv = env.CHROMIUM_PATH?.trim();
    if (fromEnv) {
        if (!exists(fromEnv)) {
            throw new Error(
                `CHROMIUM_PATH is "${fromEnv}" but no file is there; point it at a Chromium binary or unset it`,
            );
        }
        return fromEnv;
    }
    return exists(DEBIAN_CHROMIUM) ? DEBIAN_CHROMIUM : undefined;
}

export async function launchBrowser(env: NodeJS.ProcessEnv = process.env): Promise<Browser> {
    return chromium.launch({
        executablePath: resolveChromiumPath(env),
        headless: true,
        args: [...CHROMIUM_ARGS],
        // The job owns shutdown: Playwright must not kill Chromium on SIGTERM while in-flight
        // forms are still finishing within the grace period.
        handleSIGTERM: false,
        handleSIGINT: false,
        handleSIGHUP: false,
    });
}

/** Resource types a form never needs; skipping them saves bandwidth and renderer memory. */
const BLOCKED_RESOURCES = new Set(["image", "media", "font"]);

/** A fresh, isolated context (cookies, storage) with Japanese locale and heavy resources blocked. */
export async function newFormContext(browser: Browser): Promise<BrowserContext> {
    const context = await browser.newContext({
        locale: "ja-JP",
        timezoneId: "Asia/Tokyo",
        viewport: { width: 1280, height: 900 },
        javaScriptEnabled: true,
        ignoreHTTPSErrors: true,
    });
    await context.route("**/*", (route) => {
        if (BLOCKED_RESOURCES.has(route.request().resourceType())) {
            return route.abort();
        }
        return route.continue();
    });
    return context;
}
