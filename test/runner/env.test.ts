/** Batch environment parsing, shard assignment, the JST window and backoff (pure). */
import * as assert from "assert";
import { backoffDelay, retryWithBackoff } from "../../containers/runner/src/backoff";
import { msUntilJst, readSettings, shardsForRun } from "../../containers/runner/src/env";

const base = {
    FORM_SENDER_EXECUTION_ID: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    FORM_SENDER_CLIENT_CONFIG_URL: "s3://fs-config/client-config/a.json",
    SUPABASE_URL: "https://abc.supabase.co",
    SUPABASE_SERVICE_ROLE_KEY: "k",
};

describe("runner settings from the Batch environment", () => {
    it("uses run index 1 and attempt 1 outside an array job", () => {
        const s = readSettings({ ...base });
        assert.deepStrictEqual(
            [s.runIndex, s.arrayIndex, s.attempt, s.workers, s.arraySize, s.totalShards, s.testMode],
            // Workers default to the dispatcher's default (7, README "Runner density").
            [1, null, 1, 7, null, null, null],
        );
    });

    it("derives RUN_INDEX = AWS_BATCH_JOB_ARRAY_INDEX + 1 and reads the attempt and job id", () => {
        const s = readSettings({
            ...base,
            AWS_BATCH_JOB_ARRAY_INDEX: "4",
            AWS_BATCH_JOB_ATTEMPT: "2",
            AWS_BATCH_JOB_ID: "abc:4",
            FORM_SENDER_RUN_TOTAL: "8",
            FORM_SENDER_TOTAL_SHARDS: "8",
        });
        assert.deepStrictEqual(
            [s.runIndex, s.arrayIndex, s.attempt, s.jobId, s.arraySize, s.totalShards],
            [5, 4, 2, "abc:4", 8, 8],
        );
    });

    const bad: Array<[string, Record<string, string>, string]> = [
        [
            "missing execution id",
            { FORM_SENDER_EXECUTION_ID: "" },
            "FORM_SENDER_EXECUTION_ID is not set; the dispatcher passes the job_executions id it created",
        ],
        [
            "workers out of range",
            { FORM_SENDER_WORKERS: "32" },
            'FORM_SENDER_WORKERS must be an integer from 1 to 16, got "32"; workers_per_workflow is 1..16',
        ],
        [
            "config URL scheme",
            { FORM_SENDER_CLIENT_CONFIG_URL: "gs://b/k" },
            'FORM_SENDER_CLIENT_CONFIG_URL must be s3://<bucket>/<key> or an https:// URL, got "gs://b/k"',
        ],
        [
            "send end time",
            { FORM_SENDER_SEND_END_TIME: "25:00" },
            'FORM_SENDER_SEND_END_TIME must be HH:MM (JST), got "25:00"; e.g. 18:00',
        ],
        [
            "test mode",
            { FORM_SENDER_TEST_MODE: "maybe" },
            'FORM_SENDER_TEST_MODE must be true or false, got "maybe"; use "true" to fill forms without submitting',
        ],
        [
            "grace above Batch's stop timeout",
            { FORM_SENDER_SIGTERM_GRACE_SECONDS: "40" },
            'FORM_SENDER_SIGTERM_GRACE_SECONDS must be a number from 1 to 25, got "40"; keep it below Batch\'s 30 s stop timeout',
        ],
        [
            "array index beyond run total",
            { AWS_BATCH_JOB_ARRAY_INDEX: "3", FORM_SENDER_RUN_TOTAL: "2" },
            "AWS_BATCH_JOB_ARRAY_INDEX 3 is outside FORM_SENDER_RUN_TOTAL 2; the array size and run_total must agree",
        ],
    ];
    for (const [title, env, message] of bad) {
        it(`rejects ${title} with a message naming the variable, value and fix`, () => {
            assert.throws(() => readSettings({ ...base, ...env }), { name: "SettingsError", message });
        });
    }

    it("never prints the presigned URL's signature when rejecting it", () => {
        assert.throws(
            () =>
                readSettings({
                    ...base,
                    FORM_SENDER_CLIENT_CONFIG_URL: "http://b.s3.amazonaws.com/k?X-Amz-Signature=secret",
                }),
            (err: Error) => !err.message.includes("secret"),
        );
    });

    it("gives every shard to exactly one run when runs ≤ shards, and shares shards when runs > shards", () => {
        const cover = (runs: number, shards: number) =>
            Array.from({ length: runs }, (_, i) => shardsForRun(i + 1, runs, shards));
        assert.deepStrictEqual(cover(2, 2), [[1], [2]]);
        assert.deepStrictEqual(cover(2, 5), [
            [1, 3, 5],
            [2, 4],
        ]);
        assert.deepStrictEqual(cover(4, 2), [[1], [2], [1], [2]]);
        assert.deepStrictEqual(cover(1, 1), [[1]]);
    });

    it("counts down to send_end_time in JST and is 0 once it has passed", () => {
        // 2025-10-07 08:00 UTC = 17:00 JST.
        const now = new Date(Date.UTC(2025, 9, 7, 8, 0));
        assert.strictEqual(msUntilJst("18:00", now), 3600_000);
        assert.strictEqual(msUntilJst("17:00", now), 0);
        assert.strictEqual(msUntilJst("09:00", now), 0);
        // 2025-10-06 23:30 UTC = 08:30 JST on the 7th.
        assert.strictEqual(msUntilJst("18:00", new Date(Date.UTC(2025, 9, 6, 23, 30))), 9.5 * 3600_000);
    });
});

describe("runner backoff", () => {
    it("draws full-jitter delays that double up to the cap", () => {
        assert.deepStrictEqual(
            [1, 2, 3, 10].map((a) => backoffDelay(a, 500, 15_000, () => 0.999)),
            [499, 999, 1998, 14_985],
        );
        assert.strictEqual(
            backoffDelay(4, 500, 15_000, () => 0),
            0,
        );
    });

    it("retries retryable errors until the deadline, then throws the last one", async () => {
        let clock = 0;
        const sleeps: number[] = [];
        let calls = 0;
        await assert.rejects(
            retryWithBackoff(
                () => {
                    calls++;
                    return Promise.reject(new Error(`fail ${calls}`));
                },
                {
                    deadlineMs: 5000,
                    baseMs: 1000,
                    maxDelayMs: 4000,
                    retryable: () => true,
                    random: () => 1,
                    now: () => clock,
                    sleep: (ms) => {
                        clock += ms;
                        sleeps.push(ms);
                        return Promise.resolve();
                    },
                },
            ),
            /fail 4/,
        );
        assert.deepStrictEqual(sleeps, [1000, 2000, 2000]);
    });

    it("throws a non-retryable error at once", async () => {
        let calls = 0;
        await assert.rejects(
            retryWithBackoff(
                () => {
                    calls++;
                    return Promise.reject(new Error("403"));
                },
                { deadlineMs: 10_000, retryable: () => false, sleep: () => Promise.resolve() },
            ),
            /403/,
        );
        assert.strictEqual(calls, 1);
    });
});
