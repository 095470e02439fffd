/**
 * The worker pool on real Chromium and the fixture sites: every item settled exactly once,
 * contexts recycled, per-form timeouts, shutdown before submit, and no page left open.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { Browser } from "playwright-core";
import { launchBrowser } from "../../containers/runner/src/browser";
import { fillContactForm } from "../../containers/runner/src/fill";
import { makeLogger } from "../../containers/runner/src/log";
import { WorkerPool, type PoolOptions, type Settlement, type WorkItem } from "../../containers/runner/src/pool";
import { buildProfile, type ClientConfigLike } from "../../containers/runner/src/profile";
import { FIXTURE_ROOT, startFixtureServer, type FixtureServer } from "./fixtureServer";

const profile = buildProfile(
    JSON.parse(fs.readFileSync(path.join(FIXTURE_ROOT, "client_config.json"), "utf8")) as ClientConfigLike,
);

describe("runner worker pool (real Chromium)", function () {
    this.timeout(90_000);
    let server: FixtureServer;
    let browser: Browser;
    before(async () => {
        server = await startFixtureServer();
        browser = await launchBrowser();
    });
    after(async () => {
        await browser?.close();
        await server?.close();
    });

    function pool(items: WorkItem[], over: Partial<PoolOptions> = {}) {
        const queue = [...items];
        const settled: Array<{ item: WorkItem; s: Settlement }> = [];
        const p = new WorkerPool({
            workers: 2,
            recycleEvery: 2,
            formTimeoutMs: 30_000,
            browser: () => Promise.resolve(browser),
            log: makeLogger(() => undefined),
            mayClickSubmit: () => true,
            next: () => Promise.resolve(queue.shift() ?? null),
            process: (page, item, hooks) =>
                fillContactForm(page, item.url as string, profile, {
                    dryRun: false,
                    mayClickSubmit: hooks.mayClickSubmit,
                    onSubmitted: hooks.onSubmitted,
                }),
            settle: (item, s) => {
                settled.push({ item, s });
                return Promise.resolve();
            },
            ...over,
        });
        return { p, settled };
    }

    it("settles every item exactly once, recycles contexts every N forms and leaves no page or context open", async () => {
        const fixtures = [
            "01-basic-labels",
            "03-english",
            "07-refusal",
            "09-recaptcha",
            "12-honeypot",
            "16-cf7",
            "23-no-form",
        ];
        const items = [
            ...fixtures.map((f, i) => ({ id: i, url: server.url(f), companyName: f })),
            { id: 99, url: null, companyName: "no url" },
        ];
        const before = server.submissions.length;
        const { p, settled } = pool(items);
        const stats = await p.run();
        assert.deepStrictEqual(
            settled.map((x) => x.item.id).sort((a, b) => a - b),
            items.map((i) => i.id).sort((a, b) => a - b),
        );
        const status = Object.fromEntries(
            settled.map((x) => [x.item.companyName, x.s.kind === "result" ? x.s.result.status : "abandoned"]),
        );
        assert.deepStrictEqual(status, {
            "01-basic-labels": "sent",
            "03-english": "sent",
            "07-refusal": "skipped_refusal",
            "09-recaptcha": "skipped_captcha",
            "12-honeypot": "sent",
            "16-cf7": "sent",
            "23-no-form": "no_form",
            "no url": "no_form",
        });
        assert.strictEqual(
            server.submissions
                .slice(before)
                .filter((s) => s.accepted && (s.endpoint === "submit" || s.endpoint === "api")).length,
            4,
        );
        // 7 browser forms over 2 workers, a new context every 2 forms: at least 4 contexts.
        assert.ok(stats.contexts >= 4, `contexts ${stats.contexts}`);
        assert.deepStrictEqual(browser.contexts(), [], "every context (and its pages) is closed");
    });

    it("fails a form that exceeds the per-form timeout, saying nothing was sent, and closes its page", async () => {
        const { p, settled } = pool([{ id: 1, url: server.url("27-slow-site"), companyName: "slow" }], {
            formTimeoutMs: 800,
            workers: 1,
        });
        await p.run();
        assert.strictEqual(settled.length, 1);
        const s = settled[0].s;
        assert.ok(s.kind === "result" && s.result.status === "failed" && !s.result.submitted, JSON.stringify(s));
        assert.match(s.result.detail, /^timed out after 1 s; nothing was sent$/);
        assert.deepStrictEqual(browser.contexts(), []);
    });

    it("records a form that timed out after its submit click as failed, never to be retried", async () => {
        const { p, settled } = pool([{ id: 1, url: server.url("01-basic-labels"), companyName: "x" }], {
            workers: 1,
            formTimeoutMs: 500,
            // The submit click happened; the site never answers.
            process: async (_page, _item, hooks) => {
                hooks.onSubmitted();
                return new Promise(() => undefined);
            },
        });
        await p.run();
        const s = settled[0].s;
        assert.ok(s.kind === "result" && s.result.status === "failed" && s.result.submitted);
        assert.match(s.result.detail, /after submitting; not retried to avoid a double send/);
    });

    it("abandons a form when the shutdown gate closes before its submit, sending nothing", async () => {
        const before = server.submissions.length;
        const { p, settled } = pool([{ id: 1, url: server.url("01-basic-labels"), companyName: "x" }], {
            workers: 1,
            mayClickSubmit: () => false,
        });
        await p.run();
        assert.deepStrictEqual(
            settled.map((x) => x.s),
            [{ kind: "abandoned", reason: "shutting down before submit" }],
        );
        assert.strictEqual(server.submissions.length, before);
    });

    it("abandons an unsent form still loading when the grace period ends (forceStop)", async () => {
        const before = server.submissions.length;
        const { p, settled } = pool([{ id: 1, url: server.url("27-slow-site"), companyName: "slow" }], { workers: 1 });
        const run = p.run();
        while (p.inFlightCount === 0) await new Promise((r) => setTimeout(r, 20));
        p.forceStop();
        await run;
        assert.deepStrictEqual(
            settled.map((x) => x.s),
            [{ kind: "abandoned", reason: "grace period over before submit" }],
        );
        assert.strictEqual(server.submissions.slice(before).filter((s) => s.endpoint === "submit").length, 0);
        assert.deepStrictEqual(browser.contexts(), []);
    });

    it("stops every worker and reports the error when claiming fails, instead of leaving workers running", async () => {
        let calls = 0;
        const { p, settled } = pool([], {
            workers: 3,
            next: () => {
                calls++;
                if (calls === 2)
                    return Promise.reject(new Error("claim_send_queue_items: Could not connect with the database"));
                return Promise.resolve(
                    calls < 6 ? { id: calls, url: server.url("07-refusal"), companyName: "x" } : null,
                );
            },
        });
        await assert.rejects(p.run(), /Could not connect with the database/);
        assert.ok(calls <= 4, `workers kept claiming after the failure (${calls} claims)`);
        assert.ok(settled.every((x) => x.s.kind === "result"));
        assert.deepStrictEqual(browser.contexts(), []);
    });

    it("gives up after three browser failures in a row rather than cycling the same leases", async () => {
        let claims = 0;
        const abandoned: number[] = [];
        const { p } = pool([], {
            workers: 1,
            next: () => Promise.resolve({ id: ++claims, url: server.url("01-basic-labels"), companyName: "x" }),
            browser: () => Promise.reject(new Error("Failed to launch chromium: missing libnss3.so")),
            settle: (item, s) => {
                if (s.kind === "abandoned") abandoned.push(item.id);
                return Promise.resolve();
            },
        });
        await assert.rejects(
            p.run(),
            /Chromium failed 3 times in a row: Failed to launch chromium: missing libnss3.so/,
        );
        assert.deepStrictEqual(abandoned, [1, 2, 3], "each unstarted item was handed back for release");
    });
});
