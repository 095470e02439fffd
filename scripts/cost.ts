/**
 * Cost report: `npm run cost -- --stack <name> [--markdown]`.
 * Prices the offline plan of a stack with the dated price table (scripts/cost/prices.ts) and the
 * usage assumptions in the stack's `cost*` config keys.
 */
import { parseStackConfig, PROJECT } from "../components/config";
import {
    estimate,
    natTradeOff,
    runnerComparison,
    totalsByComponent,
    weatherVersusSeed,
    CostLine,
    RUNNER_GB_PER_INSTANCE_HOUR,
} from "./cost/model";
import { dollarsPer1000Forms, MEASURED_DENSITY, packedWorkload, SEED_WORKERS } from "./cost/density";
import { price, PRICES, HOURS_PER_MONTH } from "./cost/prices";
import { readStackFile, UnknownStackError } from "./lib/offlineEngine";
import { planStack } from "./lib/plan";

const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const qty = (n: number) =>
    Number.isInteger(n) ? n.toLocaleString("en-US") : n.toLocaleString("en-US", { maximumFractionDigits: 4 });

interface Table {
    title: string;
    head: string[];
    rows: string[][];
}

function render(tables: Table[], notes: string[], markdown: boolean): string {
    const out: string[] = [];
    for (const t of tables) {
        if (markdown) {
            out.push(`### ${t.title}`, "", `| ${t.head.join(" | ")} |`, `| ${t.head.map(() => "---").join(" | ")} |`);
            for (const r of t.rows) out.push(`| ${r.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`);
        } else {
            const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => r[i].length)));
            const fmt = (r: string[]) =>
                r
                    .map((c, i) => c.padEnd(widths[i]))
                    .join("  ")
                    .trimEnd();
            out.push(t.title, "-".repeat(t.title.length), fmt(t.head));
            for (const r of t.rows) out.push(fmt(r));
        }
        out.push("");
    }
    out.push(...notes.map((n) => (markdown ? `- ${n}` : `* ${n}`)));
    return out.join("\n") + "\n";
}

export async function costReport(stack: string, markdown: boolean): Promise<string> {
    const file = readStackFile(stack);
    const raw = Object.fromEntries(
        Object.entries(file.config)
            .filter(([k]) => k.startsWith(`${PROJECT}:`))
            .map(([k, v]) => [k.slice(PROJECT.length + 1), v]),
    );
    const usage = parseStackConfig(stack, raw).cost;
    const plan = await planStack(stack);
    const lines = estimate(plan, usage);
    const totals = totalsByComponent(lines);
    const grand = [...totals.values()].reduce((a, b) => a + b, 0);
    const tables: Table[] = [];
    const byComponent = new Map<string, CostLine[]>();
    for (const l of lines) byComponent.set(l.component, [...(byComponent.get(l.component) ?? []), l]);
    for (const [component, ls] of byComponent) {
        tables.push({
            title: `${component} (${ls[0].region}) — ${usd(totals.get(component) ?? 0)}/month`,
            head: ["resource", "item", "quantity", "unit price", "monthly"],
            rows: ls.map((l) => [
                l.resource,
                l.note ? `${l.item} (${l.note})` : l.item,
                qty(l.quantity),
                `$${l.unitPrice} ${l.unit}`,
                usd(l.monthly),
            ]),
        });
    }
    tables.push({
        title: `Total for stack ${stack}`,
        head: ["component", "monthly"],
        rows: [...[...totals].map(([c, t]) => [c, usd(t)]), ["total", usd(grand)]],
    });

    const cmp = runnerComparison(usage.formSenderInstanceHours);
    tables.push({
        title:
            `Runner workload: ${qty(cmp.instanceHours)} c6a.xlarge instance-hours ` +
            `(${qty(cmp.vcpuHours)} vCPU-hours) per month`,
        head: ["platform", "monthly", "vs Spot"],
        rows: [
            ["AWS Batch on Spot", usd(cmp.spot), "1.00×"],
            ["AWS Batch on-demand", usd(cmp.onDemand), `${(cmp.onDemand / cmp.spot).toFixed(2)}×`],
            [
                "Cloud Run (4 vCPU + 8 GiB per instance-hour)",
                usd(cmp.cloudRun),
                `${(cmp.cloudRun / cmp.spot).toFixed(2)}×`,
            ],
        ],
    });
    const d = MEASURED_DENSITY;
    const packed = packedWorkload(usage.formSenderInstanceHours);
    const spotHourly = price("us-east-1", "ec2.c6a.xlarge.spot").usd;
    const densityRow = (label: string, rate: number, hours: number) => [
        label,
        qty(rate),
        qty(Math.round(hours)),
        usd(hours * spotHourly),
        `$${dollarsPer1000Forms(spotHourly, rate).toFixed(3)}`,
    ];
    tables.push({
        title:
            `Runner density (npm run bench -- density, ${d.measuredOn}): the same ` +
            `${qty(Math.round(packed.forms))} forms per month`,
        head: ["workers per c6a.xlarge", "forms per instance-hour", "instance-hours", "all on Spot", "per 1,000 forms"],
        rows: [
            densityRow(`${SEED_WORKERS} (seed 000)`, d.seedFormsPerInstanceHour, usage.formSenderInstanceHours),
            densityRow(`${d.workers} (default, measured)`, d.formsPerInstanceHour, packed.instanceHours),
        ],
    });
    const nat = natTradeOff(
        packed.instanceHours,
        "us-east-1",
        usage.formSenderInstanceHours * RUNNER_GB_PER_INSTANCE_HOUR,
    );
    tables.push({
        title: "Runner egress: public IPv4 per instance vs one NAT gateway",
        head: ["option", "monthly", "how"],
        rows: [
            [
                "public subnets, public IPv4 per instance (default)",
                usd(nat.publicIpv4),
                `${qty(Math.round(packed.instanceHours))} instance-hours × $0.005`,
            ],
            [
                "private subnets + 1 NAT gateway",
                usd(nat.nat),
                `${usd(nat.natFixed)} fixed + ${qty(nat.gb)} GB × $0.045`,
            ],
        ],
    });
    const seed = weatherVersusSeed(lines);
    if (seed.rows.some((r) => r.ours > 0)) {
        tables.push({
            title: "WeatherService beside seed 004 §9 ($67/month)",
            head: ["item", "seed 004", "this stack"],
            rows: [
                ...seed.rows.map((r) => [r.item, usd(r.seed), usd(r.ours)]),
                ...seed.leftOut.map((l) => [`${l.item} (${l.resource}) — not in the seed`, "—", usd(l.monthly)]),
                ["total", usd(seed.seedTotal), usd(seed.ourTotal)],
            ],
        });
    }
    const asOf = [...new Set(Object.values(PRICES).flatMap((t) => Object.values(t).map((p) => p.asOf)))].join(", ");
    const notes = [
        `List prices in USD as of ${asOf} (sources per price in scripts/cost/prices.ts), ` +
            `${HOURS_PER_MONTH} hours per month, no free tier or savings plans.`,
        `Usage assumptions come from the stack's cost* config keys (${Object.entries(usage)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ")}).`,
        "The seed's 17,600 figure is instance-hours: its own arithmetic multiplies it by c6a.xlarge instance prices.",
        "Data transfer out to the internet and Supabase are not included.",
        "Runner instance-hours: costFormSenderInstanceHours is the workload at the seed's " +
            `${SEED_WORKERS} workers per instance; the runner lines price the same forms at ${d.workers} workers per instance ` +
            `(${qty(d.formsPerInstanceHour)} vs ${qty(d.seedFormsPerInstanceHour)} forms per instance-hour, ` +
            "scripts/cost/density.ts). The seed comparison table keeps the seed's hours.",
    ];
    return render(tables, notes, markdown);
}

async function main(): Promise<void> {
    const args = process.argv.slice(2);
    const i = args.indexOf("--stack");
    const stack = i >= 0 ? args[i + 1] : args.find((a) => a.startsWith("--stack="))?.slice(8);
    if (!stack) {
        console.error("usage: npm run cost -- --stack <stg|prd> [--markdown]");
        process.exit(2);
    }
    process.stdout.write(await costReport(stack, args.includes("--markdown")));
}

if (require.main === module) {
    main().catch((err: unknown) => {
        const known = err instanceof UnknownStackError || (err instanceof Error && err.name === "ConfigError");
        console.error(known ? err.message : err);
        process.exit(1);
    });
}
