/**
 * Read-only checks of an AWS account against what a stack needs. Each check makes its own calls, so they run
 * concurrently; each turns an AccessDenied into "could not check (missing permission …)", never into PASS.
 */
import { ACMClient, DescribeCertificateCommand } from "@aws-sdk/client-acm";
import { APIGatewayClient, GetAccountCommand } from "@aws-sdk/client-api-gateway";
import {
    DescribeAccountAttributesCommand,
    DescribeAddressesCommand,
    DescribeRouteTablesCommand,
    DescribeSecurityGroupsCommand,
    DescribeSubnetsCommand,
    DescribeVpcsCommand,
    EC2Client,
    RouteTable,
} from "@aws-sdk/client-ec2";
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { GetAccountSettingsCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
    GetAWSDefaultServiceQuotaCommand,
    GetServiceQuotaCommand,
    ServiceQuotasClient,
} from "@aws-sdk/client-service-quotas";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { secretValue } from "../../../functions/syncBatch/secrets";
import { AwsCredentialIdentityProvider, clientConfig, describeError, errorName, isAccessDenied } from "./aws";
import { CheckResult } from "./report";
import { RegionRequirements, StackRequirements } from "./requirements";

/** What the account checks read from the stack configuration (the typed config the program reads). */
export interface AccountInputs {
    readonly stack: string;
    readonly requirements: StackRequirements;
    readonly weatherRegion: string;
    readonly certificateArn: string;
    readonly syncRegion: string;
    readonly syncSubnetIds: readonly string[];
    readonly syncSecurityGroupIds: readonly string[];
    /** Secret ARNs the configuration names, with the JSON keys the reading code accepts (first present wins). */
    readonly secrets: readonly { key: string; arn: string; fields: readonly string[] }[];
    /** Accounts the stack file allows (`aws:allowedAccountIds`), when it names any. */
    readonly allowedAccountIds: readonly string[];
    /** Read each secret's value to check its JSON keys (`--check-secret-keys`). */
    readonly checkSecretKeys: boolean;
}

/** The caller identity, from sts:GetCallerIdentity. */
export interface Identity {
    readonly account: string;
    readonly arn: string;
}

/**
 * Quota codes (Service Quotas `ServiceCode` / `QuotaCode`). The codes are what `aws service-quotas
 * list-service-quotas --service-code <code>` lists; the names are the quotas' names in the Service Quotas console:
 * - ec2 L-34B43A08 "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests" and ec2 L-1216C47A
 *   "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", both counted in vCPUs
 *   (https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html);
 * - fargate L-3032A538 "Fargate On-Demand vCPU resource count"
 *   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html#service-quotas-fargate);
 * - ec2 L-0263D0A3 "EC2-VPC Elastic IPs" (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html);
 * - vpc L-F678F1CE "VPCs per Region" (same page);
 * - lambda L-B99A9384 "Concurrent executions" (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
 */
export const QUOTAS = {
    spotVcpus: {
        service: "ec2",
        code: "L-34B43A08",
        name: "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests",
    },
    onDemandVcpus: {
        service: "ec2",
        code: "L-1216C47A",
        name: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
    },
    fargateVcpus: { service: "fargate", code: "L-3032A538", name: "Fargate On-Demand vCPU resource count" },
    elasticIps: { service: "ec2", code: "L-0263D0A3", name: "EC2-VPC Elastic IPs" },
    vpcs: { service: "vpc", code: "L-F678F1CE", name: "VPCs per Region" },
    lambdaConcurrency: { service: "lambda", code: "L-B99A9384", name: "Concurrent executions" },
} as const;
type Quota = (typeof QUOTAS)[keyof typeof QUOTAS];

/**
 * Lambda keeps at least 100 concurrent executions unreserved: a reservation that would leave less fails
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
 */
export const LAMBDA_UNRESERVED_MINIMUM = 100;

/**
 * Instance families the "Standard" vCPU quotas cover (the quota names list them: A, C, D, H, I, M, R, T, Z).
 */
const STANDARD_FAMILY = /^[acdhimrtz]/;

const increaseCommand = (q: Quota, region: string, value: number) =>
    `aws service-quotas request-service-quota-increase --service-code ${q.service} --quota-code ${q.code} ` +
    `--desired-value ${value} --region ${region}`;

export const couldNotCheck = (id: string, region: string, permission: string, what: string): CheckResult => ({
    id,
    region,
    status: "WARN",
    message: `could not check ${what} (missing permission ${permission})`,
    fix: `allow ${permission} to the principal running the preflight (README "Preflight" lists what it needs)`,
});

export const failedCall = (id: string, region: string, what: string, err: unknown): CheckResult => ({
    id,
    region,
    status: "FAIL",
    message: `could not check ${what}: ${describeError(err)}`,
    fix: "check the network path to the AWS endpoint (or AWS_ENDPOINT_URL*), then rerun npm run preflight",
});

type QuotaLookup =
    { kind: "value"; value: number; source: string } | { kind: "denied" } | { kind: "error"; err: unknown };

/**
 * A quota's applied value (GetServiceQuota); for a quota without an applied value Service Quotas answers
 * NoSuchResourceException and the AWS default applies (GetAWSDefaultServiceQuota),
 * https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html.
 */
async function lookUpQuota(sq: ServiceQuotasClient, q: Quota): Promise<QuotaLookup> {
    try {
        const out = await sq.send(new GetServiceQuotaCommand({ ServiceCode: q.service, QuotaCode: q.code }));
        if (typeof out.Quota?.Value === "number") return { kind: "value", value: out.Quota.Value, source: "applied" };
    } catch (err) {
        if (isAccessDenied(err)) return { kind: "denied" };
        if (errorName(err) !== "NoSuchResourceException") return { kind: "error", err };
    }
    try {
        const out = await sq.send(new GetAWSDefaultServiceQuotaCommand({ ServiceCode: q.service, QuotaCode: q.code }));
        if (typeof out.Quota?.Value === "number")
            return { kind: "value", value: out.Quota.Value, source: "AWS default" };
        return { kind: "error", err: new Error(`Service Quotas returned no value for ${q.code}`) };
    } catch (err) {
        return isAccessDenied(err) ? { kind: "denied" } : { kind: "error", err };
    }
}

/** The per-run clients, one per service and region. */
export class Clients {
    private readonly cache = new Map<string, unknown>();
    constructor(private readonly credentials: AwsCredentialIdentityProvider) {}
    private get<T>(key: string, make: () => T): T {
        if (!this.cache.has(key)) this.cache.set(key, make());
        return this.cache.get(key) as T;
    }
    private cfg = (region: string) => clientConfig(region, this.credentials);
    sts = (r: string) => this.get(`sts:${r}`, () => new STSClient(this.cfg(r)));
    quotas = (r: string) => this.get(`sq:${r}`, () => new ServiceQuotasClient(this.cfg(r)));
    ec2 = (r: string) => this.get(`ec2:${r}`, () => new EC2Client(this.cfg(r)));
    lambda = (r: string) => this.get(`lambda:${r}`, () => new LambdaClient(this.cfg(r)));
    // IAM is global; its endpoint is in us-east-1.
    iam = () => this.get("iam", () => new IAMClient(this.cfg("us-east-1")));
    acm = (r: string) => this.get(`acm:${r}`, () => new ACMClient(this.cfg(r)));
    apigateway = (r: string) => this.get(`apigw:${r}`, () => new APIGatewayClient(this.cfg(r)));
    secrets = (r: string) => this.get(`sm:${r}`, () => new SecretsManagerClient(this.cfg(r)));
    destroy(): void {
        for (const c of this.cache.values()) (c as { destroy(): void }).destroy();
    }
}

/** sts:GetCallerIdentity; throws what the SDK threw (the caller reports it). */
export async function callerIdentity(clients: Clients, region: string): Promise<Identity> {
    const out = await clients.sts(region).send(new GetCallerIdentityCommand({}));
    return { account: out.Account ?? "", arn: out.Arn ?? "" };
}

const PLACEHOLDER_ACCOUNT = "000000000000";
const accountOfArn = (arn: string): string => arn.split(":")[4] ?? "";

/** The account matches the stack file's allowed accounts and the accounts in the ARNs the config names. */
export function identityChecks(input: AccountInputs, identity: Identity, region: string): CheckResult[] {
    const results: CheckResult[] = [];
    const id = "identity";
    if (input.allowedAccountIds.length > 0 && !input.allowedAccountIds.includes(identity.account)) {
        results.push({
            id,
            region,
            status: "FAIL",
            message: `credentials are for account ${identity.account} (${identity.arn}); the stack file allows only ${input.allowedAccountIds.join(", ")}`,
            fix: `use credentials of account ${input.allowedAccountIds.join(" or ")} (AWS_PROFILE=<profile of that account>)`,
        });
    } else {
        results.push({ id, region, status: "PASS", message: `account ${identity.account}, principal ${identity.arn}` });
    }
    const named = [
        { key: "weatherCertificateArn", arn: input.certificateArn },
        ...input.secrets.map((s) => ({ key: s.key, arn: s.arn })),
    ];
    for (const { key, arn } of named) {
        const account = accountOfArn(arn);
        if (account === identity.account) continue;
        const placeholder = account === PLACEHOLDER_ACCOUNT;
        results.push({
            id: `identity.${key}`,
            region,
            status: placeholder || key === "weatherCertificateArn" ? "FAIL" : "WARN",
            message: placeholder
                ? `${key} is still the REPLACE-ME placeholder (${arn})`
                : `${key} names account ${account}, the credentials are for ${identity.account} (${arn})`,
            needed: `an ARN in account ${identity.account}`,
            fix: `pulumi config set ${key} <arn in account ${identity.account}> --stack ${input.stack}`,
        });
    }
    return results;
}

/** EC2 Spot / On-Demand standard vCPUs ≥ the compute environments' maxvCpus. */
async function ec2VcpuChecks(clients: Clients, req: RegionRequirements): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    const { region } = req;
    const nonStandard = req.instanceTypes.filter((t) => !STANDARD_FAMILY.test(t));
    if (nonStandard.length > 0) {
        results.push({
            id: "quota.ec2-instance-families",
            region,
            status: "WARN",
            message: `instance types ${nonStandard.join(", ")} are outside the Standard families; their vCPUs count against another quota this preflight does not check`,
            fix:
                `aws service-quotas list-service-quotas --service-code ec2 --region ${region} ` +
                "(find the family's quota)",
        });
    }
    const one = async (id: string, q: Quota, needed: number, what: string): Promise<CheckResult | undefined> => {
        if (needed <= 0) return undefined;
        const found = await lookUpQuota(clients.quotas(region), q);
        if (found.kind === "denied")
            return couldNotCheck(id, region, "servicequotas:GetServiceQuota", `${q.code} (${q.name})`);
        if (found.kind === "error") return failedCall(id, region, `${q.code} (${q.name})`, found.err);
        const ok = found.value >= needed;
        return {
            id,
            region,
            status: ok ? "PASS" : "FAIL",
            message: `${q.name} (${q.code}) is ${found.value} vCPUs (${found.source}); ${what} may reach ${needed}`,
            needed: `≥ ${needed} vCPUs`,
            fix: ok ? undefined : increaseCommand(q, region, needed),
        };
    };
    const checks = await Promise.all([
        one("quota.ec2-spot-vcpus", QUOTAS.spotVcpus, req.spotVcpus, "the Spot compute environment"),
        one("quota.ec2-ondemand-vcpus", QUOTAS.onDemandVcpus, req.onDemandVcpus, "the On-Demand compute environment"),
    ]);
    return [...results, ...checks.filter((c): c is CheckResult => c !== undefined)];
}

/** Fargate vCPUs ≥ max tasks × task vCPUs (FAIL), and the deployment peak (WARN). */
async function fargateCheck(clients: Clients, req: RegionRequirements): Promise<CheckResult[]> {
    const { region } = req;
    if (req.fargateVcpus <= 0) return [];
    const id = "quota.fargate-vcpus";
    const q = QUOTAS.fargateVcpus;
    const found = await lookUpQuota(clients.quotas(region), q);
    if (found.kind === "denied")
        return [couldNotCheck(id, region, "servicequotas:GetServiceQuota", `${q.code} (${q.name})`)];
    if (found.kind === "error") return [failedCall(id, region, `${q.code} (${q.name})`, found.err)];
    const base = `${q.name} (${q.code}) is ${found.value} vCPUs (${found.source})`;
    if (found.value < req.fargateVcpus) {
        return [
            {
                id,
                region,
                status: "FAIL",
                message: `${base}; the weather service at its maximum task count needs ${req.fargateVcpus}`,
                needed: `≥ ${req.fargateVcpus} vCPUs`,
                fix: increaseCommand(q, region, req.fargateDeployVcpus),
            },
        ];
    }
    if (found.value < req.fargateDeployVcpus) {
        return [
            {
                id,
                region,
                status: "WARN",
                message: `${base}; enough for the maximum task count (${req.fargateVcpus}) but not for a deployment at it (${req.fargateDeployVcpus}, deploymentMaximumPercent)`,
                needed: `≥ ${req.fargateDeployVcpus} vCPUs`,
                fix: increaseCommand(q, region, req.fargateDeployVcpus),
            },
        ];
    }
    return [{ id, region, status: "PASS", message: base, needed: `≥ ${req.fargateDeployVcpus} vCPUs` }];
}

/** Elastic IPs (one per NAT gateway): in use by others + planned ≤ quota. Falls back to vpc-max-elastic-ips. */
async function elasticIpCheck(clients: Clients, req: RegionRequirements): Promise<CheckResult[]> {
    const { region } = req;
    if (req.eips <= 0) return [];
    const id = "quota.elastic-ips";
    const q = QUOTAS.elasticIps;
    const ec2 = clients.ec2(region);
    const [quota, addresses] = await Promise.all([
        lookUpQuota(clients.quotas(region), q),
        ec2.send(new DescribeAddressesCommand({})).then(
            (out) => ({ ok: true as const, out }),
            (err: unknown) => ({ ok: false as const, err }),
        ),
    ]);
    let limit: number;
    let source: string;
    if (quota.kind === "value") {
        limit = quota.value;
        source = `${q.code}, ${quota.source}`;
    } else if (quota.kind === "denied") {
        // EC2's own answer: without AttributeNames, DescribeAccountAttributes lists every attribute, among them
        // vpc-max-elastic-ips (the SDK's AttributeNames enum only offers supported-platforms and default-vpc),
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeAccountAttributes.html.
        try {
            const out = await ec2.send(new DescribeAccountAttributesCommand({}));
            const attr = out.AccountAttributes?.find((a) => a.AttributeName === "vpc-max-elastic-ips");
            limit = Number(attr?.AttributeValues?.[0]?.AttributeValue);
            if (!Number.isFinite(limit)) throw new Error("DescribeAccountAttributes listed no vpc-max-elastic-ips");
            source = "vpc-max-elastic-ips";
        } catch (err) {
            if (isAccessDenied(err)) {
                return [
                    couldNotCheck(id, region, "servicequotas:GetServiceQuota or ec2:DescribeAccountAttributes", q.name),
                ];
            }
            return [failedCall(id, region, q.name, err)];
        }
    } else return [failedCall(id, region, q.name, quota.err)];
    if (!addresses.ok) {
        if (isAccessDenied(addresses.err))
            return [couldNotCheck(id, region, "ec2:DescribeAddresses", "Elastic IPs in use")];
        return [failedCall(id, region, "Elastic IPs in use", addresses.err)];
    }
    const ours = new Set(req.eipNames);
    const all = addresses.out.Addresses ?? [];
    const others = all.filter((a) => !ours.has(a.Tags?.find((t) => t.Key === "Name")?.Value ?? "")).length;
    const needed = others + req.eips;
    const ok = needed <= limit;
    return [
        {
            id,
            region,
            status: ok ? "PASS" : "FAIL",
            message: `${q.name} quota is ${limit} (${source}); ${others} allocated outside this stack, the stack allocates ${req.eips} (one per NAT gateway)`,
            needed: `≥ ${needed}`,
            fix: ok
                ? undefined
                : `${increaseCommand(q, region, needed)} (or release unused addresses: aws ec2 release-address --allocation-id <id> --region ${region})`,
        },
    ];
}

/** VPCs: existing (not this stack's) + planned ≤ VPCs per Region. */
async function vpcCheck(clients: Clients, req: RegionRequirements): Promise<CheckResult[]> {
    const { region } = req;
    if (req.vpcs <= 0) return [];
    const id = "quota.vpcs";
    const q = QUOTAS.vpcs;
    const [quota, vpcs] = await Promise.all([
        lookUpQuota(clients.quotas(region), q),
        clients
            .ec2(region)
            .send(new DescribeVpcsCommand({}))
            .then(
                (out) => ({ ok: true as const, out }),
                (err: unknown) => ({ ok: false as const, err }),
            ),
    ]);
    if (quota.kind === "denied")
        return [couldNotCheck(id, region, "servicequotas:GetServiceQuota", `${q.code} (${q.name})`)];
    if (quota.kind === "error") return [failedCall(id, region, q.name, quota.err)];
    if (!vpcs.ok) {
        if (isAccessDenied(vpcs.err)) return [couldNotCheck(id, region, "ec2:DescribeVpcs", "VPCs in use")];
        return [failedCall(id, region, "VPCs in use", vpcs.err)];
    }
    const ours = new Set(req.vpcNames);
    const others = (vpcs.out.Vpcs ?? []).filter(
        (v) => !ours.has(v.Tags?.find((t) => t.Key === "Name")?.Value ?? ""),
    ).length;
    const needed = others + req.vpcs;
    const ok = needed <= quota.value;
    return [
        {
            id,
            region,
            status: ok ? "PASS" : "FAIL",
            message: `${q.name} (${q.code}) is ${quota.value} (${quota.source}); ${others} exist outside this stack, the stack creates ${req.vpcs}`,
            needed: `≥ ${needed}`,
            fix: ok ? undefined : increaseCommand(q, region, needed),
        },
    ];
}

/** Lambda: the concurrency quota leaves ≥ 100 unreserved after the stack's reservations. */
async function lambdaCheck(clients: Clients, req: RegionRequirements): Promise<CheckResult[]> {
    const { region } = req;
    if (req.lambdaFunctions <= 0) return [];
    const id = "quota.lambda-concurrency";
    const q = QUOTAS.lambdaConcurrency;
    const needed = LAMBDA_UNRESERVED_MINIMUM + req.reservedConcurrency;
    const [quota, settings] = await Promise.all([
        lookUpQuota(clients.quotas(region), q),
        clients
            .lambda(region)
            .send(new GetAccountSettingsCommand({}))
            .then(
                (out) => ({ ok: true as const, out }),
                (err: unknown) => ({ ok: false as const, err }),
            ),
    ]);
    let limit: number | undefined;
    let source = "";
    if (quota.kind === "value") {
        limit = quota.value;
        source = `${q.code}, ${quota.source}`;
    } else if (settings.ok && typeof settings.out.AccountLimit?.ConcurrentExecutions === "number") {
        limit = settings.out.AccountLimit.ConcurrentExecutions;
        source = "lambda GetAccountSettings";
    }
    if (limit === undefined) {
        const errors = [quota.kind === "error" ? quota.err : undefined, settings.ok ? undefined : settings.err];
        const unexpected = errors.find((e) => e !== undefined && !isAccessDenied(e));
        if (unexpected !== undefined) return [failedCall(id, region, q.name, unexpected)];
        return [couldNotCheck(id, region, "servicequotas:GetServiceQuota or lambda:GetAccountSettings", q.name)];
    }
    const base = `${q.name} is ${limit} (${source}); the stack reserves ${req.reservedConcurrency} and Lambda keeps ${LAMBDA_UNRESERVED_MINIMUM} unreserved`;
    if (limit < needed) {
        return [
            {
                id,
                region,
                status: "FAIL",
                message: base,
                needed: `≥ ${needed}`,
                fix: `${increaseCommand(q, region, Math.max(needed, 1000))} (new accounts start lower; or lower formSenderDispatcherReservedConcurrency: pulumi config set formSenderDispatcherReservedConcurrency 0)`,
            },
        ];
    }
    const unreserved = settings.ok ? settings.out.AccountLimit?.UnreservedConcurrentExecutions : undefined;
    if (typeof unreserved === "number" && unreserved - req.reservedConcurrency < LAMBDA_UNRESERVED_MINIMUM) {
        return [
            {
                id,
                region,
                status: "WARN",
                message: `${base}; other functions already reserve some: ${unreserved} are unreserved now (this stack's own reservation counts there when it is already deployed)`,
                needed: `≥ ${needed} unreserved`,
                fix: `aws lambda list-functions --region ${region} (find reservations: aws lambda get-function-concurrency --function-name <name>) or ${increaseCommand(q, region, limit + needed)}`,
            },
        ];
    }
    return [{ id, region, status: "PASS", message: base, needed: `≥ ${needed}` }];
}

/** Service-linked roles the deploy relies on (iam:GetRole). */
async function linkedRoleChecks(clients: Clients, input: AccountInputs): Promise<CheckResult[]> {
    return Promise.all(
        input.requirements.linkedRoles.map(async (role): Promise<CheckResult> => {
            const id = `iam.service-linked-role.${role.roleName}`;
            const fix = `aws iam create-service-linked-role --aws-service-name ${role.serviceName}`;
            try {
                await clients.iam().send(new GetRoleCommand({ RoleName: role.roleName }));
                return { id, region: "global", status: "PASS", message: `${role.roleName} exists` };
            } catch (err) {
                if (isAccessDenied(err)) return couldNotCheck(id, "global", "iam:GetRole", role.roleName);
                if (errorName(err) !== "NoSuchEntityException" && errorName(err) !== "NoSuchEntity") {
                    return failedCall(id, "global", role.roleName, err);
                }
                return {
                    id,
                    region: "global",
                    status: role.createdOnFirstUse ? "WARN" : "FAIL",
                    message: role.createdOnFirstUse
                        ? `${role.roleName} does not exist; ${role.usedBy} creates it on first use only if the deploying principal may iam:CreateServiceLinkedRole`
                        : `${role.roleName} does not exist; ${role.usedBy} needs it and AWS does not create it for API callers`,
                    needed: role.roleName,
                    fix,
                };
            }
        }),
    );
}

/** API Gateway's account-level CloudWatch role, when stages log and this stack does not manage the setting. */
async function apiGatewayAccountChecks(clients: Clients, input: AccountInputs): Promise<CheckResult[]> {
    return Promise.all(
        input.requirements.apiGatewayAccountRegions.map(async (region): Promise<CheckResult> => {
            const id = "apigateway.cloudwatch-role";
            const fix =
                "set it once per account and region: pulumi config set formSenderManageApiGatewayAccount true " +
                `--stack ${input.stack} (in exactly one stack), or aws apigateway update-account --patch-operations ` +
                `op=replace,path=/cloudwatchRoleArn,value=<role arn trusted by apigateway.amazonaws.com> --region ${region}`;
            let roleArn: string | undefined;
            try {
                roleArn = (await clients.apigateway(region).send(new GetAccountCommand({}))).cloudwatchRoleArn;
            } catch (err) {
                if (isAccessDenied(err))
                    return couldNotCheck(
                        id,
                        region,
                        "apigateway:GET on arn:aws:apigateway:<region>::/account",
                        "the API Gateway account",
                    );
                return failedCall(id, region, "the API Gateway account", err);
            }
            if (!roleArn) {
                return {
                    id,
                    region,
                    status: "FAIL",
                    message:
                        "the API Gateway account has no CloudWatch Logs role; the stage's access logging fails " +
                        '("CloudWatch Logs role ARN must be set in account settings to enable logging") and this ' +
                        "stack does not manage the setting (formSenderManageApiGatewayAccount false)",
                    needed: "cloudwatchRoleArn set",
                    fix,
                };
            }
            const roleName = roleArn.slice(roleArn.lastIndexOf("/") + 1);
            try {
                await clients.iam().send(new GetRoleCommand({ RoleName: roleName }));
            } catch (err) {
                if (errorName(err) === "NoSuchEntityException" || errorName(err) === "NoSuchEntity") {
                    return {
                        id,
                        region,
                        status: "FAIL",
                        message: `the API Gateway account names CloudWatch role ${roleArn}, which does not exist`,
                        needed: "an existing role",
                        fix,
                    };
                }
                if (!isAccessDenied(err)) return failedCall(id, region, roleArn, err);
            }
            return { id, region, status: "PASS", message: `CloudWatch role ${roleArn} (managed outside this stack)` };
        }),
    );
}

/** The ALB certificate exists in the weather region and is ISSUED. */
async function certificateCheck(clients: Clients, input: AccountInputs): Promise<CheckResult> {
    const id = "acm.certificate";
    const region = input.weatherRegion;
    const arn = input.certificateArn;
    const fix =
        `request or import a certificate in ${region} (aws acm request-certificate --domain-name <name> ` +
        `--validation-method DNS --region ${region}), validate it, ` +
        `then pulumi config set weatherCertificateArn <arn> --stack ${input.stack}`;
    // The config reader already refuses a certificate of another region (components/config/weather.ts).
    try {
        const out = await clients.acm(region).send(new DescribeCertificateCommand({ CertificateArn: arn }));
        const c = out.Certificate;
        if (c?.Status === "ISSUED") {
            const until = c.NotAfter ? `, valid until ${c.NotAfter.toISOString().slice(0, 10)}` : "";
            return {
                id,
                region,
                status: "PASS",
                message: `${c.DomainName ?? arn} is ISSUED${until}`,
            };
        }
        const pending = c?.Status === "PENDING_VALIDATION";
        return {
            id,
            region,
            status: "FAIL",
            message: `${c?.DomainName ?? arn} is ${c?.Status ?? "in an unknown state"}; the HTTPS listener needs an ISSUED certificate`,
            needed: "ISSUED",
            fix: pending
                ? `create the DNS validation records: aws acm describe-certificate --certificate-arn ${arn} --region ${region} --query Certificate.DomainValidationOptions`
                : fix,
        };
    } catch (err) {
        if (isAccessDenied(err)) return couldNotCheck(id, region, "acm:DescribeCertificate", arn);
        if (errorName(err) === "ResourceNotFoundException" || errorName(err) === "InvalidArnException") {
            return {
                id,
                region,
                status: "FAIL",
                message: `${arn} does not exist in this account (${errorName(err)})`,
                needed: `a certificate in ${region}`,
                fix,
            };
        }
        return failedCall(id, region, arn, err);
    }
}

/** What DescribeSecret says of a secret; `unchecked` holds the check's result when the call could not say. */
export type SecretState =
    | { readonly kind: "missing" }
    | { readonly kind: "deleted"; readonly deletedDate: Date; readonly name: string | undefined }
    | { readonly kind: "present"; readonly hasCurrentValue: boolean }
    | { readonly kind: "unchecked"; readonly result: CheckResult };

/**
 * DescribeSecret of `secretId` for check `id`. SecretId takes the name or the ARN
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html); VersionIdsToStages lists
 * the versions, none with AWSCURRENT for a secret created without a value. No permission, or another error, is the
 * check's result (couldNotCheck, failedCall).
 */
export async function describeSecret(
    sm: SecretsManagerClient,
    id: string,
    region: string,
    secretId: string,
): Promise<SecretState> {
    try {
        const out = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
        if (out.DeletedDate) return { kind: "deleted", deletedDate: out.DeletedDate, name: out.Name };
        const stages = Object.values(out.VersionIdsToStages ?? {});
        return { kind: "present", hasCurrentValue: stages.some((s) => s.includes("AWSCURRENT")) };
    } catch (err) {
        if (isAccessDenied(err)) {
            return { kind: "unchecked", result: couldNotCheck(id, region, "secretsmanager:DescribeSecret", secretId) };
        }
        if (errorName(err) === "ResourceNotFoundException") return { kind: "missing" };
        return { kind: "unchecked", result: failedCall(id, region, secretId, err) };
    }
}

/** Every secret the configuration names by ARN: exists, not scheduled for deletion; optionally its JSON keys. */
async function secretChecks(clients: Clients, input: AccountInputs): Promise<CheckResult[]> {
    const results = await Promise.all(
        input.secrets.map(async ({ key, arn, fields }): Promise<CheckResult[]> => {
            const region = arn.split(":")[3] ?? input.syncRegion;
            const id = `secret.${key}`;
            const createFix = `aws secretsmanager create-secret --name <name> --secret-string <value> --region ${region}, then pulumi config set ${key} <its ARN> --stack ${input.stack}`;
            const sm = clients.secrets(region);
            const state = await describeSecret(sm, id, region, arn);
            if (state.kind === "unchecked") return [state.result];
            if (state.kind === "deleted") {
                return [
                    {
                        id,
                        region,
                        status: "FAIL",
                        message: `${state.name ?? arn} is scheduled for deletion (${state.deletedDate.toISOString()})`,
                        fix: `aws secretsmanager restore-secret --secret-id ${arn} --region ${region}`,
                    },
                ];
            }
            if (state.kind === "missing") {
                return [
                    {
                        id,
                        region,
                        status: "FAIL",
                        message: `${arn} does not exist in ${region}`,
                        needed: "an existing secret",
                        fix: createFix,
                    },
                ];
            }
            const exists: CheckResult = { id, region, status: "PASS", message: `${arn} exists` };
            const keysId = `${id}.keys`;
            if (!input.checkSecretKeys) {
                return [
                    exists,
                    {
                        id: keysId,
                        region,
                        status: "SKIP",
                        message: `its value is not read without --check-secret-keys (needs ${fields.map((f) => `"${f}"`).join(" or ")} when JSON)`,
                    },
                ];
            }
            try {
                const out = await sm.send(new GetSecretValueCommand({ SecretId: arn }));
                if (typeof out.SecretString !== "string" || out.SecretString === "") {
                    return [
                        exists,
                        {
                            id: keysId,
                            region,
                            status: "FAIL",
                            message: `${arn} has no SecretString (binary secrets are not read by the sync function)`,
                            fix: `aws secretsmanager put-secret-value --secret-id ${arn} --secret-string <value> --region ${region}`,
                        },
                    ];
                }
                // The reading code's own rule: a plain value, or JSON with one of `fields`. Its error names the keys
                // present, never a value.
                secretValue(arn, out.SecretString, fields);
                const trimmed = out.SecretString.trim();
                const shape = trimmed.startsWith("{")
                    ? `JSON with ${fields.find((f) => typeof (JSON.parse(trimmed) as Record<string, unknown>)[f] === "string") ?? fields[0]}`
                    : "a plain value";
                return [exists, { id: keysId, region, status: "PASS", message: `${arn} holds ${shape}` }];
            } catch (err) {
                if (isAccessDenied(err))
                    return [
                        exists,
                        couldNotCheck(keysId, region, "secretsmanager:GetSecretValue (and kms:Decrypt)", arn),
                    ];
                if (err instanceof Error && !("$metadata" in err)) {
                    return [
                        exists,
                        {
                            id: keysId,
                            region,
                            status: "FAIL",
                            message: err.message,
                            needed: fields.join(" or "),
                            fix: `aws secretsmanager put-secret-value --secret-id ${arn} --secret-string '{"${fields[0]}":"…"}' --region ${region}`,
                        },
                    ];
                }
                return [exists, failedCall(keysId, region, arn, err)];
            }
        }),
    );
    return results.flat();
}

/** The route table a subnet uses: its explicit association, else the VPC's main table. */
function routeTableOf(subnetId: string, tables: readonly RouteTable[]): RouteTable | undefined {
    return (
        tables.find((t) => t.Associations?.some((a) => a.SubnetId === subnetId)) ??
        tables.find((t) => t.Associations?.some((a) => a.Main === true))
    );
}

/** The sync function's subnets and security groups: exist, one VPC, a NAT route to the internet (YouTube API). */
async function syncNetworkChecks(clients: Clients, input: AccountInputs): Promise<CheckResult[]> {
    const region = input.syncRegion;
    const ec2 = clients.ec2(region);
    const id = "network.sync";
    const fixSubnets = `pulumi config set --path 'syncSubnetIds[0]' <private subnet of the RDS VPC> --stack ${input.stack} (edit the list in Pulumi.${input.stack}.yaml)`;
    let subnets;
    let groups;
    try {
        [subnets, groups] = await Promise.all([
            ec2.send(new DescribeSubnetsCommand({ SubnetIds: [...input.syncSubnetIds] })),
            ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [...input.syncSecurityGroupIds] })),
        ]);
    } catch (err) {
        if (isAccessDenied(err))
            return [
                couldNotCheck(id, region, "ec2:DescribeSubnets and ec2:DescribeSecurityGroups", "the sync network"),
            ];
        const name = errorName(err);
        if (
            name === "InvalidSubnetID.NotFound" ||
            name === "InvalidGroup.NotFound" ||
            name === "InvalidGroupId.Malformed" ||
            name === "InvalidSubnetID.Malformed"
        ) {
            const subnet = name.startsWith("InvalidSubnet");
            return [
                {
                    id,
                    region,
                    status: "FAIL",
                    message:
                        `${subnet ? "syncSubnetIds" : "syncSecurityGroupIds"}: ` +
                        `${(err as Error).message} (${name})`,
                    needed: subnet ? "existing subnets of the RDS VPC" : "an existing security group of the RDS VPC",
                    fix: subnet
                        ? fixSubnets
                        : "pulumi config set --path 'syncSecurityGroupIds[0]' <sg of the RDS VPC> " +
                          `--stack ${input.stack}`,
                },
            ];
        }
        return [failedCall(id, region, "the sync network", err)];
    }
    const vpcOf = new Map<string, string>();
    for (const s of subnets.Subnets ?? []) vpcOf.set(s.SubnetId ?? "", s.VpcId ?? "");
    for (const g of groups.SecurityGroups ?? []) vpcOf.set(g.GroupId ?? "", g.VpcId ?? "");
    const vpcs = [...new Set(vpcOf.values())];
    if (vpcs.length !== 1) {
        const placement = [...vpcOf].map(([k, v]) => `${k}→${v}`).join(", ");
        return [
            {
                id,
                region,
                status: "FAIL",
                message:
                    `the subnets and security groups are in ${vpcs.length} VPCs (${placement}); ` +
                    "Lambda takes them from one VPC",
                needed: "one VPC",
                fix: fixSubnets,
            },
        ];
    }
    const results: CheckResult[] = [
        {
            id,
            region,
            status: "PASS",
            message: `${input.syncSubnetIds.length} subnets and ${input.syncSecurityGroupIds.length} security groups, all in ${vpcs[0]}`,
        },
    ];
    let tables: RouteTable[];
    try {
        tables =
            (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: "vpc-id", Values: vpcs }] })))
                .RouteTables ?? [];
    } catch (err) {
        if (isAccessDenied(err))
            return [
                ...results,
                couldNotCheck(`${id}.internet`, region, "ec2:DescribeRouteTables", "the subnets' routes"),
            ];
        return [...results, failedCall(`${id}.internet`, region, "the subnets' routes", err)];
    }
    const problems: string[] = [];
    const unsure: string[] = [];
    for (const subnetId of input.syncSubnetIds) {
        const table = routeTableOf(subnetId, tables);
        const route = table?.Routes?.find((r) => r.DestinationCidrBlock === "0.0.0.0/0");
        if (!route) problems.push(`${subnetId} (${table?.RouteTableId ?? "no route table"}) has no default route`);
        else if (route.State === "blackhole")
            problems.push(`${subnetId}: the default route of ${table?.RouteTableId} is a blackhole`);
        else if (route.NatGatewayId) continue;
        else if (route.GatewayId?.startsWith("igw-")) {
            problems.push(
                `${subnetId} routes 0.0.0.0/0 to ${route.GatewayId}, an internet gateway; ` +
                    "a Lambda ENI has no public IP",
            );
        } else
            unsure.push(
                `${subnetId} routes 0.0.0.0/0 to ${route.TransitGatewayId ?? route.NetworkInterfaceId ?? route.InstanceId ?? route.GatewayId ?? "?"}`,
            );
    }
    const iid = `${id}.internet`;
    if (problems.length > 0) {
        results.push({
            id: iid,
            region,
            status: "FAIL",
            message: `the sync function will not reach the YouTube API: ${problems.join("; ")}`,
            needed: "a 0.0.0.0/0 route to a NAT gateway from each subnet",
            fix: `aws ec2 create-route --route-table-id <rtb> --destination-cidr-block 0.0.0.0/0 --nat-gateway-id <nat-…> --region ${region}, or ${fixSubnets}`,
        });
    } else if (unsure.length > 0) {
        results.push({
            id: iid,
            region,
            status: "WARN",
            message: `cannot tell whether these reach the internet: ${unsure.join("; ")}`,
            fix: "make sure that target forwards to a NAT (the YouTube API is on the internet)",
        });
    } else {
        results.push({
            id: iid,
            region,
            status: "PASS",
            message: "every subnet routes 0.0.0.0/0 through a NAT gateway (the YouTube API is reachable)",
        });
    }
    return results;
}

/** Every account check, concurrently. */
export async function accountChecks(clients: Clients, input: AccountInputs): Promise<CheckResult[]> {
    const perRegion = input.requirements.regions.flatMap((req) => [
        ec2VcpuChecks(clients, req),
        fargateCheck(clients, req),
        elasticIpCheck(clients, req),
        vpcCheck(clients, req),
        lambdaCheck(clients, req),
    ]);
    const all = await Promise.all([
        ...perRegion,
        linkedRoleChecks(clients, input),
        apiGatewayAccountChecks(clients, input),
        certificateCheck(clients, input).then((r) => [r]),
        secretChecks(clients, input),
        syncNetworkChecks(clients, input),
    ]);
    return all.flat();
}
