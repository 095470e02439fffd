/**
 * Monthly cost model over an offline plan: prices every resource that costs money, per
 * component, from the dated price table and the stack's usage assumptions.
 */
import type { CostAssumptions } from "../../components/config/cost";
import type { OfflineRun, PlannedResource } from "../lib/offlineEngine";
import { MEASURED_DENSITY, packedWorkload, SEED_WORKERS } from "./density";
import { CLOUD_RUN, HOURS_PER_MONTH, price, PriceKey, RUNNER_INSTANCE } from "./prices";

export interface CostLine {
    readonly component: string;
    readonly region: string;
    /** Logical resource name (or a summary label). */
    readonly resource: string;
    readonly item: string;
    readonly quantity: number;
    readonly unit: string;
    readonly unitPrice: number;
    readonly monthly: number;
    readonly note?: string;
}

/** Average data a runner instance moves per hour (page loads of ~4 workers); drives the NAT trade-off. */
export const RUNNER_GB_PER_INSTANCE_HOUR = 0.5;
/** Average Lambda duration assumed for request-driven functions, seconds. */
const LAMBDA_SECONDS = 1;

const round2 = (n: number) => Math.round(n * 100) / 100;

export function line(
    component: string,
    region: string,
    resource: string,
    key: PriceKey,
    quantity: number,
    item?: string,
    note?: string,
): CostLine {
    const p = price(region, key);
    return {
        component,
        region,
        resource,
        item: item ?? key,
        quantity,
        unit: p.unit,
        unitPrice: p.usd,
        monthly: quantity * p.usd,
        note,
    };
}

/** Top-level component (direct child of the stack) of each resource, and each resource's region. */
function index(plan: OfflineRun) {
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    const stack = plan.resources.find((r) => r.type === "pulumi:pulumi:Stack")?.urn;
    const regionOfProvider = new Map(
        plan.resources.filter((r) => r.type === "pulumi:providers:aws").map((r) => [r.urn, String(r.inputs.region)]),
    );
    const componentOf = (r: PlannedResource): PlannedResource | undefined => {
        let cur: PlannedResource | undefined = r;
        while (cur && cur.parent && cur.parent !== stack) cur = byUrn.get(cur.parent);
        return cur && cur !== r ? cur : r.custom ? undefined : r;
    };
    return {
        componentOf,
        regionOf: (r: PlannedResource) => (r.provider ? regionOfProvider.get(r.provider) : undefined),
    };
}

/** Runs per month of one EventBridge schedule expression; undefined for a form this does not count. */
export function runsPerMonth(expression: string): number | undefined {
    // EventBridge "Schedule expressions for rules": rate(value unit), unit minute(s)|hour(s)|day(s), and
    // cron(Minutes Hours Day-of-month Month Day-of-week Year) with `?` in one of the two day fields
    // (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html).
    const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression.trim());
    if (rate) {
        const minutes = Number(rate[1]) * { minute: 1, hour: 60, day: 1440 }[rate[2] as "minute" | "hour" | "day"];
        return minutes > 0 ? (HOURS_PER_MONTH * 60) / minutes : undefined;
    }
    // Only daily crons are counted: fixed minutes and hours (lists allowed), every day of every month and year.
    const cron = /^cron\(([\d,]+) ([\d,]+) ([*?]) \* ([*?]) \*\)$/.exec(expression.trim());
    if (!cron || cron[3] === cron[4]) return undefined;
    const count = (list: string) => new Set(list.split(",")).size;
    return (count(cron[1]) * count(cron[2]) * HOURS_PER_MONTH) / 24;
}

/**
 * Sync runs per month from the plan's enabled SyncScheduler schedules (prd runs twice a day), rounded; undefined when
 * none is enabled (stg: manual runs only) or one is not a form {@link runsPerMonth} counts, and then the stack's
 * costSyncRunsPerMonth is the assumption.
 */
export function scheduledSyncRunsPerMonth(plan: OfflineRun): number | undefined {
    const { componentOf } = index(plan);
    const rules = plan.resources.filter(
        (r) =>
            r.type === "aws:cloudwatch/eventRule:EventRule" &&
            typeof r.inputs.scheduleExpression === "string" &&
            r.inputs.state !== "DISABLED" &&
            /:SyncScheduler$/.test(componentOf(r)?.type ?? ""),
    );
    if (rules.length === 0) return undefined;
    const runs = rules.map((r) => runsPerMonth(String(r.inputs.scheduleExpression)));
    if (runs.some((n) => n === undefined)) return undefined;
    return Math.round(runs.reduce((a: number, b) => a + (b ?? 0), 0));
}

export function estimate(plan: OfflineRun, usage: CostAssumptions): CostLine[] {
    const { componentOf, regionOf } = index(plan);
    const scheduledSyncRuns = scheduledSyncRunsPerMonth(plan);
    const lines: CostLine[] = [];
    const groups = new Map<string, { region: string; resources: PlannedResource[] }>();
    for (const r of plan.resources) {
        if (!r.custom || r.type.startsWith("pulumi:")) continue;
        const comp = componentOf(r);
        const region = regionOf(r);
        if (!comp || !region) continue;
        const label = `${comp.type.split(":").pop()} ${comp.name}`;
        const g = groups.get(label) ?? { region, resources: [] };
        g.resources.push(r);
        groups.set(label, g);
    }
    for (const [component, { region, resources }] of groups) {
        const of = (type: string) => resources.filter((r) => r.type === type);
        const add = (resource: string, key: PriceKey, quantity: number, item?: string, note?: string) => {
            if (quantity > 0) lines.push(line(component, region, resource, key, quantity, item, note));
        };
        const nats = of("aws:ec2/natGateway:NatGateway");
        for (const nat of nats) {
            add(nat.name, "nat.hour", HOURS_PER_MONTH, "NAT gateway hours");
            add(
                nat.name,
                "nat.gb",
                usage.natGbPerMonth,
                "NAT data processed",
                `costNatGbPerMonth=${usage.natGbPerMonth}`,
            );
        }
        for (const eip of of("aws:ec2/eip:Eip"))
            add(eip.name, "publicIpv4.hour", HOURS_PER_MONTH, "public IPv4 (Elastic IP)");
        for (const alb of of("aws:lb/loadBalancer:LoadBalancer")) {
            add(alb.name, "alb.hour", HOURS_PER_MONTH, "ALB hours");
            add(
                alb.name,
                "alb.lcuHour",
                HOURS_PER_MONTH * usage.albAverageLcu,
                "ALB capacity units",
                `costAlbAverageLcu=${usage.albAverageLcu}`,
            );
            if (alb.inputs.internal !== true) {
                const azs = Array.isArray(alb.inputs.subnets) ? alb.inputs.subnets.length : 2;
                add(alb.name, "publicIpv4.hour", HOURS_PER_MONTH * azs, "ALB public IPv4 (one per AZ)");
            }
        }
        const taskDefs = of("aws:ecs/taskDefinition:TaskDefinition");
        for (const svc of of("aws:ecs/service:Service").filter((s) => s.inputs.launchType === "FARGATE")) {
            const td =
                taskDefs.find((t) =>
                    String(svc.inputs.taskDefinition).includes(`task-definition/${String(t.inputs.family)}:`),
                ) ?? taskDefs[0];
            if (!td) continue;
            const vcpu = Number(td.inputs.cpu) / 1024;
            const gb = Number(td.inputs.memory) / 1024;
            const taskHours = HOURS_PER_MONTH * usage.weatherAverageTasks;
            add(
                svc.name,
                "fargate.vcpuHour",
                vcpu * taskHours,
                `Fargate vCPU (${vcpu} vCPU × ${usage.weatherAverageTasks} task)`,
            );
            add(
                svc.name,
                "fargate.gbHour",
                gb * taskHours,
                `Fargate memory (${gb} GB × ${usage.weatherAverageTasks} task)`,
            );
        }
        for (const fs of of("aws:efs/fileSystem:FileSystem"))
            add(fs.name, "efs.standard.gbMonth", usage.efsGb, "EFS storage", `costEfsGb=${usage.efsGb}`);
        const logGroups = of("aws:cloudwatch/logGroup:LogGroup");
        if (logGroups.length > 0)
            add(
                `${logGroups.length} log group(s)`,
                "logs.ingestGb",
                usage.logGbPerMonth,
                "CloudWatch Logs ingestion",
                `costLogGbPerMonth=${usage.logGbPerMonth}`,
            );
        const secrets = of("aws:secretsmanager/secret:Secret");
        if (secrets.length > 0)
            add(
                secrets.map((s) => s.name).join(", "),
                "secrets.secretMonth",
                secrets.length,
                "Secrets Manager secrets",
            );
        const alarms = of("aws:cloudwatch/metricAlarm:MetricAlarm");
        if (alarms.length > 0)
            add(`${alarms.length} alarm(s)`, "cloudwatch.alarmMonth", alarms.length, "CloudWatch alarms");
        for (const d of of("aws:cloudwatch/dashboard:Dashboard"))
            add(d.name, "cloudwatch.dashboardMonth", 1, "CloudWatch dashboard");
        for (const acl of of("aws:wafv2/webAcl:WebAcl")) {
            add(acl.name, "waf.aclMonth", 1, "WAF web ACL");
            add(acl.name, "waf.ruleMonth", Array.isArray(acl.inputs.rules) ? acl.inputs.rules.length : 0, "WAF rules");
            add(
                acl.name,
                "waf.requestMillion",
                usage.apiRequestsPerMonth / 1e6,
                "WAF requests",
                `costApiRequestsPerMonth=${usage.apiRequestsPerMonth}`,
            );
        }
        for (const api of of("aws:apigateway/restApi:RestApi"))
            add(api.name, "apigw.rest.requestMillion", usage.apiRequestsPerMonth / 1e6, "REST API requests");
        for (const fn of of("aws:lambda/function:Function")) {
            const sync = /sync/.test(fn.name);
            const invocations = sync ? (scheduledSyncRuns ?? usage.syncRunsPerMonth) : lambdaInvocations(fn, usage);
            const seconds = sync ? 300 : LAMBDA_SECONDS;
            const from = !sync
                ? ""
                : scheduledSyncRuns === undefined
                  ? " (costSyncRunsPerMonth)"
                  : " (from the sync schedules)";
            add(fn.name, "lambda.requestMillion", invocations / 1e6, "Lambda requests");
            add(
                fn.name,
                "lambda.gbSecond",
                invocations * seconds * (Number(fn.inputs.memorySize ?? 128) / 1024),
                "Lambda compute",
                `${invocations} invocations${from} × ${seconds} s`,
            );
        }
        for (const sm of of("aws:sfn/stateMachine:StateMachine")) {
            // Start → RunBatchTask → Succeed is 3 transitions; retries add up to 3 more.
            add(
                sm.name,
                "sfn.transitionThousand",
                (usage.orchestrationRunsPerMonth * 6) / 1000,
                "Step Functions transitions",
                `${usage.orchestrationRunsPerMonth} runs, ≤ 6 transitions each`,
            );
        }
        if (of("aws:batch/computeEnvironment:ComputeEnvironment").length > 0) {
            // The seed's hours (4 workers per instance) are the workload; the same forms at the measured density
            // take fewer instance-hours (scripts/cost/density.ts, `npm run bench -- density`).
            const seedHours = usage.formSenderInstanceHours;
            const h = Math.round(packedWorkload(seedHours).instanceHours);
            const spotHours = (h * usage.spotSharePercent) / 100;
            add(
                "runner instances",
                "ec2.c6a.xlarge.spot",
                spotHours,
                `${RUNNER_INSTANCE.type} Spot`,
                `${usage.spotSharePercent}% of ${h} instance-hours: ${seedHours} at the seed's ${SEED_WORKERS} ` +
                    `workers, packed ${MEASURED_DENSITY.workers} workers per instance as measured`,
            );
            add(
                "runner instances",
                "ec2.c6a.xlarge.ondemand",
                h - spotHours,
                `${RUNNER_INSTANCE.type} on-demand fallback`,
            );
            add(
                "runner instances",
                "ebs.gp3.gbMonth",
                (h * RUNNER_INSTANCE.rootVolumeGb) / HOURS_PER_MONTH,
                `root volumes (${RUNNER_INSTANCE.rootVolumeGb} GB gp3 each)`,
            );
            if (nats.length === 0)
                add("runner instances", "publicIpv4.hour", h, "runner public IPv4 (public subnets, no NAT)");
            else
                add(
                    "runner instances",
                    "nat.gb",
                    // Traffic follows the forms, not the instance-hours they are packed into.
                    seedHours * RUNNER_GB_PER_INSTANCE_HOUR,
                    "runner traffic through NAT",
                    `${RUNNER_GB_PER_INSTANCE_HOUR} GB per instance-hour`,
                );
        }
    }
    return lines.map((l) => ({ ...l, monthly: round2(l.monthly) }));
}

function lambdaInvocations(fn: PlannedResource, usage: CostAssumptions): number {
    if (/dispatcher/.test(fn.name)) return usage.apiRequestsPerMonth;
    if (/spot-watch/.test(fn.name)) return (HOURS_PER_MONTH * 60) / 15;
    // batch-events: a few state changes per runner instance-hour's job.
    if (/batch-events/.test(fn.name)) return Math.round(usage.formSenderInstanceHours * 4);
    return 1000;
}

export function totalsByComponent(lines: CostLine[]): Map<string, number> {
    const totals = new Map<string, number>();
    for (const l of lines) totals.set(l.component, round2((totals.get(l.component) ?? 0) + l.monthly));
    return totals;
}

/**
 * Seed 000 §11: the same runner workload on Spot, on-demand and Cloud Run. The seed calls its
 * 17,600 figure "vCPU-hours", but its arithmetic multiplies it by c6a.xlarge *instance* prices and
 * by 4 vCPU + 8 GiB for Cloud Run, so it is instance-hours (70,400 vCPU-hours); this follows the
 * seed's arithmetic and names the unit correctly.
 */
export function runnerComparison(instanceHours: number, region = "us-east-1") {
    const spot = instanceHours * price(region, "ec2.c6a.xlarge.spot").usd;
    const onDemand = instanceHours * price(region, "ec2.c6a.xlarge.ondemand").usd;
    const cloudRunPerHour =
        RUNNER_INSTANCE.vcpus * CLOUD_RUN.vcpuSecond.usd * 3600 +
        RUNNER_INSTANCE.memoryGib * CLOUD_RUN.gibSecond.usd * 3600;
    return {
        instanceHours,
        vcpuHours: instanceHours * RUNNER_INSTANCE.vcpus,
        spot,
        onDemand,
        cloudRun: instanceHours * cloudRunPerHour,
        cloudRunPerHour,
    };
}

/** NAT gateway vs public IPv4 per runner instance, for the runner's monthly hours. */
export function natTradeOff(
    instanceHours: number,
    region = "us-east-1",
    /** GB the runners move (it follows the forms, not how densely they are packed). */
    gb = instanceHours * RUNNER_GB_PER_INSTANCE_HOUR,
) {
    const publicIpv4 = instanceHours * price(region, "publicIpv4.hour").usd;
    const natFixed = HOURS_PER_MONTH * (price(region, "nat.hour").usd + price(region, "publicIpv4.hour").usd);
    const nat = natFixed + gb * price(region, "nat.gb").usd;
    return {
        publicIpv4,
        nat,
        natFixed,
        gb,
        breakEvenInstanceHours:
            natFixed /
            (price(region, "publicIpv4.hour").usd - RUNNER_GB_PER_INSTANCE_HOUR * price(region, "nat.gb").usd),
    };
}

/** Seed 004 §9's WeatherService estimate ($67/month), line by line. */
export const SEED_004_LINES: { item: string; monthly: number; matches: (l: CostLine) => boolean }[] = [
    { item: "ECS Fargate 1 vCPU / 2 GB × 1 task", monthly: 36.72, matches: (l) => l.item.startsWith("Fargate") },
    { item: "Application Load Balancer", monthly: 22.62, matches: (l) => l.item === "ALB hours" },
    { item: "EFS 10 GB", monthly: 3.0, matches: (l) => l.item === "EFS storage" },
    { item: "CloudWatch Logs 5 GB", monthly: 2.5, matches: (l) => l.item === "CloudWatch Logs ingestion" },
    { item: "Secrets Manager (4 secrets)", monthly: 1.6, matches: (l) => l.item === "Secrets Manager secrets" },
];

/** Places WeatherService lines beside the seed's; lines the seed has no row for are "left out". */
export function weatherVersusSeed(lines: CostLine[]) {
    const weather = lines.filter((l) => l.component.startsWith("WeatherService"));
    const rows = SEED_004_LINES.map((s) => ({
        item: s.item,
        seed: s.monthly,
        ours: round2(weather.filter(s.matches).reduce((n, l) => n + l.monthly, 0)),
    }));
    const matched = new Set(weather.filter((l) => SEED_004_LINES.some((s) => s.matches(l))));
    const leftOut = weather.filter((l) => !matched.has(l));
    return {
        rows,
        leftOut,
        seedTotal: round2(SEED_004_LINES.reduce((n, s) => n + s.monthly, 0)),
        ourTotal: round2(weather.reduce((n, l) => n + l.monthly, 0)),
    };
}
