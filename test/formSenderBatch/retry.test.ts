/**
 * Which failed runner attempts AWS Batch retries: the job definition's retry strategy and the one the dispatcher
 * submits with, evaluated the way Batch evaluates `evaluateOnExit` against the failures the runner meets.
 */
import { strict as assert } from "assert";
import { JOB_RETRY_RULES } from "../../components/formSender/jobDefinition";
import { CODE_DEFAULTS, submitJobInput } from "../../functions/formSender/dispatcher";
import { planFor } from "../harness";

interface EvaluateOnExit {
    readonly onStatusReason?: string;
    readonly onReason?: string;
    readonly onExitCode?: string;
    readonly action: string;
}

/** What Batch reports for a failed attempt: the job's status reason, the container's reason and exit code. */
interface FailedAttempt {
    readonly statusReason: string;
    readonly reason?: string;
    readonly exitCode?: number;
}

/**
 * AWS Batch API, EvaluateOnExit (https://docs.aws.amazon.com/batch/latest/APIReference/API_EvaluateOnExit.html):
 * onStatusReason / onReason / onExitCode are glob patterns that "can optionally end with an asterisk (*) so that only
 * the start of the string needs to be an exact match"; every condition an entry specifies must match. "Automated job
 * retries" (https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html): "If evaluateOnExit is specified,
 * but none of the retry strategies match, then the job is retried"; entries are taken in order.
 */
function batchAction(rules: readonly EvaluateOnExit[], attempt: FailedAttempt): string {
    // A reason Batch does not report is matched as the empty string, so the catch-all "*" still applies.
    const glob = (pattern: string | undefined, value = "") =>
        pattern === undefined || (pattern.endsWith("*") ? value.startsWith(pattern.slice(0, -1)) : value === pattern);
    const exitCode = attempt.exitCode === undefined ? undefined : String(attempt.exitCode);
    const rule = rules.find(
        (r) =>
            glob(r.onStatusReason, attempt.statusReason) &&
            glob(r.onReason, attempt.reason) &&
            glob(r.onExitCode, exitCode),
    );
    return rule?.action ?? "RETRY";
}

/** Failures as Batch reports them (the image pull's job status reason is only "Task failed to start"). */
const FAILURES: [string, FailedAttempt, string][] = [
    [
        "an image that cannot be pulled",
        {
            statusReason: "Task failed to start",
            reason: "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref",
        },
        "RETRY",
    ],
    ["a reclaimed Spot host", { statusReason: "Host EC2 (instance i-0123456789abcdef0) terminated." }, "RETRY"],
    [
        "the runner exiting non-zero",
        { statusReason: "Essential container in task exited", reason: "", exitCode: 1 },
        "EXIT",
    ],
    ["the attempt timing out", { statusReason: "Job attempt duration exceeded timeout" }, "EXIT"],
];

describe("runner retries", function () {
    this.timeout(120000);

    it("retries CannotPullContainerError by reason", async () => {
        const pull: EvaluateOnExit = { onReason: "CannotPullContainerError:*", action: "RETRY" };
        const submitted = submitJobInput(
            {
                env: "stg",
                bucket: "fs-configs",
                jobDefinition: "arn:aws:batch:us-east-1:123456789012:job-definition/x",
            },
            { targeting_id: "T1", execution: { run_total: 1 } },
            { executionId: "e1", configKey: "client-config/e1.json", queue: "q", overrides: CODE_DEFAULTS, name: "n" },
        ).retryStrategy?.evaluateOnExit as EvaluateOnExit[];
        const lists: [string, readonly EvaluateOnExit[]][] = [["dispatcher SubmitJob", submitted]];
        for (const stack of ["stg", "prd"]) {
            const jd = (await planFor(stack)).inputs<{ retryStrategy: { evaluateOnExits: EvaluateOnExit[] } }>(
                "aws:batch/jobDefinition:JobDefinition",
                "form-sender-job",
            );
            lists.push([`${stack} job definition`, jd.retryStrategy.evaluateOnExits]);
        }
        for (const [where, rules] of lists) {
            assert.deepEqual([...rules], [...JOB_RETRY_RULES], where);
            assert.ok(
                rules.some((r) => r.onReason === pull.onReason && r.action === pull.action),
                where,
            );
            assert.ok(!rules.some((r) => (r.onStatusReason ?? "").startsWith("CannotPullContainerError")), where);
            for (const [failure, attempt, action] of FAILURES)
                assert.equal(batchAction(rules, attempt), action, `${where}: ${failure}`);
        }
    });

    it("would not have retried an image pull with the old status-reason rule", () => {
        const old: EvaluateOnExit[] = [
            { onStatusReason: "Host EC2*", action: "RETRY" },
            { onStatusReason: "CannotPullContainerError:*", action: "RETRY" },
            { onReason: "*", action: "EXIT" },
        ];
        assert.equal(batchAction(old, FAILURES[0][1]), "EXIT");
    });
});
