/**
 * The commands of `npm run fs -- <command> --stack <stg|prd>`: the GAS entry points for a terminal.
 *
 *   submit --targeting <id> --config <client_config.json> [--run-total N] [--shards N] [--test-mode]
 *   list [--targeting <id>] [--status pending,submitted,running]
 *   show <execution>
 *   cancel <execution> | cancel --targeting <id>
 *   logs <execution> [--index N]
 *
 * `--json` prints the API's answers as JSON instead of tables.
 */
import * as fs from "fs";
import { BatchClient } from "@aws-sdk/client-batch";
import { makeSanitizer } from "../../../functions/formSender/sanitize";
import { ApiError, attemptLogs, Credentials, FormSenderApiClient, formSenderApi, logEvents } from "./api";

export const USAGE = `usage: npm run fs -- <command> --stack <stg|prd> [--json]
  submit --targeting <id> --config <client_config.json> [--run-total N] [--shards N] [--test-mode]
  list [--targeting <id>] [--status pending,submitted,running]
  show <execution>
  cancel <execution> | cancel --targeting <id>
  logs <execution> [--index N]`;

/** "Not finished": what list shows by default and cancel --targeting stops. */
export const UNFINISHED = "pending,submitted,running";
/** Pages of the executions list followed at most (100 executions each): a bound, so a wrong cursor cannot loop. */
export const LIST_MAX_PAGES = 50;

/** Every execution `GET /form-sender/executions` answers for `query`, following `next_cursor` page by page. */
async function listAll(api: FormSenderApiClient, query: Record<string, string>): Promise<Summary[]> {
    const all: Summary[] = [];
    let cursor: string | null | undefined;
    for (let page = 0; page < LIST_MAX_PAGES; page++) {
        const out = await api.request<{ executions: Summary[]; next_cursor?: string | null }>(
            "GET",
            "/form-sender/executions",
            cursor ? { ...query, cursor } : query,
        );
        all.push(...out.executions);
        cursor = out.next_cursor;
        if (!cursor) return all;
    }
    throw new Error(
        `the executions list did not end within ${LIST_MAX_PAGES} pages of 100; narrow it with --targeting or --status`,
    );
}

export interface FsDeps {
    /** The stack's outputs (`pulumi stack output --json --stack <s>`). */
    stackOutputs(stack: string): Promise<Record<string, unknown>>;
    credentials(): Promise<Credentials>;
    /** CloudWatch Logs endpoint for a region. */
    logsEndpoint(region: string): string;
    /** AWS Batch client for a region (endpoint and credentials as the SDK resolves them). */
    batch(region: string): BatchClient;
    write(line: string): void;
}

export interface Summary {
    execution_id: string;
    targeting_id: string;
    status: string;
    job_id: string | null;
    job_name: string | null;
    job_queue: string | null;
    array_size: number | null;
    created_at?: string;
    submitted_at: string | null;
    finished_at: string | null;
    error: string | null;
}

/** What the containers ran with (supabase/migrations/20261127000200_form_sender_job_run.sql). */
interface Ran {
    instance_types?: string[];
    vcpus?: number;
    memory_mib?: number;
    workers?: number;
    peak_memory_mib?: number;
    memory_warning?: boolean;
}

/** "; ran on c6a.xlarge, 4 vCPU / 7680 MiB, 8 workers, peak 1200 MiB" (and a memory warning), or "". */
export function ranText(r: Ran | undefined): string {
    if (!r) return "";
    const parts = [
        r.instance_types?.length ? `on ${r.instance_types.join("/")}` : undefined,
        r.vcpus !== undefined && r.memory_mib !== undefined ? `${r.vcpus} vCPU / ${r.memory_mib} MiB` : undefined,
        r.workers !== undefined ? `${r.workers} workers` : undefined,
        r.peak_memory_mib !== undefined ? `peak ${r.peak_memory_mib} MiB` : undefined,
        r.memory_warning
            ? "MEMORY WARNING: a job came within 10 % of its memory; lower the workers or add memory"
            : undefined,
    ].filter((x): x is string => x !== undefined);
    return parts.length ? `; ran ${parts.join(", ")}` : "";
}

export interface Detail extends Summary {
    run_total: number | null;
    test_mode: boolean | null;
    unknown_items: number;
    fallback: { from_queue?: string; to_queue?: string; from_job_id?: string; to_job_id?: string } | null;
    /** metadata.batch; `ran` is what the job actually ran with (record_job_run). */
    batch?: { ran?: Ran } | null;
    attempts: {
        run_index: number;
        attempt: number;
        job_id: string | null;
        status: string;
        status_reason: string | null;
        exit_code: number | null;
        unknown_items: number;
    }[];
    queue_items: Record<string, number>;
    submissions: Record<string, number>;
}

/** Bad input: the message names the flag, the value and the fix; exits 2. */
export class UsageError extends Error {}

interface Parsed {
    command: string;
    positional: string[];
    flags: Map<string, string | true>;
}

const VALUE_FLAGS = ["stack", "targeting", "status", "config", "run-total", "shards", "index", "idempotency-key"];
const BOOLEAN_FLAGS = ["json", "test-mode"];

export function parseArgs(argv: readonly string[]): Parsed {
    const [command, ...rest] = argv;
    if (!command || command.startsWith("-")) throw new UsageError(`give a command first\n${USAGE}`);
    const flags = new Map<string, string | true>();
    const positional: string[] = [];
    for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        if (!a.startsWith("--")) {
            positional.push(a);
            continue;
        }
        const name = a.slice(2);
        if (BOOLEAN_FLAGS.includes(name)) flags.set(name, true);
        else if (VALUE_FLAGS.includes(name)) {
            const v = rest[++i];
            if (v === undefined || v.startsWith("--")) throw new UsageError(`--${name} needs a value\n${USAGE}`);
            flags.set(name, v);
        } else throw new UsageError(`unknown option --${name}\n${USAGE}`);
    }
    return { command, positional, flags };
}

const str = (p: Parsed, name: string) => {
    const v = p.flags.get(name);
    return typeof v === "string" ? v : undefined;
};

function positiveInt(p: Parsed, name: string, max: number): number | undefined {
    const v = str(p, name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max)
        throw new UsageError(`--${name} is ${JSON.stringify(v)}; give a whole number from 1 to ${max}`);
    return n;
}

/** Reads the API URL and region from the stack's `formSender` output. */
async function apiOf(deps: FsDeps, stack: string): Promise<{ api: FormSenderApiClient; region: string }> {
    const outputs = await deps.stackOutputs(stack);
    const f = outputs.formSender as { apiBaseUrl?: unknown; region?: unknown } | undefined;
    if (typeof f?.apiBaseUrl !== "string" || typeof f.region !== "string") {
        throw new Error(
            `stack '${stack}' has no formSender.apiBaseUrl / formSender.region output; run pulumi up first`,
        );
    }
    return { api: formSenderApi(f.apiBaseUrl, f.region, await deps.credentials()), region: f.region };
}

const table = (rows: (string | number | null | undefined)[][]): string[] => {
    const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === "" ? "-" : String(c))));
    const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
    return cells.map((r) =>
        r
            .map((c, i) => c.padEnd(widths[i]))
            .join("  ")
            .trimEnd(),
    );
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function executionArg(p: Parsed, command: string): string {
    const id = p.positional[0];
    if (!id) throw new UsageError(`${command} needs an execution id: npm run fs -- ${command} <execution> --stack <s>`);
    if (!UUID.test(id))
        throw new UsageError(`${JSON.stringify(id)} is not an execution id; copy one from npm run fs -- list`);
    return id;
}

/** Runs one command; returns the exit code. */
export async function runFs(argv: readonly string[], deps: FsDeps): Promise<number> {
    const p = parseArgs(argv);
    const stack = str(p, "stack");
    if (!stack) throw new UsageError(`--stack is required (stg or prd)\n${USAGE}`);
    const asJson = p.flags.get("json") === true;
    const { api, region } = await apiOf(deps, stack);
    const print = (value: unknown, lines: () => string[]) =>
        (asJson ? [JSON.stringify(value, null, 2)] : lines()).forEach((l) => deps.write(l));

    switch (p.command) {
        case "submit": {
            const targeting = str(p, "targeting");
            const configPath = str(p, "config");
            if (!targeting) throw new UsageError("submit needs --targeting <id>");
            if (!configPath) throw new UsageError("submit needs --config <client_config.json>");
            let config: unknown;
            try {
                config = JSON.parse(fs.readFileSync(configPath, "utf8"));
            } catch (e) {
                throw new UsageError(`--config ${configPath} is not a readable JSON file (${(e as Error).message})`);
            }
            const shards = positiveInt(p, "shards", 10000);
            const body = {
                targeting_id: targeting,
                client_config: config,
                execution: { run_total: positiveInt(p, "run-total", 10000) ?? 1, ...(shards ? { shards } : {}) },
                ...(p.flags.get("test-mode") === true ? { test_mode: true } : {}),
                ...(str(p, "idempotency-key") ? { idempotency_key: str(p, "idempotency-key") } : {}),
            };
            const out = await api.request<Summary & { duplicate: boolean }>("POST", "/form-sender/submit", {}, body);
            print(out, () => [
                `${out.duplicate ? "already submitted" : "submitted"}: execution ${out.execution_id}`,
                `job ${out.job_name ?? "-"} (${out.job_id ?? "-"}) on ${out.job_queue ?? "-"}, array size ${out.array_size ?? 1}`,
            ]);
            return 0;
        }
        case "list": {
            const query: Record<string, string> = { status: str(p, "status") ?? UNFINISHED };
            const targeting = str(p, "targeting");
            if (targeting) query.targeting_id = targeting;
            const out = { executions: await listAll(api, query) };
            print(out, () => [
                ...table([
                    ["EXECUTION", "TARGETING", "STATUS", "JOB", "QUEUE", "ARRAY", "SUBMITTED"],
                    ...out.executions.map((e) => [
                        e.execution_id,
                        e.targeting_id,
                        e.status,
                        e.job_name,
                        e.job_queue,
                        e.array_size,
                        e.submitted_at,
                    ]),
                ]),
                `${out.executions.length} execution(s) with status ${query.status}`,
            ]);
            return 0;
        }
        case "show": {
            const id = executionArg(p, "show");
            const d = await api.request<Detail>("GET", `/form-sender/executions/${id}`);
            print(d, () => [
                `execution ${d.execution_id}  targeting ${d.targeting_id}  status ${d.status}` +
                    (d.test_mode ? "  (test mode)" : ""),
                `job ${d.job_name ?? "-"} (${d.job_id ?? "-"}) on ${d.job_queue ?? "-"}, ` +
                    `run total ${d.run_total ?? "-"}${ranText(d.batch?.ran)}`,
                `submitted ${d.submitted_at ?? "-"}  finished ${d.finished_at ?? "-"}` +
                    (d.error ? `  error: ${d.error}` : ""),
                d.fallback
                    ? `fallback: ${d.fallback.from_queue ?? "?"} → ${d.fallback.to_queue ?? "?"} (job ${d.fallback.to_job_id ?? "?"})`
                    : "fallback: none",
                `queue items: ${fmtCounts(d.queue_items)}   submissions: ${fmtCounts(d.submissions)}   unknown: ${d.unknown_items}`,
                "",
                ...table([
                    ["INDEX", "ATTEMPT", "STATUS", "EXIT", "UNKNOWN", "REASON"],
                    ...d.attempts.map((a) => [
                        a.run_index,
                        a.attempt,
                        a.status,
                        a.exit_code,
                        a.unknown_items,
                        a.status_reason,
                    ]),
                ]),
            ]);
            return 0;
        }
        case "cancel": {
            const targeting = str(p, "targeting");
            const ids = targeting
                ? (await listAll(api, { targeting_id: targeting, status: UNFINISHED })).map((e) => e.execution_id)
                : [executionArg(p, "cancel")];
            const results: { execution_id: string; status: string }[] = [];
            for (const id of ids) {
                try {
                    const out = await api.request<Summary>("POST", `/form-sender/executions/${id}/cancel`, {}, {});
                    results.push({ execution_id: id, status: out.status });
                } catch (e) {
                    // 409: it finished meanwhile; say how.
                    if (!(e instanceof ApiError) || e.status !== 409) throw e;
                    const finished = (e.body as { error?: { details?: { status?: string } } }).error?.details?.status;
                    results.push({ execution_id: id, status: `already ${finished ?? "finished"}` });
                }
            }
            print(results, () => [
                ...results.map((r) => `${r.execution_id}  ${r.status}`),
                `${results.length} execution(s)${targeting ? ` of targeting ${targeting}` : ""} handled`,
            ]);
            return 0;
        }
        case "logs": {
            const id = executionArg(p, "logs");
            const index = positiveInt(p, "index", 10000);
            const d = await api.request<Detail>("GET", `/form-sender/executions/${id}`);
            if (!d.job_id) throw new Error(`execution ${id} has no Batch job (status ${d.status}); nothing logged`);
            const arrayJob = (d.array_size ?? d.run_total ?? 1) > 1;
            if (arrayJob && index === undefined)
                throw new UsageError(
                    `execution ${id} is an array job of ${d.array_size ?? d.run_total}; add --index N`,
                );
            // After an on-demand fallback the execution points at the new job; the Spot job logged first.
            const jobIds = [...new Set([d.fallback?.from_job_id, d.job_id].filter((j): j is string => !!j))];
            // The runner masks its lines; masking again here also covers lines written before it started.
            const mask = makeSanitizer({});
            const credentials = await deps.credentials();
            const lines: string[] = [];
            for (const jobId of jobIds) {
                const child = arrayJob ? `${jobId}:${index! - 1}` : jobId;
                for (const a of await attemptLogs(deps.batch(region), child)) {
                    lines.push(`== ${child} attempt ${a.attempt} (${a.logStream})`);
                    for (const ev of await logEvents(
                        deps.logsEndpoint(region),
                        region,
                        credentials,
                        a.logGroup,
                        a.logStream,
                    ))
                        lines.push(`${new Date(ev.timestamp).toISOString()}  ${mask(ev.message)}`);
                }
            }
            print(lines, () => lines);
            return 0;
        }
        default:
            throw new UsageError(`unknown command ${JSON.stringify(p.command)}\n${USAGE}`);
    }
}

const fmtCounts = (c: Record<string, number>) =>
    Object.keys(c).length
        ? Object.entries(c)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => `${k} ${v}`)
              .join(", ")
        : "none";
