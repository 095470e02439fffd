/**
 * spot-watch (every 15 minutes): when recent Spot prices for the runner's instance types rise
 * above a share of on-demand (default 80 %), Spot stops being worth its interruptions; it alerts
 * and lowers the Spot compute environment's maxvCpus by 30 % so fewer jobs wait on expensive
 * capacity, then restores the configured value once prices fall back (below the threshold minus
 * a 5-point hysteresis, so a price hovering at the line does not flap).
 * "Never acts twice for the same condition": the state is the compute environment's own maxvCpus,
 * compared with the configured value, so it survives cold starts and anything else that changes
 * maxvCpus: when `pulumi up` sends the configured value again while Spot is still expensive, the
 * next run simply lowers it again. The tag `ops:spot-watch = reduced` only shows operators in the
 * console why capacity is low; it is set and removed with maxvCpus but never read as the state.
 */
import {
    DescribeComputeEnvironmentsCommand,
    DescribeComputeEnvironmentsCommandOutput,
    TagResourceCommand,
    UntagResourceCommand,
    UpdateComputeEnvironmentCommand,
} from "@aws-sdk/client-batch";
import {
    DescribeSpotPriceHistoryCommand,
    DescribeSpotPriceHistoryCommandOutput,
    type _InstanceType,
} from "@aws-sdk/client-ec2";
import { PublishCommand } from "@aws-sdk/client-sns";
import { reportBacklog } from "./backlog";
import type { SendClient } from "./dispatcher";
import { Logger } from "./log";

export const STATE_TAG = "ops:spot-watch";
const HYSTERESIS_POINTS = 5;

export interface SpotWatchOptions {
    readonly computeEnvironment: string;
    /** maxvCpus the stack configures; restored when prices fall. */
    readonly configuredMaxVcpus: number;
    /** On-demand USD/hour per instance type (Linux, the CE's region), from stack config. */
    readonly onDemandPrices: Readonly<Record<string, number>>;
    readonly availabilityZones?: readonly string[];
    /** @default 80 */
    readonly thresholdPercent?: number;
    /** @default 30 */
    readonly reducePercent?: number;
    readonly topicArn: string;
    readonly environment: string;
    /** The stack's job queues (names or ARNs); each run logs their RUNNABLE backlog (backlog.ts). None: no check. */
    readonly queues?: readonly string[];
    readonly ec2: SendClient;
    readonly batch: SendClient;
    readonly sns: SendClient;
    readonly log: Logger;
    readonly now?: () => Date;
}

export type SpotWatchOutcome =
    | { action: "reduced" | "restored"; ratioPercent: number; maxvCpus: number }
    | { action: "none"; ratioPercent: number | null; reason: string };

/** Mean over instance types of (cheapest recent Spot price in the AZs) / on-demand, in percent. */
export function spotRatioPercent(
    history: { InstanceType?: string; SpotPrice?: string; AvailabilityZone?: string; Timestamp?: Date }[],
    onDemand: Readonly<Record<string, number>>,
    zones?: readonly string[],
): number | null {
    const latest = new Map<string, { price: number; at: number }>();
    for (const h of history) {
        if (!h.InstanceType || !h.SpotPrice || !h.AvailabilityZone || !(h.InstanceType in onDemand)) continue;
        if (zones && zones.length && !zones.includes(h.AvailabilityZone)) continue;
        const key = `${h.InstanceType}|${h.AvailabilityZone}`;
        const at = h.Timestamp ? new Date(h.Timestamp).getTime() : 0;
        const cur = latest.get(key);
        if (!cur || at > cur.at) latest.set(key, { price: Number(h.SpotPrice), at });
    }
    const cheapest = new Map<string, number>();
    for (const [key, { price }] of latest) {
        const type = key.split("|")[0];
        cheapest.set(type, Math.min(cheapest.get(type) ?? Infinity, price));
    }
    if (cheapest.size === 0) return null;
    const ratios = [...cheapest].map(([type, price]) => price / onDemand[type]);
    return (100 * ratios.reduce((a, b) => a + b, 0)) / ratios.length;
}

export function makeSpotWatchHandler(opts: SpotWatchOptions): () => Promise<SpotWatchOutcome> {
    const threshold = opts.thresholdPercent ?? 80;
    const reduce = opts.reducePercent ?? 30;
    const now = opts.now ?? (() => new Date());
    const types = Object.keys(opts.onDemandPrices);
    return async () => {
        if (opts.queues?.length) await reportBacklog(opts.batch, opts.queues, now(), opts.log);
        return watchPrices();
    };

    async function watchPrices(): Promise<SpotWatchOutcome> {
        const history = (await opts.ec2.send(
            new DescribeSpotPriceHistoryCommand({
                // Instance types come from stack config, which validated them against the price table.
                InstanceTypes: types as _InstanceType[],
                ProductDescriptions: ["Linux/UNIX"],
                StartTime: new Date(now().getTime() - 60 * 60 * 1000),
            }),
        )) as DescribeSpotPriceHistoryCommandOutput;
        const ratio = spotRatioPercent(history.SpotPriceHistory ?? [], opts.onDemandPrices, opts.availabilityZones);
        if (ratio === null) {
            opts.log("warn", "no recent Spot prices for the configured instance types; nothing changed", { types });
            return { action: "none", ratioPercent: null, reason: "no price data" };
        }
        const described = (await opts.batch.send(
            new DescribeComputeEnvironmentsCommand({ computeEnvironments: [opts.computeEnvironment] }),
        )) as DescribeComputeEnvironmentsCommandOutput;
        const ce = described.computeEnvironments?.[0];
        const current = ce?.computeResources?.maxvCpus;
        if (!ce || current === undefined) throw new Error(`compute environment ${opts.computeEnvironment} not found`);
        const lowered = Math.max(0, Math.floor((opts.configuredMaxVcpus * (100 - reduce)) / 100));
        const reduced = current < opts.configuredMaxVcpus;
        const tagged = ce.tags?.[STATE_TAG] === "reduced";
        const rounded = Math.round(ratio * 10) / 10;
        if (ratio > threshold && current > lowered) {
            const maxvCpus = lowered;
            await opts.batch.send(
                new UpdateComputeEnvironmentCommand({
                    computeEnvironment: ce.computeEnvironmentArn,
                    computeResources: { maxvCpus },
                }),
            );
            await opts.batch.send(
                new TagResourceCommand({ resourceArn: ce.computeEnvironmentArn, tags: { [STATE_TAG]: "reduced" } }),
            );
            await publish(
                `[${opts.environment}] Spot price at ${rounded}% of on-demand: Spot capacity lowered`,
                `Recent Spot prices for ${types.join(", ")} average ${rounded}% of on-demand ` +
                    `(threshold ${threshold}%). maxvCpus of ${opts.computeEnvironment} lowered ` +
                    `from ${current} to ${maxvCpus}; it is restored automatically ` +
                    `when prices fall below ${threshold - HYSTERESIS_POINTS}%.`,
            );
            opts.log("warn", "Spot expensive: maxvCpus lowered", { ratio_percent: rounded, max_vcpus: maxvCpus });
            return { action: "reduced", ratioPercent: rounded, maxvCpus };
        }
        if (ratio > threshold && !tagged) {
            // Already at or below the lowered value (an operator lowered it further): only the marker is missing.
            await opts.batch.send(
                new TagResourceCommand({ resourceArn: ce.computeEnvironmentArn, tags: { [STATE_TAG]: "reduced" } }),
            );
        }
        if (ratio < threshold - HYSTERESIS_POINTS && reduced) {
            await opts.batch.send(
                new UpdateComputeEnvironmentCommand({
                    computeEnvironment: ce.computeEnvironmentArn,
                    computeResources: { maxvCpus: opts.configuredMaxVcpus },
                }),
            );
            await opts.batch.send(
                new UntagResourceCommand({ resourceArn: ce.computeEnvironmentArn, tagKeys: [STATE_TAG] }),
            );
            await publish(
                `[${opts.environment}] Spot price back to ${rounded}% of on-demand: Spot capacity restored`,
                `maxvCpus of ${opts.computeEnvironment} restored to ${opts.configuredMaxVcpus}.`,
            );
            opts.log("info", "Spot affordable again: maxvCpus restored", { ratio_percent: rounded });
            return { action: "restored", ratioPercent: rounded, maxvCpus: opts.configuredMaxVcpus };
        }
        if (ratio < threshold - HYSTERESIS_POINTS && tagged) {
            // Capacity is back at the configured value (an update sent it) but the marker stayed: remove it.
            await opts.batch.send(
                new UntagResourceCommand({ resourceArn: ce.computeEnvironmentArn, tagKeys: [STATE_TAG] }),
            );
        }
        return { action: "none", ratioPercent: rounded, reason: reduced ? "already reduced" : "price below threshold" };
    }

    async function publish(subject: string, message: string) {
        await opts.sns.send(
            new PublishCommand({ TopicArn: opts.topicArn, Subject: subject.slice(0, 100), Message: message }),
        );
    }
}
