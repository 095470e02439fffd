/**
 * Contract of every AWS operation the preflight calls, against the loopback stand-ins in test/support/aws: for each
 * one, its success answer and the error the preflight handles, each as the AWS API reference documents them (the
 * link is in the stand-in's header), decoded by the real SDK v3 client. A stand-in that drifts from the wire
 * format fails here before it can make a preflight test pass for the wrong reason.
 */
import { strict as assert } from "assert";
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
import { errorName, isAccessDenied } from "../../scripts/lib/preflight/aws";
import { FakeAccount } from "../support/aws/account";
import { FakeAws, startFakeAws } from "../support/aws/server";
import {
    ACCESS_KEY_ID,
    ACCOUNT,
    CERT_ARN,
    DB_SECRET_ARN,
    healthyAccount,
    RDS_VPC,
    SYNC_SG,
    SYNC_SUBNETS,
    WEATHER_REGION,
} from "../preflight/fixtures";

const US = "us-east-1";
const AP = WEATHER_REGION;

interface Row {
    operation: string;
    /** Changes to the healthy account before the call. */
    setup?: (a: FakeAccount) => void;
    /** Access key the client signs with (STS's invalid-token row). */
    accessKeyId?: string;
    call: (endpoint: string, accessKeyId: string) => Promise<unknown>;
    /** Success: checks on the decoded output. */
    ok?: (out: never) => void;
    /** Error: the SDK error name, and whether the preflight reads it as a missing permission. */
    error?: { name: string; accessDenied: boolean };
}

const cfg = (endpoint: string, region: string, accessKeyId: string) => ({
    endpoint,
    region,
    maxAttempts: 1,
    credentials: { accessKeyId, secretAccessKey: "fake-secret-access-key" },
});

const sq = (e: string, k: string, r = US) => new ServiceQuotasClient(cfg(e, r, k));
const ec2 = (e: string, k: string) => new EC2Client(cfg(e, AP, k));

const ROWS: Row[] = [
    {
        operation: "sts:GetCallerIdentity",
        call: (e, k) => new STSClient(cfg(e, US, k)).send(new GetCallerIdentityCommand({})),
        ok: (out: { Account?: string; Arn?: string }) => {
            assert.equal(out.Account, ACCOUNT);
            assert.match(out.Arn ?? "", /^arn:aws:sts::111122223333:assumed-role\//);
        },
    },
    {
        operation: "sts:GetCallerIdentity",
        accessKeyId: "AKIAUNKNOWNKEY000000",
        call: (e, k) => new STSClient(cfg(e, US, k)).send(new GetCallerIdentityCommand({})),
        error: { name: "InvalidClientTokenId", accessDenied: true },
    },
    {
        operation: "servicequotas:GetServiceQuota",
        call: (e, k) => sq(e, k).send(new GetServiceQuotaCommand({ ServiceCode: "ec2", QuotaCode: "L-34B43A08" })),
        ok: (out: { Quota?: { Value?: number; QuotaCode?: string } }) => {
            assert.equal(out.Quota?.Value, 64);
            assert.equal(out.Quota?.QuotaCode, "L-34B43A08");
        },
    },
    {
        operation: "servicequotas:GetServiceQuota",
        call: (e, k) => sq(e, k).send(new GetServiceQuotaCommand({ ServiceCode: "vpc", QuotaCode: "L-F678F1CE" })),
        error: { name: "NoSuchResourceException", accessDenied: false },
    },
    {
        operation: "servicequotas:GetAWSDefaultServiceQuota",
        call: (e, k) =>
            sq(e, k).send(new GetAWSDefaultServiceQuotaCommand({ ServiceCode: "vpc", QuotaCode: "L-F678F1CE" })),
        ok: (out: { Quota?: { Value?: number } }) => assert.equal(out.Quota?.Value, 5),
    },
    {
        operation: "servicequotas:GetAWSDefaultServiceQuota",
        setup: (a) => a.denied.push("servicequotas:GetAWSDefaultServiceQuota"),
        call: (e, k) =>
            sq(e, k).send(new GetAWSDefaultServiceQuotaCommand({ ServiceCode: "vpc", QuotaCode: "L-F678F1CE" })),
        error: { name: "AccessDeniedException", accessDenied: true },
    },
    {
        operation: "ec2:DescribeAccountAttributes",
        call: (e, k) => ec2(e, k).send(new DescribeAccountAttributesCommand({})),
        ok: (out: {
            AccountAttributes?: { AttributeName?: string; AttributeValues?: { AttributeValue?: string }[] }[];
        }) => {
            const a = out.AccountAttributes?.find((x) => x.AttributeName === "vpc-max-elastic-ips");
            assert.equal(a?.AttributeValues?.[0]?.AttributeValue, "5");
        },
    },
    {
        operation: "ec2:DescribeAccountAttributes",
        setup: (a) => a.denied.push("ec2:DescribeAccountAttributes"),
        call: (e, k) => ec2(e, k).send(new DescribeAccountAttributesCommand({})),
        error: { name: "UnauthorizedOperation", accessDenied: true },
    },
    {
        operation: "ec2:DescribeAddresses",
        call: (e, k) => ec2(e, k).send(new DescribeAddressesCommand({})),
        ok: (out: { Addresses?: { AllocationId?: string; Tags?: { Key?: string; Value?: string }[] }[] }) => {
            assert.equal(out.Addresses?.[0]?.AllocationId, "eipalloc-0rdsnat0000000001");
            assert.deepEqual(out.Addresses?.[0]?.Tags, [{ Key: "Name", Value: "rds-nat" }]);
        },
    },
    {
        operation: "ec2:DescribeAddresses",
        setup: (a) => a.denied.push("ec2:DescribeAddresses"),
        call: (e, k) => ec2(e, k).send(new DescribeAddressesCommand({})),
        error: { name: "UnauthorizedOperation", accessDenied: true },
    },
    {
        operation: "ec2:DescribeVpcs",
        call: (e, k) => ec2(e, k).send(new DescribeVpcsCommand({})),
        ok: (out: { Vpcs?: { VpcId?: string }[] }) =>
            assert.deepEqual(
                out.Vpcs?.map((v) => v.VpcId),
                [RDS_VPC],
            ),
    },
    {
        operation: "ec2:DescribeVpcs",
        setup: (a) => a.denied.push("ec2:DescribeVpcs"),
        call: (e, k) => ec2(e, k).send(new DescribeVpcsCommand({})),
        error: { name: "UnauthorizedOperation", accessDenied: true },
    },
    {
        operation: "ec2:DescribeSubnets",
        call: (e, k) => ec2(e, k).send(new DescribeSubnetsCommand({ SubnetIds: SYNC_SUBNETS })),
        ok: (out: { Subnets?: { SubnetId?: string; VpcId?: string }[] }) =>
            assert.deepEqual(
                out.Subnets?.map((s) => [s.SubnetId, s.VpcId]),
                SYNC_SUBNETS.map((s) => [s, RDS_VPC]),
            ),
    },
    {
        operation: "ec2:DescribeSubnets",
        call: (e, k) => ec2(e, k).send(new DescribeSubnetsCommand({ SubnetIds: ["subnet-0aaaaaaaaaaaaaaa9"] })),
        error: { name: "InvalidSubnetID.NotFound", accessDenied: false },
    },
    {
        operation: "ec2:DescribeSecurityGroups",
        call: (e, k) => ec2(e, k).send(new DescribeSecurityGroupsCommand({ GroupIds: [SYNC_SG] })),
        ok: (out: { SecurityGroups?: { GroupId?: string; VpcId?: string }[] }) =>
            assert.deepEqual(
                out.SecurityGroups?.map((g) => [g.GroupId, g.VpcId]),
                [[SYNC_SG, RDS_VPC]],
            ),
    },
    {
        operation: "ec2:DescribeSecurityGroups",
        call: (e, k) => ec2(e, k).send(new DescribeSecurityGroupsCommand({ GroupIds: ["sg-0aaaaaaaaaaaaaaa9"] })),
        error: { name: "InvalidGroup.NotFound", accessDenied: false },
    },
    {
        operation: "ec2:DescribeRouteTables",
        call: (e, k) =>
            ec2(e, k).send(new DescribeRouteTablesCommand({ Filters: [{ Name: "vpc-id", Values: [RDS_VPC] }] })),
        ok: (out: {
            RouteTables?: {
                Routes?: { DestinationCidrBlock?: string; NatGatewayId?: string }[];
                Associations?: { SubnetId?: string; Main?: boolean }[];
            }[];
        }) => {
            const [priv, main] = out.RouteTables ?? [];
            assert.equal(
                priv.Routes?.find((r) => r.DestinationCidrBlock === "0.0.0.0/0")?.NatGatewayId,
                "nat-0rds00000000000001",
            );
            assert.deepEqual(
                priv.Associations?.map((a) => a.SubnetId),
                SYNC_SUBNETS,
            );
            assert.equal(main.Associations?.[0]?.Main, true);
        },
    },
    {
        operation: "ec2:DescribeRouteTables",
        setup: (a) => a.denied.push("ec2:DescribeRouteTables"),
        call: (e, k) => ec2(e, k).send(new DescribeRouteTablesCommand({})),
        error: { name: "UnauthorizedOperation", accessDenied: true },
    },
    {
        operation: "lambda:GetAccountSettings",
        call: (e, k) => new LambdaClient(cfg(e, US, k)).send(new GetAccountSettingsCommand({})),
        ok: (out: { AccountLimit?: { ConcurrentExecutions?: number; UnreservedConcurrentExecutions?: number } }) => {
            assert.equal(out.AccountLimit?.ConcurrentExecutions, 1000);
            assert.equal(out.AccountLimit?.UnreservedConcurrentExecutions, 1000);
        },
    },
    {
        operation: "lambda:GetAccountSettings",
        setup: (a) => a.denied.push("lambda:GetAccountSettings"),
        call: (e, k) => new LambdaClient(cfg(e, US, k)).send(new GetAccountSettingsCommand({})),
        error: { name: "AccessDeniedException", accessDenied: true },
    },
    {
        operation: "iam:GetRole",
        call: (e, k) => new IAMClient(cfg(e, US, k)).send(new GetRoleCommand({ RoleName: "AWSServiceRoleForEC2Spot" })),
        ok: (out: { Role?: { Arn?: string; Path?: string } }) => {
            assert.equal(out.Role?.Arn, `arn:aws:iam::${ACCOUNT}:role/aws-service-role/AWSServiceRoleForEC2Spot`);
        },
    },
    {
        operation: "iam:GetRole",
        call: (e, k) => new IAMClient(cfg(e, US, k)).send(new GetRoleCommand({ RoleName: "NoSuchRole" })),
        error: { name: "NoSuchEntityException", accessDenied: false },
    },
    {
        operation: "apigateway:GET /account",
        call: (e, k) => new APIGatewayClient(cfg(e, US, k)).send(new GetAccountCommand({})),
        ok: (out: { cloudwatchRoleArn?: string }) =>
            assert.equal(out.cloudwatchRoleArn, `arn:aws:iam::${ACCOUNT}:role/apigw-cloudwatch`),
    },
    {
        operation: "apigateway:GET /account",
        setup: (a) => a.denied.push("apigateway:GET"),
        call: (e, k) => new APIGatewayClient(cfg(e, US, k)).send(new GetAccountCommand({})),
        error: { name: "AccessDeniedException", accessDenied: true },
    },
    {
        operation: "acm:DescribeCertificate",
        call: (e, k) => new ACMClient(cfg(e, AP, k)).send(new DescribeCertificateCommand({ CertificateArn: CERT_ARN })),
        ok: (out: { Certificate?: { Status?: string; NotAfter?: Date } }) => {
            assert.equal(out.Certificate?.Status, "ISSUED");
            assert.equal(out.Certificate?.NotAfter?.toISOString(), "2027-06-30T00:00:00.000Z");
        },
    },
    {
        operation: "acm:DescribeCertificate",
        setup: (a) => (a.certificates = {}),
        call: (e, k) => new ACMClient(cfg(e, AP, k)).send(new DescribeCertificateCommand({ CertificateArn: CERT_ARN })),
        error: { name: "ResourceNotFoundException", accessDenied: false },
    },
    {
        operation: "secretsmanager:DescribeSecret",
        setup: (a) => (a.secrets[DB_SECRET_ARN].deletedDate = new Date("2026-11-20T00:00:00Z")),
        call: (e, k) =>
            new SecretsManagerClient(cfg(e, AP, k)).send(new DescribeSecretCommand({ SecretId: DB_SECRET_ARN })),
        ok: (out: { Name?: string; DeletedDate?: Date }) => {
            assert.equal(out.Name, "rds-db-credentials/shirogane-stg");
            assert.equal(out.DeletedDate?.toISOString(), "2026-11-20T00:00:00.000Z");
        },
    },
    {
        operation: "secretsmanager:DescribeSecret",
        call: (e, k) =>
            new SecretsManagerClient(cfg(e, US, k)).send(new DescribeSecretCommand({ SecretId: DB_SECRET_ARN })),
        error: { name: "ResourceNotFoundException", accessDenied: false },
    },
    {
        operation: "secretsmanager:GetSecretValue",
        call: (e, k) =>
            new SecretsManagerClient(cfg(e, AP, k)).send(new GetSecretValueCommand({ SecretId: DB_SECRET_ARN })),
        ok: (out: { SecretString?: string }) => assert.match(out.SecretString ?? "", /"password"/),
    },
    {
        operation: "secretsmanager:GetSecretValue",
        setup: (a) => a.denied.push("secretsmanager:GetSecretValue"),
        call: (e, k) =>
            new SecretsManagerClient(cfg(e, AP, k)).send(new GetSecretValueCommand({ SecretId: DB_SECRET_ARN })),
        error: { name: "AccessDeniedException", accessDenied: true },
    },
];

describe("AWS operations of the preflight: stand-in answers decoded by the SDK", () => {
    let fake: FakeAws;
    const account = healthyAccount();
    const pristine = JSON.stringify(account);
    before(async () => {
        fake = await startFakeAws(account);
    });
    after(() => fake.close());

    for (const row of ROWS) {
        const what = row.ok ? "answers" : `fails with ${row.error?.name}`;
        it(`${row.operation} ${what}`, async () => {
            // Each row starts from the healthy account (dates survive as ISO strings, revived below).
            Object.assign(account, JSON.parse(pristine) as FakeAccount);
            for (const c of Object.values(account.certificates)) c.notAfter = new Date(c.notAfter);
            row.setup?.(account);
            const outcome = await row.call(fake.endpoint, row.accessKeyId ?? ACCESS_KEY_ID).then(
                (out) => ({ out }),
                (err: unknown) => ({ err }),
            );
            if (row.ok) {
                assert.ok("out" in outcome, `expected success, got ${String((outcome as { err: unknown }).err)}`);
                row.ok(outcome.out as never);
            } else {
                assert.ok("err" in outcome, "expected an error");
                assert.equal(errorName(outcome.err), row.error!.name);
                assert.equal(isAccessDenied(outcome.err), row.error!.accessDenied);
            }
        });
    }

    it("covers a success and an error row for every operation", () => {
        const ops = new Set(ROWS.map((r) => r.operation));
        for (const op of ops) {
            assert.ok(
                ROWS.some((r) => r.operation === op && r.ok),
                `${op} has no success row`,
            );
            assert.ok(
                ROWS.some((r) => r.operation === op && r.error),
                `${op} has no error row`,
            );
        }
        assert.equal(ops.size, 15);
    });
});
