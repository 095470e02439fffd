import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Trust policy letting one AWS service assume a role. */
export function assumeRolePolicy(service: string, conditions?: Record<string, unknown>): pulumi.Output<string> {
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Service: service },
                Action: "sts:AssumeRole",
                ...(conditions ? { Condition: conditions } : {}),
            },
        ],
    } satisfies aws.iam.PolicyDocument);
}

/** A policy document from typed statements. */
export function policyDocument(statements: aws.iam.PolicyStatement[]): pulumi.Output<string> {
    return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements } satisfies aws.iam.PolicyDocument);
}

/**
 * A role for `service` with one inline policy of `statements`. Returns the role and the policy
 * resource so users can `dependsOn` the policy (a role is usable before its policy exists).
 */
export function serviceRole(
    name: string,
    args: {
        service: string;
        statements: aws.iam.PolicyStatement[];
        description: string;
        conditions?: Record<string, unknown>;
    },
    parent: pulumi.Resource,
): { role: aws.iam.Role; policy: aws.iam.RolePolicy } {
    const role = new aws.iam.Role(
        name,
        { assumeRolePolicy: assumeRolePolicy(args.service, args.conditions), description: args.description },
        { parent },
    );
    const policy = new aws.iam.RolePolicy(name, { role: role.id, policy: policyDocument(args.statements) }, { parent });
    return { role, policy };
}
