/**
 * `npm run requeue-unknown -- --targeting <id> [--execution <uuid>]` lists the send_queue items whose
 * outcome is unknown (a send intent was recorded, no result ever was: the runner died or could not
 * record); nothing is changed. After checking with each company that the message did not arrive:
 *
 *   npm run requeue-unknown -- --targeting <id> --items 12,15 --checked-by "<your name>" [--note "<why>"]
 *   npm run requeue-unknown -- --targeting <id> --all --checked-by "<your name>"
 *
 * puts them back to pending (requeue_unknown_send_items), so the next job sends them. Reads
 * SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY from the environment (the values of
 * /fs-runner/<env>/supabase/url|key in Secrets Manager).
 */
import { createClient } from "@supabase/supabase-js";

export interface UnknownItem {
    readonly id: number;
    readonly targeting_id: string;
    readonly company_name: string;
    readonly form_url: string | null;
    readonly send_intent_at: string;
    readonly send_intent_owner: string;
    readonly execution_id: string | null;
    readonly outcome_reason: string | null;
}

export type Rpc = (fn: string, args: Record<string, unknown>) => Promise<unknown>;

interface Args {
    readonly targeting: string;
    readonly execution: string | null;
    readonly items: number[] | null;
    readonly all: boolean;
    readonly checkedBy: string | null;
    readonly note: string | null;
}

export class UsageError extends Error {}

/** Parses the command line; a bad value names the option, the value and the fix. */
export function parseArgs(argv: readonly string[]): Args {
    const opts = new Map<string, string | true>();
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (!a.startsWith("--")) throw new UsageError(`unexpected argument "${a}"; options start with --`);
        const known = ["--targeting", "--execution", "--items", "--all", "--checked-by", "--note"];
        if (!known.includes(a)) throw new UsageError(`unknown option ${a}; known: ${known.join(", ")}`);
        if (a === "--all") opts.set(a, true);
        else {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new UsageError(`${a} needs a value`);
            opts.set(a, v);
        }
    }
    const str = (k: string) => (typeof opts.get(k) === "string" ? (opts.get(k) as string) : null);
    const targeting = str("--targeting");
    if (!targeting || !/^[A-Za-z0-9_-]{1,64}$/.test(targeting)) {
        throw new UsageError(
            `--targeting must be a targeting id (1-64 characters of A-Z a-z 0-9 _ -), got ${JSON.stringify(targeting)}`,
        );
    }
    const execution = str("--execution");
    if (execution && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(execution)) {
        throw new UsageError(`--execution must be an execution id (uuid), got "${execution}"`);
    }
    const itemsText = str("--items");
    const items = itemsText === null ? null : itemsText.split(",").map((s) => Number(s.trim()));
    if (items && (items.length === 0 || items.some((n) => !Number.isInteger(n) || n < 1))) {
        throw new UsageError(`--items must be queue item ids separated by commas (e.g. 12,15), got "${itemsText}"`);
    }
    const all = opts.get("--all") === true;
    if (items && all) throw new UsageError("give either --items <ids> or --all, not both");
    const checkedBy = str("--checked-by");
    if ((items || all) && !checkedBy?.trim()) {
        throw new UsageError(
            '--checked-by "<your name>" is required to requeue: say who checked that these companies ' +
                "did not receive the message",
        );
    }
    if (checkedBy && !items && !all) {
        throw new UsageError("--checked-by requeues nothing by itself; add --items <ids> or --all");
    }
    return { targeting, execution, items, all, checkedBy, note: str("--note") };
}

function describe(i: UnknownItem): string {
    return (
        `  item ${i.id}  ${i.company_name}  ${i.form_url ?? "(no form URL)"}\n` +
        `      intent ${i.send_intent_at} by ${i.send_intent_owner}, execution ${i.execution_id ?? "-"}\n` +
        `      ${i.outcome_reason ?? ""}`
    );
}

/** Lists (and, when asked, requeues) the unknown items; returns the lines to print. */
export async function requeueUnknown(args: Args, rpc: Rpc): Promise<string[]> {
    const unknown = (await rpc("list_unknown_send_items", {
        p_targeting_id: args.targeting,
        p_execution_id: args.execution,
    })) as UnknownItem[];
    const out = [`${unknown.length} item(s) of targeting ${args.targeting} with an unknown outcome:`];
    out.push(...unknown.map(describe));
    if (!args.items && !args.all) {
        if (unknown.length > 0) {
            out.push(
                "Check with each company whether the message arrived, then requeue the ones it did not:",
                `  npm run requeue-unknown -- --targeting ${args.targeting} --items <ids> --checked-by "<your name>"`,
            );
        }
        return out;
    }
    const wanted = args.all ? unknown.map((i) => i.id) : (args.items as number[]);
    const notUnknown = wanted.filter((id) => !unknown.some((i) => Number(i.id) === id));
    if (notUnknown.length > 0) {
        throw new UsageError(
            `--items ${notUnknown.join(",")}: not unknown items of targeting ${args.targeting}` +
                (args.execution ? ` and execution ${args.execution}` : "") +
                "; run without --items to list them",
        );
    }
    const r = (await rpc("requeue_unknown_send_items", {
        p_targeting_id: args.targeting,
        p_item_ids: wanted,
        p_checked_by: args.checkedBy,
        p_note: args.note,
    })) as { requeued: number; item_ids: number[] };
    out.push(`requeued ${r.requeued} item(s) to pending: ${r.item_ids.join(", ")}`);
    return out;
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const url = process.env.SUPABASE_URL;
    const key = process.env.SUPABASE_SERVICE_ROLE_KEY;
    if (!url || !key) {
        throw new UsageError(
            "SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY must be set (the values of /fs-runner/<env>/supabase/url " +
                "and /fs-runner/<env>/supabase/key in Secrets Manager)",
        );
    }
    const client = createClient(url, key, { auth: { persistSession: false, autoRefreshToken: false } });
    const rpc: Rpc = async (fn, a) => {
        const res = await client.rpc(fn, a);
        if (res.error) throw new Error(`${fn}: ${res.error.message}`);
        return res.data as unknown;
    };
    for (const line of await requeueUnknown(args, rpc)) console.log(line);
}

if (require.main === module) {
    main().catch((err: unknown) => {
        console.error(err instanceof Error ? err.message : String(err));
        process.exit(err instanceof UsageError ? 64 : 1);
    });
}
