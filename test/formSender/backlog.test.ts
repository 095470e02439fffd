/**
 * The queues' RUNNABLE backlog as spot-watch measures it from ListJobs (functions/formSender/backlog.ts), with the
 * Batch client stubbed at the SDK boundary: RUNNABLE jobs of each queue, RUNNABLE children of PENDING array parents,
 * pages followed, a retried job counted from the end of its last attempt.
 */
import { strict as assert } from "assert";
import type { JobSummary, ListJobsCommandInput } from "@aws-sdk/client-batch";
import { BACKLOG_MESSAGE, measureBacklog, reportBacklog } from "../../functions/formSender/backlog";
import { makeSpotWatchHandler } from "../../functions/formSender/spotWatch";
import { describeCommand } from "../support/sdkStub";

const NOW = new Date("2026-11-27T12:00:00Z");
const minutesAgo = (m: number) => NOW.getTime() - m * 60000;

/** ListJobs answers by (queue or array parent, status); `pages` splits a list in two pages. */
function listJobs(answers: Record<string, JobSummary[]>, pages = false) {
    const calls: ListJobsCommandInput[] = [];
    return {
        calls,
        send(command: unknown): Promise<unknown> {
            const c = describeCommand(command);
            if (c.command !== "ListJobsCommand") return Promise.resolve({});
            const input = c.input as ListJobsCommandInput;
            calls.push(input);
            const all = answers[`${input.jobQueue ?? input.arrayJobId}/${input.jobStatus}`] ?? [];
            if (!pages || all.length < 2) return Promise.resolve({ jobSummaryList: all });
            const half = Math.ceil(all.length / 2);
            return Promise.resolve(
                input.nextToken === "p2"
                    ? { jobSummaryList: all.slice(half) }
                    : { jobSummaryList: all.slice(0, half), nextToken: "p2" },
            );
        },
    };
}

describe("runnable backlog (spot-watch)", () => {
    it("reports the longest RUNNABLE wait over every queue, array children included, following pages", async () => {
        const batch = listJobs(
            {
                "q-spot/RUNNABLE": [
                    { jobId: "a", jobName: "a", createdAt: minutesAgo(10) },
                    { jobId: "b", jobName: "b", createdAt: minutesAgo(20) },
                ],
                "q-od/PENDING": [
                    { jobId: "parent", jobName: "p", createdAt: minutesAgo(300), arrayProperties: { size: 3 } },
                    { jobId: "plain-pending", jobName: "x", createdAt: minutesAgo(400) },
                ],
                "parent/RUNNABLE": [{ jobId: "parent:2", jobName: "p", createdAt: minutesAgo(70) }],
            },
            true,
        );
        const b = await measureBacklog(batch, ["q-spot", "q-od"], NOW);
        assert.deepEqual(b, { runnableJobs: 3, oldestRunnableMinutes: 70, oldestJobId: "parent:2" });
        // A PENDING job that is no array parent waits on a dependency, not on capacity: its children are not listed.
        assert.ok(!batch.calls.some((c) => c.arrayJobId === "plain-pending"));
        assert.ok(batch.calls.some((c) => c.jobQueue === "q-spot" && c.nextToken === "p2"));
    });

    it("counts a retried job from the end of its last attempt, not from its creation", async () => {
        const batch = listJobs({
            "q/RUNNABLE": [{ jobId: "r", jobName: "r", createdAt: minutesAgo(500), stoppedAt: minutesAgo(5) }],
        });
        assert.equal((await measureBacklog(batch, ["q"], NOW)).oldestRunnableMinutes, 5);
    });

    it("reports zero with no RUNNABLE job, and logs an error instead of failing when ListJobs fails", async () => {
        assert.deepEqual(await measureBacklog(listJobs({}), ["q"], NOW), {
            runnableJobs: 0,
            oldestRunnableMinutes: 0,
            oldestJobId: null,
        });
        const logged: [string, string, Record<string, unknown> | undefined][] = [];
        const failing = { send: () => Promise.reject(new Error("AccessDeniedException")) };
        const out = await reportBacklog(failing, ["q"], NOW, (l, m, f) => logged.push([l, m, f]));
        assert.equal(out, undefined);
        assert.deepEqual(
            logged.map(([l, m]) => [l, m]),
            [["error", "could not list the queues' RUNNABLE jobs"]],
        );
    });

    it("spot-watch logs the backlog line on every run, before its price check", async () => {
        const logged: [string, string, Record<string, unknown> | undefined][] = [];
        const batch = listJobs({ "q/RUNNABLE": [{ jobId: "w", jobName: "w", createdAt: minutesAgo(46) }] });
        const handler = makeSpotWatchHandler({
            computeEnvironment: "ce",
            configuredMaxVcpus: 16,
            onDemandPrices: { "c6a.xlarge": 0.153 },
            topicArn: "t",
            environment: "stg",
            queues: ["q"],
            ec2: { send: () => Promise.resolve({ SpotPriceHistory: [] }) },
            batch,
            sns: { send: () => Promise.resolve({}) },
            log: (l, m, f) => logged.push([l, m, f]),
            now: () => NOW,
        });
        const outcome = await handler();
        assert.equal(outcome.action, "none");
        assert.deepEqual(logged[0], [
            "warn",
            BACKLOG_MESSAGE,
            { runnable_jobs: 1, oldest_runnable_minutes: 46, oldest_job_id: "w" },
        ]);
    });
});
