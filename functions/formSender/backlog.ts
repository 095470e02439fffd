/**
 * The queues' backlog, measured by spot-watch on each run (every 15 minutes): how many of this stack's jobs wait
 * RUNNABLE and how long the oldest has waited. AWS Batch publishes no CloudWatch metric for queued jobs, so the
 * source is ListJobs (https://docs.aws.amazon.com/batch/latest/APIReference/API_ListJobs.html): RUNNABLE jobs of each
 * queue, plus the RUNNABLE children of array parents (a parent is PENDING while any child is RUNNABLE or running,
 * https://docs.aws.amazon.com/batch/latest/userguide/array_jobs.html, so the children are listed by arrayJobId).
 * One log line per run, `runnable backlog`, feeds the OldestRunnableMinutes metric filter and the backlog alarm.
 *
 * Why the queues' own time limits are not enough: jobStateTimeLimitActions cancel only jobs whose status reason
 * names insufficient Spot capacity, a size no instance holds or a size above the compute environment's maximum
 * (components/formSender/compute.ts), not jobs waiting because maxvCpus is used up by other targetings.
 */
import { ListJobsCommand, ListJobsCommandInput, ListJobsCommandOutput, type JobSummary } from "@aws-sdk/client-batch";
import type { SendClient } from "./dispatcher";
import type { Logger } from "./log";

/** The log line the metric filter matches. */
export const BACKLOG_MESSAGE = "runnable backlog";

export interface Backlog {
    runnableJobs: number;
    /** Minutes the longest-waiting RUNNABLE job has waited (0 when none waits). */
    oldestRunnableMinutes: number;
    oldestJobId: string | null;
}

async function listAll(batch: SendClient, input: ListJobsCommandInput): Promise<JobSummary[]> {
    const out: JobSummary[] = [];
    let nextToken: string | undefined;
    do {
        const page = (await batch.send(new ListJobsCommand({ ...input, nextToken }))) as ListJobsCommandOutput;
        out.push(...(page.jobSummaryList ?? []));
        nextToken = page.nextToken;
    } while (nextToken);
    return out;
}

/**
 * Since when a RUNNABLE job has waited: its creation (a child: when its parent spawned it), or the end of its last
 * attempt when a retry put it back in the queue (JobSummary createdAt / stoppedAt).
 */
const waitingSince = (j: JobSummary): number => Math.max(j.createdAt ?? 0, j.stoppedAt ?? 0);

export async function measureBacklog(batch: SendClient, queues: readonly string[], now: Date): Promise<Backlog> {
    const runnable = new Map<string, JobSummary>();
    for (const jobQueue of queues) {
        for (const j of await listAll(batch, { jobQueue, jobStatus: "RUNNABLE" }))
            if (j.jobId) runnable.set(j.jobId, j);
        for (const parent of await listAll(batch, { jobQueue, jobStatus: "PENDING" })) {
            if (!parent.jobId || parent.arrayProperties?.size === undefined) continue;
            for (const j of await listAll(batch, { arrayJobId: parent.jobId, jobStatus: "RUNNABLE" }))
                if (j.jobId) runnable.set(j.jobId, j);
        }
    }
    let oldest: JobSummary | undefined;
    for (const j of runnable.values()) if (!oldest || waitingSince(j) < waitingSince(oldest)) oldest = j;
    return {
        runnableJobs: runnable.size,
        oldestRunnableMinutes: oldest ? Math.max(0, Math.floor((now.getTime() - waitingSince(oldest)) / 60000)) : 0,
        oldestJobId: oldest?.jobId ?? null,
    };
}

/** Measures and logs the backlog; a failure is logged (as an error) and does not stop the price check. */
export async function reportBacklog(
    batch: SendClient,
    queues: readonly string[],
    now: Date,
    log: Logger,
): Promise<Backlog | undefined> {
    try {
        const b = await measureBacklog(batch, queues, now);
        log(b.runnableJobs > 0 ? "warn" : "info", BACKLOG_MESSAGE, {
            runnable_jobs: b.runnableJobs,
            oldest_runnable_minutes: b.oldestRunnableMinutes,
            oldest_job_id: b.oldestJobId,
        });
        return b;
    } catch (e) {
        log("error", "could not list the queues' RUNNABLE jobs", { error: String(e) });
        return undefined;
    }
}
