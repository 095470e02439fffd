/**
 * Dated price table for the cost report. Every price names its source page and the date it was
 * recorded; update the date with the value. Prices are USD list prices, Linux, no discounts,
 * no free tier. A month is 730 hours (AWS's convention on its pricing pages).
 */

export const HOURS_PER_MONTH = 730;

export interface Price {
    readonly usd: number;
    readonly unit: string;
    readonly source: string;
    /** Date the price was recorded (YYYY-MM-DD). */
    readonly asOf: string;
}

export type PriceKey =
    | "ec2.c6a.xlarge.ondemand"
    | "ec2.c6a.xlarge.spot"
    | "ebs.gp3.gbMonth"
    | "publicIpv4.hour"
    | "nat.hour"
    | "nat.gb"
    | "alb.hour"
    | "alb.lcuHour"
    | "fargate.vcpuHour"
    | "fargate.gbHour"
    | "efs.standard.gbMonth"
    | "logs.ingestGb"
    | "logs.storeGbMonth"
    | "secrets.secretMonth"
    | "lambda.requestMillion"
    | "lambda.gbSecond"
    | "apigw.rest.requestMillion"
    | "waf.aclMonth"
    | "waf.ruleMonth"
    | "waf.requestMillion"
    | "s3.standard.gbMonth"
    | "cloudwatch.alarmMonth"
    | "cloudwatch.dashboardMonth"
    | "sfn.transitionThousand"
    | "ecr.gbMonth"
    | "sqs.requestMillion";

const AWS_DATE = "2025-10-07";
const src = {
    ec2: "https://aws.amazon.com/ec2/pricing/on-demand/",
    spot: "https://aws.amazon.com/ec2/spot/pricing/ (seed 000 §11: aws-pricing.com average, 2025-10-07)",
    ebs: "https://aws.amazon.com/ebs/pricing/",
    vpc: "https://aws.amazon.com/vpc/pricing/",
    elb: "https://aws.amazon.com/elasticloadbalancing/pricing/",
    fargate: "https://aws.amazon.com/fargate/pricing/",
    efs: "https://aws.amazon.com/efs/pricing/",
    cw: "https://aws.amazon.com/cloudwatch/pricing/",
    sm: "https://aws.amazon.com/secrets-manager/pricing/",
    lambda: "https://aws.amazon.com/lambda/pricing/",
    apigw: "https://aws.amazon.com/api-gateway/pricing/",
    waf: "https://aws.amazon.com/waf/pricing/",
    s3: "https://aws.amazon.com/s3/pricing/",
    sfn: "https://aws.amazon.com/step-functions/pricing/",
    ecr: "https://aws.amazon.com/ecr/pricing/",
    sqs: "https://aws.amazon.com/sqs/pricing/",
};
const p = (usd: number, unit: string, source: string, asOf = AWS_DATE): Price => ({ usd, unit, source, asOf });

/** Shared by both regions (AWS prices these identically everywhere we deploy). */
const GLOBAL: Partial<Record<PriceKey, Price>> = {
    "publicIpv4.hour": p(0.005, "per public IPv4 address-hour", src.vpc),
    "secrets.secretMonth": p(0.4, "per secret-month", src.sm),
    "waf.aclMonth": p(5, "per web ACL-month", src.waf),
    "waf.ruleMonth": p(1, "per rule-month", src.waf),
    "waf.requestMillion": p(0.6, "per million requests", src.waf),
    "cloudwatch.alarmMonth": p(0.1, "per standard alarm-month", src.cw),
    "cloudwatch.dashboardMonth": p(3, "per dashboard-month", src.cw),
    "ecr.gbMonth": p(0.1, "per GB-month", src.ecr),
    "lambda.requestMillion": p(0.2, "per million requests", src.lambda),
    "lambda.gbSecond": p(0.0000166667, "per GB-second (x86)", src.lambda),
    "sfn.transitionThousand": p(0.025, "per 1,000 state transitions", src.sfn),
    "sqs.requestMillion": p(0.4, "per million requests", src.sqs),
    "alb.lcuHour": p(0.008, "per LCU-hour", src.elb),
};

export const PRICES: Record<"us-east-1" | "ap-northeast-1", Partial<Record<PriceKey, Price>>> = {
    "us-east-1": {
        ...GLOBAL,
        "ec2.c6a.xlarge.ondemand": p(0.153, "per instance-hour (4 vCPU, 8 GiB)", src.ec2),
        "ec2.c6a.xlarge.spot": p(0.0653, "per instance-hour, recent average", src.spot),
        "ebs.gp3.gbMonth": p(0.08, "per GB-month", src.ebs),
        "nat.hour": p(0.045, "per NAT gateway-hour", src.vpc),
        "nat.gb": p(0.045, "per GB processed", src.vpc),
        "alb.hour": p(0.0225, "per ALB-hour", src.elb),
        "fargate.vcpuHour": p(0.04048, "per vCPU-hour", src.fargate),
        "fargate.gbHour": p(0.004445, "per GB-hour", src.fargate),
        "efs.standard.gbMonth": p(0.3, "per GB-month (Standard)", src.efs),
        "logs.ingestGb": p(0.5, "per GB ingested", src.cw),
        "logs.storeGbMonth": p(0.03, "per GB-month archived", src.cw),
        "apigw.rest.requestMillion": p(3.5, "per million REST API calls", src.apigw),
        "s3.standard.gbMonth": p(0.023, "per GB-month", src.s3),
    },
    "ap-northeast-1": {
        ...GLOBAL,
        "ebs.gp3.gbMonth": p(0.096, "per GB-month", src.ebs),
        "nat.hour": p(0.062, "per NAT gateway-hour", src.vpc),
        "nat.gb": p(0.062, "per GB processed", src.vpc),
        "alb.hour": p(0.0243, "per ALB-hour", src.elb),
        "fargate.vcpuHour": p(0.05056, "per vCPU-hour", src.fargate),
        "fargate.gbHour": p(0.00553, "per GB-hour", src.fargate),
        "efs.standard.gbMonth": p(0.36, "per GB-month (Standard)", src.efs),
        "logs.ingestGb": p(0.76, "per GB ingested", src.cw),
        "logs.storeGbMonth": p(0.033, "per GB-month archived", src.cw),
        "apigw.rest.requestMillion": p(4.25, "per million REST API calls", src.apigw),
        "s3.standard.gbMonth": p(0.025, "per GB-month", src.s3),
    },
};

/** Cloud Run (us-east1) unit prices the seed compared against (seed 000 §11). */
export const CLOUD_RUN = {
    vcpuSecond: p(0.000018, "per vCPU-second", "https://cloud.google.com/run/pricing (seed 000 §11)"),
    gibSecond: p(0.000002, "per GiB-second", "https://cloud.google.com/run/pricing (seed 000 §11)"),
};

/** c6a.xlarge: what one runner instance-hour buys. */
export const RUNNER_INSTANCE = { type: "c6a.xlarge", vcpus: 4, memoryGib: 8, rootVolumeGb: 30 };

export function price(region: string, key: PriceKey): Price {
    const table = PRICES[region as keyof typeof PRICES];
    if (!table)
        throw new Error(
            `cost report: no prices for region ${region}; ` +
                `add it to scripts/cost/prices.ts (supported: ${Object.keys(PRICES).join(", ")})`,
        );
    const found = table[key];
    if (!found) throw new Error(`cost report: no price ${key} for ${region} in scripts/cost/prices.ts`);
    return found;
}
