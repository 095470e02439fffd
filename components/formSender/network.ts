/**
 * Where the runners run: the given subnets, or a VPC of our own when none are given, and the
 * runners' security group (no inbound; HTTP and HTTPS out). The compute environments take the
 * subnets and the group from here.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { FormSenderConfig } from "../config/formSender";
import { buildVpc } from "../network";
import type { PartContext } from "./context";

export interface NetworkInput
    extends PartContext, Pick<FormSenderConfig, "subnetIds" | "vpcCidr" | "availabilityZones" | "networkMode"> {}

export interface RunnerNetwork {
    /** The given subnet ids, or the created VPC's public (networkMode `public`) or private subnets. */
    readonly subnetIds: pulumi.Input<string>[];
    readonly securityGroup: aws.ec2.SecurityGroup;
}

export function buildNetwork(input: NetworkInput): RunnerNetwork {
    const { name, prefix, parent } = input;
    let subnetIds: pulumi.Input<string>[] = input.subnetIds;
    let vpcId: pulumi.Input<string> | undefined;
    if (input.subnetIds.length === 0) {
        // public: runners get a public IPv4 each and no NAT per-GB charge; private: one NAT gateway.
        const net = buildVpc(
            name,
            {
                prefix,
                cidr: input.vpcCidr,
                availabilityZones: input.availabilityZones,
                natGateways: input.networkMode === "public" ? "none" : "single",
                mapPublicIpOnLaunch: input.networkMode === "public",
            },
            parent,
        );
        subnetIds = (input.networkMode === "public" ? net.publicSubnets : net.privateSubnets).map((s) => s.id);
        vpcId = net.vpc.id;
    }
    const securityGroup = new aws.ec2.SecurityGroup(
        `${name}-runner-sg`,
        {
            ...(vpcId ? { vpcId } : {}),
            description: "Form-sender runners: no inbound; HTTP(S) out to company sites, Supabase and AWS",
            tags: { Name: `${prefix}-runner` },
        },
        { parent },
    );
    for (const port of [80, 443]) {
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-runner-egress-${port}`,
            {
                securityGroupId: securityGroup.id,
                ipProtocol: "tcp",
                fromPort: port,
                toPort: port,
                cidrIpv4: "0.0.0.0/0",
                description: port === 443 ? "HTTPS to sites, Supabase, AWS APIs" : "HTTP company sites",
            },
            { parent },
        );
    }
    return { subnetIds, securityGroup };
}
