/**
 * The EC2 describe calls of the preflight over the EC2 query protocol (Version 2016-11-15), XML answers in the
 * EC2 namespace; errors as `<Response><Errors><Error><Code>…` with UnauthorizedOperation (403) for a denied
 * caller and InvalidSubnetID.NotFound / InvalidGroup.NotFound (400) for unknown ids
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html, and each action's page:
 * API_DescribeAccountAttributes, API_DescribeAddresses, API_DescribeVpcs, API_DescribeSubnets,
 * API_DescribeSecurityGroups, API_DescribeRouteTables).
 */
import { FakeAccount, regionOf, xmlEscape } from "./account";
import { FakeRequest, ServiceHandler, xml } from "./server";

const NS = "http://ec2.amazonaws.com/doc/2016-11-15/";

const error = (status: number, code: string, message: string) =>
    xml(
        status,
        `<Response><Errors><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>fake-request</RequestID></Response>`,
    );

const answer = (action: string, inner: string) =>
    xml(200, `<${action}Response xmlns="${NS}"><requestId>fake-request</requestId>${inner}</${action}Response>`);

const tagSet = (name?: string) =>
    name === undefined ? "" : `<tagSet><item><key>Name</key><value>${xmlEscape(name)}</value></item></tagSet>`;

/** `<Prefix>.1`, `<Prefix>.2`, … (EC2's list encoding). */
const list = (form: URLSearchParams, prefix: string): string[] =>
    [...form.entries()].filter(([k]) => new RegExp(`^${prefix}\\.\\d+$`).test(k)).map(([, v]) => v);

/** `Filter.N.Name` / `Filter.N.Value.M`. */
function filters(form: URLSearchParams): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [k, v] of form.entries()) {
        const m = /^Filter\.(\d+)\.Name$/.exec(k);
        if (m) out.set(v, list(form, `Filter\\.${m[1]}\\.Value`));
    }
    return out;
}

type Action = (req: FakeRequest, account: FakeAccount) => ReturnType<ServiceHandler>;

const ACTIONS: Record<string, Action> = {
    DescribeAccountAttributes: (req, account) => {
        const attrs = regionOf(account, req.region).accountAttributes;
        const items = Object.entries(attrs)
            .map(
                ([name, value]) =>
                    `<item><attributeName>${name}</attributeName><attributeValueSet><item><attributeValue>${xmlEscape(value)}</attributeValue></item></attributeValueSet></item>`,
            )
            .join("");
        return answer("DescribeAccountAttributes", `<accountAttributeSet>${items}</accountAttributeSet>`);
    },
    DescribeAddresses: (req, account) => {
        const items = regionOf(account, req.region)
            .addresses.map(
                (a) =>
                    `<item><publicIp>${a.publicIp}</publicIp><allocationId>${a.allocationId}</allocationId><domain>vpc</domain>${tagSet(a.name)}</item>`,
            )
            .join("");
        return answer("DescribeAddresses", `<addressesSet>${items}</addressesSet>`);
    },
    DescribeVpcs: (req, account) => {
        const items = regionOf(account, req.region)
            .vpcs.map(
                (v) =>
                    `<item><vpcId>${v.vpcId}</vpcId><state>available</state><cidrBlock>10.0.0.0/16</cidrBlock>${tagSet(v.name)}</item>`,
            )
            .join("");
        return answer("DescribeVpcs", `<vpcSet>${items}</vpcSet>`);
    },
    DescribeSubnets: (req, account) => {
        const known = regionOf(account, req.region).subnets;
        const ids = list(req.form, "SubnetId");
        const missing = ids.filter((id) => !known.some((s) => s.subnetId === id));
        if (missing.length > 0)
            return error(400, "InvalidSubnetID.NotFound", `The subnet ID '${missing.join("', '")}' does not exist`);
        const items = known
            .filter((s) => ids.length === 0 || ids.includes(s.subnetId))
            .map(
                (s) =>
                    `<item><subnetId>${s.subnetId}</subnetId><state>available</state><vpcId>${s.vpcId}</vpcId><availabilityZone>${s.availabilityZone}</availabilityZone></item>`,
            )
            .join("");
        return answer("DescribeSubnets", `<subnetSet>${items}</subnetSet>`);
    },
    DescribeSecurityGroups: (req, account) => {
        const known = regionOf(account, req.region).securityGroups;
        const ids = list(req.form, "GroupId");
        const missing = ids.filter((id) => !known.some((g) => g.groupId === id));
        if (missing.length > 0)
            return error(400, "InvalidGroup.NotFound", `The security group '${missing.join("', '")}' does not exist`);
        const items = known
            .filter((g) => ids.length === 0 || ids.includes(g.groupId))
            .map(
                (g) =>
                    `<item><ownerId>${account.accountId}</ownerId><groupId>${g.groupId}</groupId><groupName>${xmlEscape(g.groupName)}</groupName><vpcId>${g.vpcId}</vpcId></item>`,
            )
            .join("");
        return answer("DescribeSecurityGroups", `<securityGroupInfo>${items}</securityGroupInfo>`);
    },
    DescribeRouteTables: (req, account) => {
        const vpcFilter = filters(req.form).get("vpc-id");
        const items = regionOf(account, req.region)
            .routeTables.filter((t) => !vpcFilter || vpcFilter.includes(t.vpcId))
            .map((t) => {
                const routes = t.routes
                    .map(
                        (r) =>
                            `<item><destinationCidrBlock>${r.destination}</destinationCidrBlock>${r.natGatewayId ? `<natGatewayId>${r.natGatewayId}</natGatewayId>` : ""}${r.gatewayId ? `<gatewayId>${r.gatewayId}</gatewayId>` : ""}<state>${r.state ?? "active"}</state><origin>CreateRoute</origin></item>`,
                    )
                    .join("");
                const assoc = [
                    ...(t.main
                        ? [
                              `<item><routeTableAssociationId>rtbassoc-main${t.routeTableId.slice(4)}</routeTableAssociationId><routeTableId>${t.routeTableId}</routeTableId><main>true</main></item>`,
                          ]
                        : []),
                    ...t.subnetIds.map(
                        (s, i) =>
                            `<item><routeTableAssociationId>rtbassoc-${i}${t.routeTableId.slice(4)}</routeTableAssociationId><routeTableId>${t.routeTableId}</routeTableId><subnetId>${s}</subnetId><main>false</main></item>`,
                    ),
                ].join("");
                return `<item><routeTableId>${t.routeTableId}</routeTableId><vpcId>${t.vpcId}</vpcId><routeSet>${routes}</routeSet><associationSet>${assoc}</associationSet></item>`;
            })
            .join("");
        return answer("DescribeRouteTables", `<routeTableSet>${items}</routeTableSet>`);
    },
};

export const handleEc2: ServiceHandler = (req, account) => {
    if (req.form.get("Version") !== "2016-11-15") return undefined;
    const action = req.form.get("Action") ?? "";
    account.calls.push(`ec2:${action}@${req.region}`);
    if (account.denied.includes(`ec2:${action}`)) {
        return error(403, "UnauthorizedOperation", "You are not authorized to perform this operation.");
    }
    const handle = ACTIONS[action];
    return handle
        ? handle(req, account)
        : error(400, "InvalidAction", `The action ${action} is not valid for this web service.`);
};
