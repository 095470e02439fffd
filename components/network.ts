import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * Splits an IPv4 CIDR into subnets four bits longer (16 per VPC): public subnets take the first
 * indices, private subnets start at index 8, one of each per AZ.
 */
export function subnetCidrs(vpcCidr: string, azCount: number): { publicCidrs: string[]; privateCidrs: string[] } {
    const [base, prefixText] = vpcCidr.split("/");
    const prefix = Number(prefixText);
    if (azCount < 1 || azCount > 8) throw new Error(`between 1 and 8 availability zones are supported, got ${azCount}`);
    const start = base.split(".").reduce((acc, o) => acc * 256 + Number(o), 0) >>> 0;
    const size = 2 ** (32 - prefix - 4);
    const toIp = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
    const cidr = (i: number) => `${toIp(start + i * size)}/${prefix + 4}`;
    return {
        publicCidrs: Array.from({ length: azCount }, (_, i) => cidr(i)),
        privateCidrs: Array.from({ length: azCount }, (_, i) => cidr(8 + i)),
    };
}

export interface VpcArgs {
    /** Physical-name prefix for Name tags. */
    readonly prefix: string;
    readonly cidr: string;
    readonly availabilityZones: string[];
    /** `none`: public subnets only; `single`: one NAT gateway for all private subnets; `perAz`: one per AZ. */
    readonly natGateways: "none" | "single" | "perAz";
    /** Whether instances in the public subnets get a public IPv4 address at launch. */
    readonly mapPublicIpOnLaunch: boolean;
}

export interface Vpc {
    readonly vpc: aws.ec2.Vpc;
    readonly internetGateway: aws.ec2.InternetGateway;
    readonly publicSubnets: aws.ec2.Subnet[];
    /** Empty when natGateways is `none`. */
    readonly privateSubnets: aws.ec2.Subnet[];
    readonly privateRouteTables: aws.ec2.RouteTable[];
}

/**
 * A VPC with a public subnet per AZ behind an internet gateway and, unless `natGateways` is
 * `none`, a private subnet per AZ routed through NAT. Child names (`<name>-vpc`,
 * `<name>-public-<az>`, `<name>-nat-<az>`, ...) are a contract: renaming one replaces it.
 */
export function buildVpc(name: string, args: VpcArgs, parent: pulumi.Resource): Vpc {
    const opts = { parent };
    const { prefix, availabilityZones: azs } = args;
    const vpc = new aws.ec2.Vpc(
        `${name}-vpc`,
        {
            cidrBlock: args.cidr,
            enableDnsHostnames: true, // EFS mount targets and endpoints resolve through VPC DNS
            enableDnsSupport: true,
            tags: { Name: `${prefix}-vpc` },
        },
        opts,
    );
    const internetGateway = new aws.ec2.InternetGateway(
        `${name}-igw`,
        { vpcId: vpc.id, tags: { Name: `${prefix}-igw` } },
        opts,
    );
    const { publicCidrs, privateCidrs } = subnetCidrs(args.cidr, azs.length);
    const publicRt = new aws.ec2.RouteTable(
        `${name}-public-rt`,
        { vpcId: vpc.id, tags: { Name: `${prefix}-public` } },
        opts,
    );
    new aws.ec2.Route(
        `${name}-public-default`,
        { routeTableId: publicRt.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: internetGateway.id },
        opts,
    );
    const publicSubnets = azs.map((az, i) => {
        const subnet = new aws.ec2.Subnet(
            `${name}-public-${az}`,
            {
                vpcId: vpc.id,
                availabilityZone: az,
                cidrBlock: publicCidrs[i],
                mapPublicIpOnLaunch: args.mapPublicIpOnLaunch,
                tags: { Name: `${prefix}-public-${az}`, Tier: "public" },
            },
            opts,
        );
        new aws.ec2.RouteTableAssociation(
            `${name}-public-${az}`,
            { subnetId: subnet.id, routeTableId: publicRt.id },
            opts,
        );
        return subnet;
    });
    if (args.natGateways === "none")
        return { vpc, internetGateway, publicSubnets, privateSubnets: [], privateRouteTables: [] };

    const natCount = args.natGateways === "perAz" ? azs.length : 1;
    const privateRouteTables = azs.slice(0, natCount).map((az, i) => {
        const eip = new aws.ec2.Eip(
            `${name}-nat-${az}`,
            { domain: "vpc", tags: { Name: `${prefix}-nat-${az}` } },
            opts,
        );
        const nat = new aws.ec2.NatGateway(
            `${name}-nat-${az}`,
            { allocationId: eip.id, subnetId: publicSubnets[i].id, tags: { Name: `${prefix}-nat-${az}` } },
            { parent, dependsOn: [internetGateway] },
        );
        const label = natCount === 1 ? "private" : `private-${az}`;
        const rt = new aws.ec2.RouteTable(
            `${name}-${label}-rt`,
            { vpcId: vpc.id, tags: { Name: `${prefix}-${label}` } },
            opts,
        );
        new aws.ec2.Route(
            `${name}-${label}-default`,
            { routeTableId: rt.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id },
            opts,
        );
        return rt;
    });
    const privateSubnets = azs.map((az, i) => {
        const subnet = new aws.ec2.Subnet(
            `${name}-private-${az}`,
            {
                vpcId: vpc.id,
                availabilityZone: az,
                cidrBlock: privateCidrs[i],
                mapPublicIpOnLaunch: false,
                tags: { Name: `${prefix}-private-${az}`, Tier: "private" },
            },
            opts,
        );
        new aws.ec2.RouteTableAssociation(
            `${name}-private-${az}`,
            { subnetId: subnet.id, routeTableId: privateRouteTables[Math.min(i, privateRouteTables.length - 1)].id },
            opts,
        );
        return subnet;
    });
    return { vpc, internetGateway, publicSubnets, privateSubnets, privateRouteTables };
}
