/**
 * Dispatcher handling time per submit, excluding AWS and database calls (they are answered
 * in-process at once), beside the submit validator's cold compile time and a baseline of the
 * bare JSON parse + stringify of the same body. Target: p50 ≤ 5 ms.
 */
import { performance } from "perf_hooks";
import { SubmitJobCommand } from "@aws-sdk/client-batch";
import { makeAjv } from "../../functions/formSender/clientConfig";
import { makeDispatcher, RpcClient, SendClient } from "../../functions/formSender/dispatcher";
import { SUBMIT_SCHEMA } from "../../functions/formSender/submitSchema";

const BODY = JSON.stringify({
    targeting_id: "T1",
    client_config: {
        client: {
            company_name: "株式会社テストコネクト",
            last_name: "山田",
            first_name: "太郎",
            email: "t.yamada@example.com",
            phone: "03-1234-5678",
        },
        message: { subject: "ご提案", body: "お世話になっております。".repeat(40) },
    },
    execution: { run_total: 100, shards: 4 },
    batch: { max_attempts: 3 },
});

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)];

export async function bench(): Promise<void> {
    const t0 = performance.now();
    makeAjv().compile(SUBMIT_SCHEMA);
    const compileMs = performance.now() - t0;

    let n = 0;
    const instant: SendClient = {
        send(cmd: unknown) {
            return Promise.resolve(
                cmd instanceof SubmitJobCommand ? { jobId: `j${++n}`, jobName: cmd.input.jobName } : {},
            );
        },
    };
    const db: RpcClient = {
        rpc(fn: string) {
            return Promise.resolve({
                data:
                    fn === "create_job_execution"
                        ? {
                              id: `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
                              duplicate: false,
                              run_total: 100,
                          }
                        : { status: "submitted" },
                error: null,
                status: 200,
            });
        },
    };
    const handler = makeDispatcher({
        env: "stg",
        bucket: "b",
        queues: { spot: "s", spotThenOnDemand: "so", onDemand: "o" },
        jobDefinition: "jd",
        batch: instant,
        s3: instant,
        db: () => Promise.resolve(db),
        presignPut: () => Promise.resolve(""),
        log: () => undefined,
    });
    const event = { httpMethod: "POST", path: "/form-sender/submit", resource: "/form-sender/submit", body: BODY };
    for (let i = 0; i < 200; i++) await handler(event);
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
        const s = performance.now();
        const res = await handler(event);
        times.push(performance.now() - s);
        if (res.statusCode !== 200) throw new Error(`bench submit failed: ${res.body}`);
    }
    const base: number[] = [];
    for (let i = 0; i < 2000; i++) {
        const s = performance.now();
        JSON.stringify(JSON.parse(BODY));
        base.push(performance.now() - s);
    }
    const p50 = pct(times, 0.5);
    console.log(`submit validator cold compile: ${compileMs.toFixed(1)} ms (once per cold start)`);
    const p95 = pct(times, 0.95);
    const p99 = pct(times, 0.99);
    console.log(
        `dispatcher submit, AWS/DB answered in-process: p50 ${p50.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms, ` +
            `p99 ${p99.toFixed(3)} ms over ${times.length} submits ` +
            `(target p50 ≤ 5 ms: ${p50 <= 5 ? "met" : "MISSED"})`,
    );
    const baseP50 = pct(base, 0.5);
    console.log(
        `baseline JSON parse+stringify of the body: p50 ${baseP50.toFixed(4)} ms → ` +
            `dispatcher is ${(p50 / baseP50).toFixed(0)}× the bare parse`,
    );
}
