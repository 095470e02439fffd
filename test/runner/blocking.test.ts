/**
 * Request blocking (containers/runner/src/blocking.ts) changes no outcome: the whole corpus, dressed as real sites
 * (scripts/bench/support/realisticSites.ts: stylesheets, a web font, images, vendor bundles, an analytics library on
 * www.google-analytics.com, a cookie banner), ends the same way with and without it, and each site receives the same
 * fields; forms that submit from an analytics callback still submit with the library blocked.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, newFormContext } from "../../containers/runner/src/browser";
import { decideRequest, installRequestBlocking, type BlockingStats } from "../../containers/runner/src/blocking";
import { fillContactForm } from "../../containers/runner/src/fill";
import { makeLogger } from "../../containers/runner/src/log";
import { WorkerPool, type WorkItem } from "../../containers/runner/src/pool";
import { buildProfile, type ClientConfigLike } from "../../containers/runner/src/profile";
import { analyticsRoute, startRealisticSites } from "../../scripts/bench/support/realisticSites";
import { FIXTURE_ROOT, listFixtures, readExpectation, startFixtureServer } from "./fixtureServer";

describe("request blocking rules", () => {
    const cases: [string, string, string][] = [
        ["https://example.co.jp/img/hero.jpg", "image", "abort"],
        ["https://example.co.jp/fonts/a.woff2", "font", "abort"],
        ["https://example.co.jp/movie.mp4", "media", "abort"],
        ["https://example.co.jp/contact/", "document", "allow"],
        ["https://example.co.jp/js/form.js", "script", "allow"],
        ["https://example.co.jp/css/site.css", "stylesheet", "allow"],
        ["https://example.co.jp/api/contact", "fetch", "allow"],
        ["https://www.google.com/recaptcha/api.js", "script", "allow"],
        ["https://www.gstatic.com/recaptcha/releases/x/recaptcha__ja.js", "script", "allow"],
        ["https://js.hcaptcha.com/1/api.js", "script", "allow"],
        ["https://challenges.cloudflare.com/turnstile/v0/api.js", "script", "allow"],
        ["https://js.hsforms.net/forms/embed/v2.js", "script", "allow"],
        ["https://www.googletagmanager.com/gtm.js?id=GTM-X", "script", "allow"],
        ["https://www.googletagmanager.com/gtag/js?id=G-X", "script", "surrogate"],
        ["https://www.google-analytics.com/analytics.js", "script", "surrogate"],
        ["https://www.google-analytics.com/g/collect?v=2", "fetch", "abort"],
        ["https://region1.google-analytics.com/g/collect", "ping", "abort"],
        ["https://connect.facebook.net/en_US/fbevents.js", "script", "abort"],
        ["https://static.hotjar.com/c/hotjar-1.js", "script", "abort"],
        ["https://www.clarity.ms/tag/abc", "script", "abort"],
        ["https://notgoogle-analytics.com/analytics.js", "script", "allow"],
        ["data:image/png;base64,AAAA", "image", "allow"],
    ];
    for (const [url, type, action] of cases) {
        it(`${action}s ${type} ${url}`, () => {
            assert.strictEqual(decideRequest(url, type).action, action);
        });
    }
});

/** A loopback site whose form posts only from an analytics callback, as some company sites do. */
function callbackSite(received: string[]): http.Server {
    const page = (kind: "ga" | "gtag") => `<!DOCTYPE html><html><head>
${
    kind === "ga"
        ? `<script>window.ga=window.ga||function(){(ga.q=ga.q||[]).push(arguments)};ga("create","UA-1-1","auto");</script>
<script async src="http://www.google-analytics.com/analytics.js"></script>`
        : `<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}gtag("js",new Date());</script>
<script async src="http://www.googletagmanager.com/gtag/js?id=G-TEST"></script>`
}</head><body><form id="f" method="post" action="/submit">
<input name="email" value="a@example.com"><button type="submit">send</button></form>
<script>
document.getElementById("f").addEventListener("submit", function (e) {
  e.preventDefault();
  var f = this;
  ${
      kind === "ga"
          ? `ga("send", "event", "contact", "submit", { hitCallback: function () { f.submit(); } });`
          : `gtag("event", "generate_lead", { event_callback: function () { f.submit(); } });`
  }
});
</script></body></html>`;
    return http.createServer((req, res) => {
        if (req.method === "POST") {
            received.push(req.url ?? "");
            res.writeHead(200, { "content-type": "text/html" });
            return res.end("<p>thanks</p>");
        }
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(page(req.url === "/gtag" ? "gtag" : "ga"));
    });
}

describe("request blocking in real Chromium", function () {
    this.timeout(1_200_000);
    let browser: Browser;
    before(async () => {
        browser = await launchBrowser();
    });
    after(async () => {
        await browser?.close();
    });

    for (const kind of ["ga", "gtag"] as const) {
        it(`a form that submits from the ${kind} callback still submits with ${kind} blocked`, async () => {
            const received: string[] = [];
            const server = callbackSite(received);
            await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
            const port = (server.address() as { port: number }).port;
            // The default context of the runner: blocking on. The analytics host is never contacted (a request to
            // it would leave the machine): the surrogate answers it.
            const context = await newFormContext(browser);
            const external: string[] = [];
            context.on("request", (r) => {
                if (!r.url().startsWith("http://127.0.0.1")) external.push(r.url());
            });
            try {
                const page = await context.newPage();
                await page.goto(`http://127.0.0.1:${port}/${kind === "gtag" ? "gtag" : "ga"}`);
                await page.waitForFunction(
                    kind === "ga" ? "window.ga && window.ga.loaded === true" : "dataLayer.push.length === 0",
                );
                await Promise.all([page.waitForURL(/\/submit$/), page.click("button")]);
                assert.deepStrictEqual(received, ["/submit"]);
                assert.strictEqual(
                    external.length,
                    1,
                    `one analytics request, answered locally: ${external.join(", ")}`,
                );
            } finally {
                await context.close();
                server.closeAllConnections();
                await new Promise((r) => server.close(r));
            }
        });
    }

    it("ends every corpus form the same way with and without blocking, and every site receives the same", async () => {
        const config = JSON.parse(
            fs.readFileSync(path.join(FIXTURE_ROOT, "client_config.json"), "utf8"),
        ) as ClientConfigLike;
        const profile = buildProfile(config);
        const fixtures = listFixtures();
        const fixtureServer = await startFixtureServer({ sites: fixtures.length });
        const sites = await startRealisticSites(fixtureServer.siteOrigins, { serverTime: false, bitsPerSecond: 1e10 });
        const run = async (blocking: boolean, only: readonly string[]) => {
            fixtureServer.submissions.length = 0;
            const status = new Map<string, string>();
            const stats: BlockingStats[] = [];
            const queue: WorkItem[] = only.map((f, id) => ({
                id,
                url: `${sites.origins[fixtures.indexOf(f)]}/${f}/${readExpectation(f).start ?? ""}`,
                companyName: f,
            }));
            const pool = new WorkerPool({
                workers: 3,
                recycleEvery: 20,
                formTimeoutMs: 120_000,
                browser: () => Promise.resolve(browser),
                newContext: async (b: Browser): Promise<BrowserContext> => {
                    const context = await newFormContext(b, false);
                    await analyticsRoute(context);
                    if (blocking) stats.push(await installRequestBlocking(context));
                    return context;
                },
                log: makeLogger(() => undefined),
                mayClickSubmit: () => true,
                next: () => Promise.resolve(queue.shift() ?? null),
                process: (page: Page, item: WorkItem) =>
                    fillContactForm(page, item.url as string, profile, { dryRun: false, outcomeTimeoutMs: 30_000 }),
                settle: (item, s) => {
                    status.set(item.companyName, s.kind === "result" ? s.result.status : `abandoned`);
                    return Promise.resolve();
                },
            });
            await pool.run();
            const sent = new Map(
                only.map((f) => [f, JSON.stringify(fixtureServer.sent(f).map((s) => [s.endpoint, s.fields]))]),
            );
            const aborted = stats.reduce((n, s) => n + s.aborted, 0);
            const surrogates = stats.reduce((n, s) => n + s.surrogates, 0);
            return { status: Object.fromEntries(status), sent: Object.fromEntries(sent), aborted, surrogates };
        };
        try {
            const without = await run(false, fixtures);
            const withBlocking = await run(true, fixtures);
            assert.strictEqual(Object.keys(without.status).length, fixtures.length);
            // On a loaded machine a form can run out of time in either run. A difference blocking causes is there
            // every time; one the load causes is not: each differing fixture is filled again alone, both ways.
            for (const f of fixtures) {
                for (let tries = 0; tries < 2; tries++) {
                    if (withBlocking.status[f] === without.status[f] && withBlocking.sent[f] === without.sent[f]) break;
                    const a = await run(false, [f]);
                    const b = await run(true, [f]);
                    without.status[f] = a.status[f];
                    without.sent[f] = a.sent[f];
                    withBlocking.status[f] = b.status[f];
                    withBlocking.sent[f] = b.sent[f];
                }
            }
            assert.deepStrictEqual(withBlocking.status, without.status);
            assert.deepStrictEqual(withBlocking.sent, without.sent);
            // Blocking really happened: each page's 12 images and its font at least, and the analytics surrogate.
            assert.ok(withBlocking.aborted >= fixtures.length * 13, `aborted ${withBlocking.aborted}`);
            assert.ok(withBlocking.surrogates >= fixtures.length, `surrogates ${withBlocking.surrogates}`);
        } finally {
            await sites.close();
            await fixtureServer.close();
        }
    });
});
