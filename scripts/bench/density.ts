/**
 * Density: how many workers one runner instance should run, and what 1,000 forms cost (issue 17).
 *
 * The corpus (test/runner/fixtures, each page its own site) is served through the realistic-site proxies
 * (support/realisticSites.ts: server time, a bandwidth cap, a median page's weight) and filled by the runner's pool
 * with request blocking on, for 4, 5, 6, 7, 8, 12, 16 and 24 workers (`DENSITY_WORKERS=4,8` to choose), plus 4 workers
 * without blocking, all in the same run. Every point fills the same evenly spread sample of the corpus
 * (`DENSITY_SAMPLE` pages, default 24), `DENSITY_FORMS_PER_WORKER` forms per worker (default 2) and at least the
 * sample, so that all workers are busy at once (the memory peak) and a point ends within minutes on a loaded
 * machine. Per point: forms per hour on this machine, CPU
 * seconds per form (utime+stime of the runner process and every Chromium process, /proc/<pid>/stat), peak PSS of
 * the Chromium processes (/proc/<pid>/smaps_rollup) per worker, network wait per form (time the sites had a request
 * of it outstanding), and the outcome counts against the corpus's expected.json.
 *
 * Projection to a c6a.xlarge (4 vCPU, 7.5 GiB usable by the job): this machine is shared and loaded, so wall time
 * here says little; a worker spends each form waiting on the network (measured at the sites) and computing (CPU
 * seconds per form), so one worker completes 3600 / (wait + CPU) forms an hour — CPU counted as if never
 * overlapping the wait, which understates — and the instance completes the least of: workers × that (network
 * wait), 4 vCPU × 3600 / CPU per form (CPU), and nothing when peak PSS exceeds 7.5 GiB (memory). CPU and wait per
 * form come from the 4-worker point (denser points starve on a loaded machine; their outcomes are printed and
 * flagged), memory from each point. The recommended point is the densest one that keeps projected CPU at or under
 * CPU_TARGET and peak memory at or under MEMORY_TARGET of the usable memory (the safety margin).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, newFormContext, resolveChromiumPath, sandboxPolicy } from "../../containers/runner/src/browser";
import { installRequestBlocking } from "../../containers/runner/src/blocking";
import { fillContactForm } from "../../containers/runner/src/fill";
import { makeLogger } from "../../containers/runner/src/log";
import { WorkerPool, type WorkItem } from "../../containers/runner/src/pool";
import { buildProfile, type ClientConfigLike } from "../../containers/runner/src/profile";
import { price, RUNNER_INSTANCE } from "../cost/prices";
import { FIXTURE_ROOT, listFixtures, readExpectation, startFixtureServer } from "../../test/runner/fixtureServer";
import { analyticsRoute, startRealisticSites } from "./support/realisticSites";

/** c6a.xlarge: 4 vCPU; 7.5 GiB of its 8 GiB is what the job may use (the rest is the OS and the ECS agent). */
const INSTANCE_VCPUS = RUNNER_INSTANCE.vcpus;
const USABLE_BYTES = 7.5 * 1024 ** 3;
/** Safety margin: the recommended density keeps projected CPU ≤ 75 % and peak PSS ≤ 75 % of usable memory. */
export const CPU_TARGET = 0.75;
export const MEMORY_TARGET = 0.75;
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64 and arm64
const MIB = 1024 ** 2;

interface ProcInfo {
    ppid: number;
    ticks: number;
}

/**
 * Which Chromium process a pid is, from its command line (`--type=renderer|gpu-process|utility|zygote`; none for the
 * browser process itself), for the CPU split.
 */
function processKind(pid: number): string {
    try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
        const type = /--type=([\w-]+)/.exec(cmd)?.[1];
        if (type === "utility") return "network and other services";
        if (type === "gpu-process") return "GPU (software)";
        return type ?? "browser";
    } catch {
        return "ended";
    }
}

function readProcs(): Map<number, ProcInfo> {
    const out = new Map<number, ProcInfo>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            // Fields after the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
            out.set(Number(entry), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
        } catch {
            // The process ended while we looked.
        }
    }
    return out;
}

function descendants(root: number, procs: Map<number, ProcInfo>): number[] {
    const children = new Map<number, number[]>();
    for (const [pid, p] of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
    const out: number[] = [];
    const stack = [...(children.get(root) ?? [])];
    while (stack.length > 0) {
        const pid = stack.pop() as number;
        out.push(pid);
        stack.push(...(children.get(pid) ?? []));
    }
    return out;
}

function pss(pid: number): number {
    try {
        const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
        return Number(m?.[1] ?? 0) * 1024;
    } catch {
        return 0;
    }
}

/** Busy and total jiffies of the whole machine (/proc/stat), for the load statement. */
function machineTicks(): { busy: number; total: number } {
    const cpu = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].split(/\s+/).slice(1).map(Number);
    const idle = cpu[3] + (cpu[4] ?? 0);
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
}

/**
 * CPU seconds used by this process's Chromium processes and by the runner (this process) while `fn` runs: every
 * process is sampled, and a process that ended counts with its last sample (renderers end when a page moves to another
 * site or a context closes; up to one sampling interval of each is lost, so this slightly understates Chromium).
 */
async function sampleWhile<T>(fn: () => Promise<T>): Promise<{
    value: T;
    wallMs: number;
    chromiumCpuS: number;
    chromiumCpuByKind: Record<string, number>;
    runnerCpuS: number;
    peakPss: number;
    peakProcesses: number;
    machineBusyCores: number;
}> {
    const seen = new Map<number, { first: number; last: number; kind: string }>();
    let peakPss = 0;
    let peakProcesses = 0;
    let n = 0;
    let samplerUs = 0;
    const sample = () => {
        const c0 = process.cpuUsage();
        const procs = readProcs();
        const tree = descendants(process.pid, procs);
        for (const pid of tree) {
            const ticks = procs.get(pid)?.ticks ?? 0;
            const s = seen.get(pid);
            if (s) s.last = ticks;
            else seen.set(pid, { first: n === 0 ? ticks : 0, last: ticks, kind: processKind(pid) });
        }
        // PSS walks page tables: every other sample is enough for a peak.
        if (n % 2 === 0) {
            peakPss = Math.max(
                peakPss,
                tree.reduce((a, pid) => a + pss(pid), 0),
            );
        }
        peakProcesses = Math.max(peakProcesses, tree.length);
        n++;
        const c = process.cpuUsage(c0);
        samplerUs += c.user + c.system;
    };
    const cpu0 = process.cpuUsage();
    const m0 = machineTicks();
    sample();
    const timer = setInterval(sample, 500);
    const t0 = Date.now();
    try {
        const value = await fn();
        sample();
        const wallMs = Date.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const m1 = machineTicks();
        const chromiumTicks = [...seen.values()].reduce((a, s) => a + (s.last - s.first), 0);
        const chromiumCpuByKind: Record<string, number> = {};
        for (const s of seen.values()) {
            chromiumCpuByKind[s.kind] = (chromiumCpuByKind[s.kind] ?? 0) + (s.last - s.first) / CLK_TCK;
        }
        return {
            value,
            wallMs,
            chromiumCpuS: chromiumTicks / CLK_TCK,
            chromiumCpuByKind,
            // The sampler's own CPU is not the runner's; the loopback sites' (same process) is counted, which
            // overstates the runner slightly.
            runnerCpuS: (cpu.user + cpu.system - samplerUs) / 1e6,
            peakPss,
            peakProcesses,
            machineBusyCores: ((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * os.cpus().length,
        };
    } finally {
        clearInterval(timer);
    }
}

export interface Point {
    readonly label: string;
    readonly workers: number;
    readonly blocking: boolean;
    readonly forms: number;
    readonly formsPerHourHere: number;
    readonly cpuPerForm: number;
    /** CPU seconds per form by process: the runner (with the loopback sites) and each kind of Chromium process. */
    readonly cpuSplit?: Record<string, number>;
    readonly waitPerForm: number;
    readonly pssPerWorker: number;
    readonly peakPss: number;
    readonly outcomes: Record<string, number>;
    readonly failures: Record<string, number>;
    readonly asExpected: number;
    readonly machineBusyCores: number;
}

export interface Projection {
    readonly formsPerInstanceHour: number;
    readonly limit: "CPU" | "memory" | "network wait";
    readonly cpuUse: number;
    readonly memoryUse: number;
    readonly dollarsPer1000: number;
}

/** Forms per c6a.xlarge instance-hour from CPU and memory per form (see the header for the model). */
export function project(p: Pick<Point, "workers" | "cpuPerForm" | "waitPerForm" | "peakPss">, hourly: number) {
    const perWorker = 3600 / (p.waitPerForm + p.cpuPerForm);
    const network = p.workers * perWorker;
    const cpu = (INSTANCE_VCPUS * 3600) / p.cpuPerForm;
    const memoryUse = p.peakPss / USABLE_BYTES;
    const rate = memoryUse > 1 ? 0 : Math.min(network, cpu);
    const limit: Projection["limit"] = memoryUse > 1 ? "memory" : network <= cpu ? "network wait" : "CPU";
    return {
        formsPerInstanceHour: rate,
        limit,
        cpuUse: (rate * p.cpuPerForm) / (INSTANCE_VCPUS * 3600),
        memoryUse,
        dollarsPer1000: rate > 0 ? (hourly / rate) * 1000 : Infinity,
    } satisfies Projection;
}

export async function bench(): Promise<void> {
    const replay = process.env.DENSITY_REPLAY;
    if (replay) {
        const points = JSON.parse(fs.readFileSync(replay, "utf8")) as Point[];
        console.log(`replaying ${points.length} measured points from ${replay}:`);
        points.forEach((p) => console.log(describe(p)));
        report(points, price("us-east-1", "ec2.c6a.xlarge.spot").usd);
        return;
    }
    const config = JSON.parse(
        fs.readFileSync(path.join(FIXTURE_ROOT, "client_config.json"), "utf8"),
    ) as ClientConfigLike;
    const profile = buildProfile(config);
    const fixtures = listFixtures();
    const workerCounts = (process.env.DENSITY_WORKERS ?? "4,5,6,7,8,12,16,24").split(",").map((s) => Number(s.trim()));
    const bad = workerCounts.filter((w) => !Number.isInteger(w) || w < 1 || w > 64);
    if (bad.length > 0) {
        throw new Error(`DENSITY_WORKERS must list whole numbers 1..64 separated by commas, got "${bad.join(",")}"`);
    }
    const spot = price("us-east-1", "ec2.c6a.xlarge.spot").usd;
    const fixtureServer = await startFixtureServer({ sites: fixtures.length });
    const sites = await startRealisticSites(fixtureServer.siteOrigins);
    const silent = makeLogger(() => undefined);
    // A fixed, evenly spread sample of the corpus (DENSITY_SAMPLE pages, default 24) so that a point on this loaded
    // machine ends within minutes; every point fills the same pages, DENSITY_FORMS_PER_WORKER (default 2) per worker.
    const sampleSize = Math.min(fixtures.length, Number(process.env.DENSITY_SAMPLE ?? 24));
    const sample = Array.from({ length: sampleSize }, (_, k) => Math.floor((k * fixtures.length) / sampleSize));
    const perWorker = Number(process.env.DENSITY_FORMS_PER_WORKER ?? 2);
    const load0 = os.loadavg();
    console.log(
        `realistic sites: ${fixtures.length} corpus pages, each its own site; per page ` +
            Object.entries(sites.weight)
                .map(([k, v]) => `${k} ${Math.round(v / 1024)} KB`)
                .join(", ") +
            `; server time 200–2,000 ms per document, 10 Mbit/s per site (support/realisticSites.ts)`,
    );
    console.log(
        `machine: ${os.cpus().length} CPUs shared with other work, load average ${load0.map((l) => l.toFixed(1)).join(" ")}` +
            " at start: wall-clock figures are of this machine under that load; the projection uses CPU and memory per form",
    );
    // The sandbox is part of what a form costs on the instance; as root it cannot run (browser.ts sandboxPolicy).
    // Which binary matters as much: the headless shell spends about 40 % less CPU per form than the full browser.
    console.log(`Chromium: ${resolveChromiumPath() ?? "Playwright's own"}, ${sandboxPolicy(process.env).reason}`);

    const runPoint = async (workers: number, blocking: boolean): Promise<Point> => {
        // Two forms per worker, at least SAMPLE.length, cycling over the same sample of the corpus at every point.
        const forms = Math.max(sample.length, perWorker * workers);
        const queue: WorkItem[] = Array.from({ length: forms }, (_, id) => {
            const i = sample[id % sample.length];
            return {
                id,
                url: `${sites.origins[i]}/${fixtures[i]}/${readExpectation(fixtures[i]).start ?? ""}`,
                companyName: fixtures[i],
            };
        });
        const outcomes: Record<string, number> = {};
        let asExpected = 0;
        const failures: Record<string, number> = {};
        sites.reset();
        const browser = await launchBrowser();
        try {
            // Chromium's own processes before any worker: the share of memory no worker adds.
            await new Promise((r) => setTimeout(r, 1000));
            const base = descendants(process.pid, readProcs()).reduce((a, pid) => a + pss(pid), 0);
            const run = await sampleWhile(async () => {
                const pool = new WorkerPool({
                    workers,
                    recycleEvery: 20,
                    // Generous: on this loaded machine a form waits for CPU far longer than on an instance.
                    formTimeoutMs: 300_000,
                    browser: () => Promise.resolve(browser),
                    newContext: async (b: Browser) => {
                        const context = await newFormContext(b, false);
                        await analyticsRoute(context);
                        if (blocking) await installRequestBlocking(context);
                        return context;
                    },
                    log: silent,
                    mayClickSubmit: () => true,
                    next: () => Promise.resolve(queue.shift() ?? null),
                    process: (page: Page, item: WorkItem) =>
                        fillContactForm(page, item.url as string, profile, { dryRun: false }),
                    settle: (item, s) => {
                        const key = s.kind === "result" ? s.result.status : "abandoned";
                        outcomes[key] = (outcomes[key] ?? 0) + 1;
                        if (s.kind === "result" && s.result.status === readExpectation(item.companyName).status)
                            asExpected++;
                        if (s.kind === "result" && s.result.status === "failed") {
                            // Why, without the numbers: on a loaded machine most are waits that ran out.
                            const why = s.result.detail.replace(/\d+/g, "N").slice(0, 60);
                            failures[why] = (failures[why] ?? 0) + 1;
                        }
                        return Promise.resolve();
                    },
                });
                return pool.run();
            });
            const waitTotal = sites.waitMs.reduce((a, b) => a + b, 0) / 1000;
            return {
                label: `${workers} workers${blocking ? "" : ", no blocking"}`,
                workers,
                blocking,
                forms,
                formsPerHourHere: (forms / run.wallMs) * 3_600_000,
                cpuPerForm: (run.chromiumCpuS + run.runnerCpuS) / forms,
                cpuSplit: Object.fromEntries(
                    Object.entries({ "runner and sites": run.runnerCpuS, ...run.chromiumCpuByKind })
                        .sort((a, b) => b[1] - a[1])
                        .map(([k, v]) => [k, Number((v / forms).toFixed(2))]),
                ),
                waitPerForm: waitTotal / forms,
                pssPerWorker: Math.max(0, run.peakPss - base) / workers,
                peakPss: run.peakPss,
                outcomes,
                failures,
                asExpected,
                machineBusyCores: run.machineBusyCores,
            };
        } finally {
            await browser.close();
        }
    };

    const points: Point[] = [];
    try {
        const warm = await launchBrowser();
        await warm.close();
        const seed = await runPoint(4, false);
        points.push(seed);
        console.log(describe(seed));
        // 4 workers first (the comparison), then the densest: on a loaded machine the informative points come early.
        const order = [...new Set(workerCounts)].sort((a, b) => (a === 4 ? -1 : b === 4 ? 1 : b - a));
        for (const w of order) {
            const p = await runPoint(w, true);
            points.push(p);
            console.log(describe(p));
        }
        points.sort((a, b) => Number(a.blocking) - Number(b.blocking) || a.workers - b.workers);
    } finally {
        await sites.close();
        await fixtureServer.close();
    }
    const saved = path.join(os.tmpdir(), "density-points.json");
    fs.writeFileSync(saved, JSON.stringify(points, null, 1));
    console.log(`points saved to ${saved} (DENSITY_REPLAY=${saved} prints the projection again without measuring)`);
    report(points, spot);
}

/** The projection and the last line, from measured points (also replayable from a saved run). */
function report(points: Point[], spot: number): void {
    // CPU and network wait are properties of a form, not of the worker count; on a machine this loaded only the
    // 4-worker point runs without starving its forms (denser points end forms in timeouts, which also makes them look
    // cheaper), so every point is projected with the 4-worker point's CPU and wait per form and its own measured peak
    // memory. The measured outcomes of each point are printed above, beside the machine's load.
    const reference = points.find((p) => p.workers === 4 && p.blocking) ?? points[0];
    const rows = points.map((p) => ({
        p,
        x: project(
            p.blocking
                ? {
                      ...p,
                      cpuPerForm: reference.cpuPerForm,
                      waitPerForm: reference.waitPerForm,
                      // Starved forms never load their pages: memory is at least the 4-worker point's per worker.
                      peakPss: Math.max(
                          p.peakPss,
                          reference.peakPss + (p.workers - reference.workers) * reference.pssPerWorker,
                      ),
                  }
                : p,
            spot,
        ),
    }));
    const head = [
        "point",
        "forms",
        "forms/h here",
        "CPU s/form",
        "wait s/form",
        "PSS/worker",
        "peak PSS",
        "as expected",
        "forms/inst-h",
        "$/1,000",
        "CPU use",
        "mem use",
        "limit",
    ];
    const table = rows.map(({ p, x }) => [
        p.label,
        String(p.forms),
        p.formsPerHourHere.toFixed(0),
        p.cpuPerForm.toFixed(2),
        p.waitPerForm.toFixed(1),
        `${(p.pssPerWorker / MIB).toFixed(0)} MiB`,
        `${(p.peakPss / MIB).toFixed(0)} MiB`,
        `${p.asExpected}/${p.forms}`,
        x.formsPerInstanceHour.toFixed(0),
        `$${x.dollarsPer1000.toFixed(3)}`,
        `${(100 * x.cpuUse).toFixed(0)} %`,
        `${(100 * x.memoryUse).toFixed(0)} %`,
        x.limit,
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ");
    console.log(`\nc6a.xlarge projection (${INSTANCE_VCPUS} vCPU, 7.5 GiB usable, Spot $${spot}/h from scripts/cost):`);
    console.log(line(head));
    for (const r of table) console.log(line(r));
    const load1 = os.loadavg();
    console.log(`load average at end ${load1.map((l) => l.toFixed(1)).join(" ")}`);

    // The comparison is with the seed's configuration: 4 workers of the runner as the seed runs it, without request
    // blocking (issue 17: "beside the seed's 4-worker configuration measured in the same run"). What density alone
    // buys (against 4 workers with blocking) is printed beside it.
    const seedRow = rows.find((r) => r.p.workers === 4 && !r.p.blocking) ?? rows[0];
    const blockingRow = rows.find((r) => r.p.workers === 4 && r.p.blocking) ?? seedRow;
    const sameOutcomes = (p: Point) => p.asExpected / p.forms >= seedRow.p.asExpected / seedRow.p.forms;
    const starved = rows.filter(({ p }) => p.blocking && !sameOutcomes(p)).map(({ p }) => p.workers);
    if (starved.length > 0) {
        console.log(
            `outcomes below the seed configuration's here at ${starved.join(", ")} workers ` +
                "(forms ran out of time on this machine); the projection holds only while the instance keeps CPU within the margin",
        );
    }
    const candidates = rows.filter(
        ({ p, x }) => p.blocking && x.cpuUse <= CPU_TARGET && x.memoryUse <= MEMORY_TARGET && x.limit !== "memory",
    );
    const best = candidates.reduce<(typeof rows)[number] | undefined>(
        (a, b) => (!a || b.x.formsPerInstanceHour > a.x.formsPerInstanceHour ? b : a),
        undefined,
    );
    if (!best) {
        console.log("no point keeps CPU and memory within the margin with the seed's outcomes");
        return;
    }
    const ratio = best.x.formsPerInstanceHour / seedRow.x.formsPerInstanceHour;
    console.log(
        `recommended: ${best.p.workers} workers (densest point with projected CPU ≤ ${100 * CPU_TARGET} % and peak ` +
            `PSS ≤ ${100 * MEMORY_TARGET} % of 7.5 GiB); target ≥ 2×: ${ratio >= 2 ? "met" : "NOT met"}; ` +
            `request blocking alone ${(blockingRow.x.formsPerInstanceHour / seedRow.x.formsPerInstanceHour).toFixed(2)}×, ` +
            `density alone ${(best.x.formsPerInstanceHour / blockingRow.x.formsPerInstanceHour).toFixed(2)}×`,
    );
    console.log(
        `density: ${best.x.formsPerInstanceHour.toFixed(0)} forms/instance-hour at ${best.p.workers} workers vs ` +
            `${seedRow.x.formsPerInstanceHour.toFixed(0)} at 4 workers without blocking (${ratio.toFixed(2)}×), ` +
            `$${best.x.dollarsPer1000.toFixed(3)} per 1,000 forms vs $${seedRow.x.dollarsPer1000.toFixed(3)}`,
    );
}

function describe(p: Point): string {
    return (
        `${p.label}: ${p.forms} forms, ${p.formsPerHourHere.toFixed(0)} forms/h here, ` +
        `CPU ${p.cpuPerForm.toFixed(2)} s/form${p.cpuSplit ? ` ${JSON.stringify(p.cpuSplit)}` : ""}, network wait ${p.waitPerForm.toFixed(1)} s/form, ` +
        `peak PSS ${(p.peakPss / MIB).toFixed(0)} MiB (${(p.pssPerWorker / MIB).toFixed(0)} MiB/worker), ` +
        `machine busy ${p.machineBusyCores.toFixed(2)} cores; outcomes ${JSON.stringify(p.outcomes)}` +
        (Object.keys(p.failures).length > 0 ? `; failed: ${JSON.stringify(p.failures)}` : "")
    );
}
