/**
 * Runner throughput and memory: the fixture corpus (test/runner/fixtures, each page on its own
 * loopback address so every form is a different site) filled by the
 * runner's worker pool (4 workers: one Chromium, one context each, recycled) beside a
 * baseline measured in the same run that launches a browser per form (also 4 at a time).
 * Targets: pool ≥ 3× the baseline's forms/minute, pool peak RSS ≤ 1.5 GiB.
 *
 * Memory is sampled every 250 ms over this process and every descendant (Chromium's browser,
 * GPU/network utility and renderer processes) as PSS — each resident page counted once, as the
 * container's memory limit counts it — and, for reference, as the per-process RSS sum, which
 * counts the ~100 MiB Chromium binary and shared memory again in every process.
 *
 * Accuracy (issue 16): the memory round is scored against each fixture's expected.json: outcome as
 * expected, forms sent that should be, expected fields received with the expected value, and wrongful
 * sends (a site that received a message it must not have, or received it twice).
 * RUNNER_BENCH_ACCURACY_ONLY=1 stops after that round.
 */
import * as fs from "fs";
import * as path from "path";
import type { Page } from "playwright-core";
import { launchBrowser, newFormContext } from "../../containers/runner/src/browser";
import { fillContactForm } from "../../containers/runner/src/fill";
import { WorkerPool, type WorkItem } from "../../containers/runner/src/pool";
import { makeLogger } from "../../containers/runner/src/log";
import { buildProfile, type ClientConfigLike } from "../../containers/runner/src/profile";
import type { FillStatus } from "../../containers/runner/src/types";
import {
    FIXTURE_ROOT,
    listFixtures,
    readExpectation,
    scoreFixture,
    startFixtureServer,
    type FixtureScore,
} from "../../test/runner/fixtureServer";

const WORKERS = 4;
const POOL_ROUNDS = 2;
const GIB = 1024 ** 3;

interface TreeMemory {
    /** Sum of every process's VmRSS: pages shared between Chromium's processes counted once per process. */
    readonly rss: number;
    /** Sum of every process's Pss: shared pages divided among their sharers, so each counts once. */
    readonly pss: number;
    readonly processes: number;
}

/**
 * Memory of this process and all its descendants (Chromium's browser, utility and renderer
 * processes). PSS needs the kernel to walk page tables, so it is only read when asked for.
 */
function processTreeMemory(root: number, withPss: boolean): TreeMemory {
    const children = new Map<number, number[]>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            const list = children.get(ppid) ?? [];
            list.push(Number(entry));
            children.set(ppid, list);
        } catch {
            // The process ended while we looked.
        }
    }
    let rss = 0;
    let pss = 0;
    let processes = 0;
    const stack = [root];
    while (stack.length > 0) {
        const pid = stack.pop() as number;
        try {
            rss += Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
            if (withPss)
                pss +=
                    Number(/^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0) *
                    1024;
            processes++;
        } catch {
            continue;
        }
        stack.push(...(children.get(pid) ?? []));
    }
    return { rss, pss, processes };
}

async function measure<T>(
    fn: () => Promise<T>,
    withPss = false,
): Promise<{ value: T; ms: number; peakRss: number; peakPss: number; peakProcesses: number }> {
    let peakRss = 0;
    let peakPss = 0;
    let peakProcesses = 0;
    const sample = () => {
        const m = processTreeMemory(process.pid, withPss);
        peakRss = Math.max(peakRss, m.rss);
        peakPss = Math.max(peakPss, m.pss);
        peakProcesses = Math.max(peakProcesses, m.processes);
    };
    sample();
    const timer = setInterval(sample, withPss ? 200 : 100);
    const t0 = Date.now();
    try {
        const value = await fn();
        return { value, ms: Date.now() - t0, peakRss, peakPss, peakProcesses };
    } finally {
        clearInterval(timer);
    }
}

export async function bench(): Promise<void> {
    const config = JSON.parse(
        fs.readFileSync(path.join(FIXTURE_ROOT, "client_config.json"), "utf8"),
    ) as ClientConfigLike;
    const profile = buildProfile(config);
    const fixtures = listFixtures();
    // Each fixture on its own loopback address: to Chromium every recipient is a different site,
    // as in production, so renderer reuse is measured honestly.
    const server = await startFixtureServer({ sites: fixtures.length });
    const urls = fixtures.map((f, i) => `${server.siteOrigins[i]}/${f}/${readExpectation(f).start ?? ""}`);
    const silent = makeLogger(() => undefined);
    const statusOf = new Map<string, number>();
    try {
        // Warm-up outside the clock: the first Chromium start pays for disk cache misses.
        const warm = await launchBrowser();
        await warm.close();

        // The status each form ended with, by fixture, in the latest pool run.
        const lastStatus = new Map<string, FillStatus>();
        const runPool = async (rounds: number) => {
            const queue: WorkItem[] = [];
            for (let r = 0; r < rounds; r++)
                urls.forEach((url, i) => queue.push({ id: r * urls.length + i, url, companyName: fixtures[i] }));
            const browser = await launchBrowser();
            try {
                const p = new WorkerPool({
                    workers: WORKERS,
                    recycleEvery: 20,
                    formTimeoutMs: 60_000,
                    browser: () => Promise.resolve(browser),
                    log: silent,
                    mayClickSubmit: () => true,
                    next: () => Promise.resolve(queue.shift() ?? null),
                    process: (page: Page, item: WorkItem) =>
                        fillContactForm(page, item.url as string, profile, { dryRun: false }),
                    settle: (item, s) => {
                        const key = s.kind === "result" ? s.result.status : "abandoned";
                        if (s.kind === "result") lastStatus.set(item.companyName, s.result.status);
                        statusOf.set(key, (statusOf.get(key) ?? 0) + 1);
                        return Promise.resolve();
                    },
                });
                return await p.run();
            } finally {
                await browser.close();
            }
        };
        // First, untimed: one pool round that reads PSS and is also the accuracy run (what each
        // site received in it, against its expected.json).
        server.submissions.length = 0;
        lastStatus.clear();
        const poolMemory = await measure(() => runPool(1), true);
        const scores: FixtureScore[] = fixtures.map((f) =>
            scoreFixture(
                f,
                lastStatus.get(f) ?? "failed",
                server.sent(f),
                config.message.body,
                server.submissions.filter((x) => x.fixture === f),
            ),
        );
        console.log(
            `corpus: ${urls.length} fixture pages, each its own site; ${WORKERS} workers; ` +
                `outcomes ${JSON.stringify(Object.fromEntries(statusOf))}`,
        );
        const ok = scores.filter((x) => x.statusOk).length;
        const fieldsOk = scores.reduce((n, x) => n + x.fieldsCorrect, 0);
        const fieldsAll = scores.reduce((n, x) => n + x.fieldsExpected, 0);
        const wrongful = scores.filter((x) => x.wrongful);
        const mustSend = scores.filter((x) => x.expected === "sent");
        console.log(
            `accuracy (one pool round): outcome as expected ${ok}/${scores.length}; ` +
                `sent ${mustSend.filter((x) => x.received === 1).length}/${mustSend.length} that should be; ` +
                `fields ${fieldsOk}/${fieldsAll} (${((100 * fieldsOk) / Math.max(fieldsAll, 1)).toFixed(1)} %); ` +
                `wrongful sends ${wrongful.length}` +
                (wrongful.length ? ` (${wrongful.map((x) => x.fixture).join(", ")})` : ""),
        );
        for (const x of scores.filter((y) => !y.statusOk || y.fieldsCorrect < y.fieldsExpected)) {
            console.log(
                `  ${x.fixture}: expected ${x.expected}, got ${x.actual}; received ${x.received}; ` +
                    `fields ${x.fieldsCorrect}/${x.fieldsExpected}`,
            );
        }
        if (process.env.RUNNER_BENCH_ACCURACY_ONLY === "1") {
            console.log("RUNNER_BENCH_ACCURACY_ONLY=1: throughput runs skipped");
            return;
        }
        // Timed runs sample only the cheap RSS.
        const pool = await measure(() => runPool(POOL_ROUNDS));
        const poolForms = POOL_ROUNDS * urls.length;

        const baseline = await measure(async () => {
            const queue = [...urls];
            let done = 0;
            await Promise.all(
                Array.from({ length: WORKERS }, async () => {
                    for (let url = queue.shift(); url; url = queue.shift()) {
                        const browser = await launchBrowser();
                        try {
                            const context = await newFormContext(browser);
                            const page = await context.newPage();
                            await fillContactForm(page, url, profile, { dryRun: false });
                            done++;
                        } finally {
                            await browser.close();
                        }
                    }
                }),
            );
            return done;
        });

        const poolRate = (poolForms / pool.ms) * 60_000;
        const baseRate = (baseline.value / baseline.ms) * 60_000;
        const ratio = poolRate / baseRate;
        const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
        const fmt = (n: number) => n.toFixed(1);
        const met = (ok: boolean) => (ok ? "met" : "NOT met");
        console.log(
            `pool (1 Chromium, context+page per worker, ${POOL_ROUNDS} rounds): ` +
                `${poolForms} forms in ${fmt(pool.ms / 1000)} s = ${fmt(poolRate)} forms/min; ` +
                `peak PSS ${mib(poolMemory.peakPss)}, peak RSS sum ${mib(pool.peakRss)} ` +
                `over ≤ ${pool.peakProcesses} processes; contexts opened ${pool.value.contexts}`,
        );
        console.log(
            `baseline (browser per form):                    ` +
                `${baseline.value} forms in ${fmt(baseline.ms / 1000)} s = ${fmt(baseRate)} forms/min; ` +
                `peak RSS sum ${mib(baseline.peakRss)} over ≤ ${baseline.peakProcesses} processes`,
        );
        console.log(`throughput pool/baseline: ${ratio.toFixed(2)}× (target ≥ 3×: ${met(ratio >= 3)})`);
        console.log(
            `pool peak memory: ${(poolMemory.peakPss / GIB).toFixed(2)} GiB PSS ` +
                `(target ≤ 1.5 GiB: ${met(poolMemory.peakPss <= 1.5 * GIB)}); ` +
                `the per-process RSS sum, ${(pool.peakRss / GIB).toFixed(2)} GiB, ` +
                "counts Chromium's shared binary and memory once per process",
        );
    } finally {
        await server.close();
    }
}
