/**
 * Worker pool: one Chromium, one browser context per worker, contexts replaced every N forms,
 * a hard timeout per form, and no page left open. Work comes from a `next()` function (the
 * job's lease-based claimer); each finished item goes to `settle()` exactly once, either with
 * a result to record or as abandoned (nothing was sent: the lease is to be released).
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { newFormContext } from "./browser";
import { SubmitAbandoned } from "./fill";
import type { Logger } from "./log";
import type { FillResult } from "./types";

export interface WorkItem {
    readonly id: number;
    readonly url: string | null;
    readonly companyName: string;
}

export type Settlement =
    | { readonly kind: "result"; readonly result: FillResult }
    /** Nothing reached the site: return the item to the queue. */
    | { readonly kind: "abandoned"; readonly reason: string };

export interface SubmitHooks {
    /** Asked before each submit click; false abandons the form (SubmitAbandoned). */
    readonly mayClickSubmit: () => boolean;
    readonly onSubmitted: () => void;
}

export interface PoolOptions {
    readonly workers: number;
    readonly recycleEvery: number;
    readonly formTimeoutMs: number;
    /** The browser; called again after Chromium died, to get a new one. */
    readonly browser: () => Promise<Browser>;
    readonly next: () => Promise<WorkItem | null>;
    readonly process: (page: Page, item: WorkItem, hooks: SubmitHooks) => Promise<FillResult>;
    readonly settle: (item: WorkItem, settlement: Settlement) => Promise<void>;
    readonly mayClickSubmit: () => boolean;
    readonly log: Logger;
    /** Opens contexts; the default blocks images/fonts/media (browser.ts). */
    readonly newContext?: (browser: Browser) => Promise<BrowserContext>;
}

export interface PoolStats {
    processed: number;
    abandoned: number;
    contexts: number;
    byStatus: Record<string, number>;
}

/** Consecutive context/page failures after which the pool stops instead of cycling leases. */
const MAX_BROWSER_FAILURES = 3;

/** The pool's error once Chromium failed `failures` times in a row, the last time with `err`. */
function browserGaveUp(failures: number, err: unknown): Error {
    const firstLine = (err as Error).message.split("\n")[0];
    return new Error(`Chromium failed ${failures} times in a row: ${firstLine}`);
}

interface InFlight {
    readonly item: WorkItem;
    readonly page: Page;
    submitted: boolean;
}

export class WorkerPool {
    private readonly inFlight = new Set<InFlight>();
    private forced = false;
    /** The first error no worker can get past (claims failing, Chromium not starting): all workers stop. */
    private fatal: Error | null = null;
    private browserFailures = 0;
    readonly stats: PoolStats = { processed: 0, abandoned: 0, contexts: 0, byStatus: {} };

    constructor(private readonly opts: PoolOptions) {}

    /** Runs every worker until `next()` runs dry; resolves when all contexts are closed. */
    async run(): Promise<PoolStats> {
        // allSettled: a failing worker must not leave the others running unobserved.
        await Promise.allSettled(Array.from({ length: this.opts.workers }, (_, i) => this.worker(i)));
        if (this.fatal) {
            throw this.fatal;
        }
        return this.stats;
    }

    private stop(err: Error): void {
        this.fatal ??= err;
    }

    /** Grace period over: closes every open page; unsent forms are abandoned, sent ones recorded as interrupted. */
    forceStop(): void {
        this.forced = true;
        for (const f of this.inFlight) {
            f.page.close().catch(() => undefined);
        }
    }

    get inFlightCount(): number {
        return this.inFlight.size;
    }

    private async worker(index: number): Promise<void> {
        let context: BrowserContext | null = null;
        // One page per worker, reused form after form: opening a page costs a renderer start
        // and a CDP target setup, as much CPU as filling a simple form.
        let page: Page | null = null;
        let used = 0;
        const newContext = this.opts.newContext ?? newFormContext;
        try {
            for (;;) {
                if (this.fatal) {
                    return;
                }
                let item: WorkItem | null;
                try {
                    item = await this.opts.next();
                } catch (err) {
                    this.stop(err as Error);
                    return;
                }
                if (!item) {
                    return;
                }
                if (!item.url) {
                    await this.finish(item, {
                        kind: "result",
                        result: {
                            status: "no_form",
                            submitted: false,
                            fields: [],
                            detail: "company has no form URL",
                            formUrl: "",
                        },
                    });
                    continue;
                }
                if (!context || used >= this.opts.recycleEvery) {
                    // A fresh context drops cookies, storage and renderer memory the last forms left.
                    await context?.close().catch(() => undefined);
                    page = null;
                    context = null;
                    try {
                        context = await newContext(await this.opts.browser());
                    } catch (err) {
                        this.opts.log.warn("could not open a browser context", {
                            worker: index,
                            error: (err as Error).message,
                        });
                        await this.finish(item, { kind: "abandoned", reason: "browser context unusable" });
                        // Released items would be claimed straight back: give up after a few in a row.
                        if (++this.browserFailures >= MAX_BROWSER_FAILURES) {
                            this.stop(browserGaveUp(this.browserFailures, err));
                        }
                        continue;
                    }
                    this.stats.contexts++;
                    used = 0;
                }
                used++;
                try {
                    if (!page || page.isClosed()) {
                        page = await context.newPage();
                    }
                } catch (err) {
                    // The context (or Chromium) is gone: the item never started, so it goes back.
                    this.opts.log.warn("could not open a page; replacing the context", {
                        worker: index,
                        error: (err as Error).message,
                    });
                    await context.close().catch(() => undefined);
                    context = null;
                    page = null;
                    await this.finish(item, { kind: "abandoned", reason: "browser context unusable" });
                    if (++this.browserFailures >= MAX_BROWSER_FAILURES) {
                        this.stop(browserGaveUp(this.browserFailures, err));
                    }
                    continue;
                }
                this.browserFailures = 0;
                const settlement = await this.runOne(page, item);
                // Popups a form opened (target=_blank, window.open) must not outlive it.
                for (const other of context.pages()) {
                    if (other !== page) {
                        await other.close().catch(() => undefined);
                    }
                }
                await this.finish(item, settlement);
            }
        } catch (err) {
            this.stop(err as Error);
        } finally {
            await context?.close().catch(() => undefined);
        }
    }

    private async runOne(page: Page, item: WorkItem): Promise<Settlement> {
        const flight: InFlight = { item, page, submitted: false };
        this.inFlight.add(flight);
        let timedOut = false;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
                timedOut = true;
                // Closing the page makes every pending Playwright call in the form reject.
                page.close().catch(() => undefined);
                reject(new Error("form timeout"));
            }, this.opts.formTimeoutMs);
        });
        try {
            const result = await Promise.race([
                this.opts.process(page, item, {
                    mayClickSubmit: () => !this.forced && this.opts.mayClickSubmit(),
                    onSubmitted: () => (flight.submitted = true),
                }),
                timeout,
            ]);
            if (this.forced && !flight.submitted) {
                // Closing the page at the end of the grace period makes the form fail on its own
                // ("navigation failed", "target closed"); nothing was sent, so it goes back.
                return { kind: "abandoned", reason: "grace period over before submit" };
            }
            if (this.forced && result.status !== "sent") {
                return {
                    kind: "result",
                    result: {
                        ...result,
                        detail:
                            "interrupted by shutdown after submitting; " +
                            `not retried to avoid a double send (${result.detail})`,
                    },
                };
            }
            return { kind: "result", result };
        } catch (err) {
            if (err instanceof SubmitAbandoned) {
                return { kind: "abandoned", reason: "shutting down before submit" };
            }
            if (!flight.submitted && this.forced && !timedOut) {
                return { kind: "abandoned", reason: "grace period over before submit" };
            }
            const why = timedOut
                ? `timed out after ${Math.round(this.opts.formTimeoutMs / 1000)} s`
                : this.forced
                  ? "interrupted by shutdown"
                  : `runner error: ${(err as Error).message.split("\n")[0]}`;
            // Once the submit was clicked the form may have reached the site: record it, never retry it.
            const detail = flight.submitted
                ? `${why} after submitting; not retried to avoid a double send`
                : `${why}; nothing was sent`;
            return {
                kind: "result",
                result: { status: "failed", submitted: flight.submitted, fields: [], detail, formUrl: "" },
            };
        } finally {
            clearTimeout(timer);
            this.inFlight.delete(flight);
        }
    }

    private async finish(item: WorkItem, settlement: Settlement): Promise<void> {
        if (settlement.kind === "abandoned") {
            this.stats.abandoned++;
        } else {
            this.stats.processed++;
            this.stats.byStatus[settlement.result.status] = (this.stats.byStatus[settlement.result.status] ?? 0) + 1;
        }
        await this.opts.settle(item, settlement);
    }
}
