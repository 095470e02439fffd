/**
 * The state of a fake AWS account that the loopback stand-ins in this directory serve (./server.ts). Each
 * service file answers its operations from this state in the service's real wire protocol; tests change the
 * state to produce each failing condition. Nothing here checks signatures beyond reading the access key id and
 * region from the SigV4 Authorization header, as AWS does before anything else.
 */

export interface FakeRouteTable {
    routeTableId: string;
    vpcId: string;
    /** The VPC's main route table (used by subnets without an explicit association). */
    main?: boolean;
    subnetIds: string[];
    routes: { destination: string; natGatewayId?: string; gatewayId?: string; state?: "active" | "blackhole" }[];
}

export interface FakeRegion {
    /** Applied quota values by `<serviceCode>/<quotaCode>` (GetServiceQuota). */
    appliedQuotas: Record<string, number>;
    /** AWS default values by `<serviceCode>/<quotaCode>` (GetAWSDefaultServiceQuota). */
    defaultQuotas: Record<string, number>;
    /** EC2 DescribeAccountAttributes values (e.g. vpc-max-elastic-ips). */
    accountAttributes: Record<string, string>;
    addresses: { allocationId: string; publicIp: string; name?: string }[];
    vpcs: { vpcId: string; name?: string }[];
    subnets: { subnetId: string; vpcId: string; availabilityZone: string }[];
    securityGroups: { groupId: string; vpcId: string; groupName: string }[];
    routeTables: FakeRouteTable[];
    /** Lambda GetAccountSettings. */
    lambda: { concurrentExecutions: number; unreservedConcurrentExecutions: number };
    /** API Gateway GetAccount's cloudwatchRoleArn (undefined: never set). */
    apiGatewayCloudwatchRoleArn?: string;
}

export interface FakeAccount {
    accountId: string;
    /** The caller's ARN (GetCallerIdentity). */
    callerArn: string;
    /** Access key ids STS accepts; any other answers InvalidClientTokenId. */
    accessKeyIds: string[];
    regions: Record<string, FakeRegion>;
    /** IAM role names that exist. */
    roles: string[];
    certificates: Record<string, { domainName: string; status: string; notAfter: Date }>;
    /** Secrets by ARN; `value` undefined: created without a value (no AWSCURRENT version). */
    secrets: Record<string, { name: string; value?: string; deletedDate?: Date }>;
    /** IAM actions the caller is denied, e.g. `servicequotas:GetServiceQuota`. */
    denied: string[];
    /** Every call as `<iam prefix>:<Operation>@<region>`, in order. */
    calls: string[];
}

export const emptyRegion = (): FakeRegion => ({
    appliedQuotas: {},
    defaultQuotas: {},
    accountAttributes: {},
    addresses: [],
    vpcs: [],
    subnets: [],
    securityGroups: [],
    routeTables: [],
    lambda: { concurrentExecutions: 1000, unreservedConcurrentExecutions: 1000 },
});

/** The region of the account the request's SigV4 scope names (created empty on first use). */
export function regionOf(account: FakeAccount, region: string): FakeRegion {
    return (account.regions[region] ??= emptyRegion());
}

export const xmlEscape = (s: string) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
