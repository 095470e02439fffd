/**
 * How big a runner job is and how many workers fit in it: the one place that states what a worker needs, what
 * the stack's instance types offer, and what a SubmitJob may ask for.
 *
 * Per-worker need, from the density benchmark (`npm run bench -- density`, README "Runner density", 2026-11-27, with
 * Debian's chromium-headless-shell, Chromium's sandbox and request blocking on, at 4 workers on an otherwise quiet
 * machine): 1.40 CPU s and 2.3 s of network wait per form, at most 80 MiB PSS per worker (62–70 MiB in that run). A
 * worker busy on CPU for 1.40 of every 3.70 s needs 0.38 vCPU. The margin is the benchmark's: projected CPU and memory
 * stay ≤ 75 % of the job's, so page-weight spikes and Chromium's memory peaks have room: 7 workers fit 4 vCPU (66 %),
 * 8 do not (76 %).
 * scripts/cost/density.ts holds the same measurement for the cost report; test/cost/density.test.ts keeps them equal.
 */

/** CPU seconds one form costs (runner + every Chromium process), README "Runner density". */
export const CPU_SECONDS_PER_FORM = 1.4;
/** Seconds one form waits on the network (the worker holds no CPU meanwhile), README "Runner density". */
export const WAIT_SECONDS_PER_FORM = 2.3;
/** vCPU one worker keeps busy: CPU / (CPU + wait). */
export const VCPU_PER_WORKER = CPU_SECONDS_PER_FORM / (CPU_SECONDS_PER_FORM + WAIT_SECONDS_PER_FORM);
/** Peak PSS of one worker (its context, renderer and its share of the browser), README "Runner density". */
export const MEMORY_MIB_PER_WORKER = 80;
/** Share of the job's vCPU and memory the workers may plan to use; the rest is headroom. */
export const SIZING_MARGIN = 0.75;
/**
 * Share of the job's memory at which the runner records `memory_warning`: the workers ate the 25 % headroom
 * down to 10 %, so the per-worker figure above is wrong for this targeting's sites and the next OOM kill is close.
 */
export const MEMORY_WARNING_SHARE = 0.9;

/**
 * vCPUs and installed memory of the instance types the stack may list (components/config/formSender.ts
 * ON_DEMAND_PRICES_US_EAST_1 admits these), from https://aws.amazon.com/ec2/instance-types/ (compute optimized
 * and general purpose tables).
 */
export const INSTANCE_SIZES: Readonly<Record<string, { readonly vcpus: number; readonly memoryMib: number }>> = {
    "c6a.xlarge": { vcpus: 4, memoryMib: 8192 },
    "c5a.xlarge": { vcpus: 4, memoryMib: 8192 },
    "c6i.xlarge": { vcpus: 4, memoryMib: 8192 },
    "c5.xlarge": { vcpus: 4, memoryMib: 8192 },
    "m6a.xlarge": { vcpus: 4, memoryMib: 16384 },
    "c7a.xlarge": { vcpus: 4, memoryMib: 8192 },
};

/**
 * Memory a job may ask for on an instance: what the ECS agent registers is below the installed memory (an
 * m4.large's 8 GiB registers as 7985 MiB, and the Batch AMI reserves 32 MiB more,
 * https://docs.aws.amazon.com/batch/latest/userguide/memory-management.html); a job asking for more than any
 * instance registers is never placed and waits RUNNABLE. 15/16 of the installed memory (7680 MiB of 8 GiB, the
 * job definition's default) stays below the registered figure.
 */
export const usableMemoryMib = (installedMib: number): number => Math.floor((installedMib * 15) / 16);

/** The largest job one of `instanceTypes` can host: each dimension's maximum over the types that hold it. */
export function largestJob(instanceTypes: readonly string[]): { vcpus: number; memoryMib: number } {
    const sizes = instanceTypes.map((t) => INSTANCE_SIZES[t]).filter((s) => s !== undefined);
    if (sizes.length === 0) return { vcpus: 0, memoryMib: 0 };
    return {
        vcpus: Math.max(...sizes.map((s) => s.vcpus)),
        memoryMib: Math.max(...sizes.map((s) => usableMemoryMib(s.memoryMib))),
    };
}

/** Whether the table above knows the size of at least one of `instanceTypes` (else no fit can be checked). */
export const knowsSizes = (instanceTypes: readonly string[]): boolean =>
    instanceTypes.some((t) => INSTANCE_SIZES[t] !== undefined);

/** True when one instance type of the list holds both `vcpus` and `memoryMib` at once. */
export function fitsOneInstance(instanceTypes: readonly string[], vcpus: number, memoryMib: number): boolean {
    return instanceTypes.some((t) => {
        const s = INSTANCE_SIZES[t];
        return s !== undefined && vcpus <= s.vcpus && memoryMib <= usableMemoryMib(s.memoryMib);
    });
}

/** Most workers a job of this size runs within the margin. */
export function maxWorkers(vcpus: number, memoryMib: number): number {
    const byCpu = Math.floor((vcpus * SIZING_MARGIN) / VCPU_PER_WORKER);
    const byMemory = Math.floor((memoryMib * SIZING_MARGIN) / MEMORY_MIB_PER_WORKER);
    return Math.max(0, Math.min(byCpu, byMemory));
}

/** Smallest whole vCPU count that runs `workers` within the margin. */
export const vcpusFor = (workers: number): number => Math.ceil((workers * VCPU_PER_WORKER) / SIZING_MARGIN);
/** Smallest memory (MiB) that runs `workers` within the margin. */
export const memoryMibFor = (workers: number): number => Math.ceil((workers * MEMORY_MIB_PER_WORKER) / SIZING_MARGIN);

/**
 * Why `workers` do not fit a job of `vcpus` / `memoryMib`, naming what to change; undefined when they fit.
 * `where` names the fields the caller would change (request fields or config keys).
 */
export function workersProblem(
    workers: number,
    vcpus: number,
    memoryMib: number,
    instanceTypes: readonly string[],
    where: { workers: string; vcpus: string; memoryMib: string },
): string | undefined {
    const fit = maxWorkers(vcpus, memoryMib);
    if (workers <= fit) return undefined;
    const cpuPct = Math.round(((workers * VCPU_PER_WORKER) / vcpus) * 100);
    const memPct = Math.round(((workers * MEMORY_MIB_PER_WORKER) / memoryMib) * 100);
    const needV = Math.max(vcpus, vcpusFor(workers));
    const needM = Math.max(memoryMib, memoryMibFor(workers));
    const largest = largestJob(instanceTypes);
    const sizeUp = fitsOneInstance(instanceTypes, needV, needM)
        ? `, or give the job ${where.vcpus} ${needV} and ${where.memoryMib} ${needM}`
        : ` (a job for ${workers} workers needs ${needV} vCPU / ${needM} MiB; the largest the instance types ` +
          `${instanceTypes.join(", ")} hold is ${largest.vcpus} vCPU / ${largest.memoryMib} MiB, so larger ` +
          "instance types would have to be added to formSenderInstanceTypes first)";
    return (
        `${where.workers} ${workers} does not fit a job of ${vcpus} vCPU / ${memoryMib} MiB: ` +
        `${workers} workers need ${cpuPct} % of its CPU and ${memPct} % of its memory, above the ` +
        `${SIZING_MARGIN * 100} % margin (${VCPU_PER_WORKER.toFixed(2)} vCPU and ${MEMORY_MIB_PER_WORKER} MiB per ` +
        `worker, README "Runner density"). Use ${where.workers} ${fit} or fewer${sizeUp}`
    );
}
