/**
 * The GAS principal: the IAM user whose access key Google Apps Script signs its API calls with
 * (the key feeds GAS Script Properties). It may invoke the API's routes on this stage and
 * nothing else.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "../iam";
import { ROUTES } from "./api";
import type { Api } from "./api";
import type { PartContext } from "./context";

export interface GasPrincipalInput extends PartContext, Pick<Api, "api"> {}

export interface GasPrincipal {
    readonly user: aws.iam.User;
    readonly accessKey: aws.iam.AccessKey;
}

export function buildGasPrincipal(input: GasPrincipalInput): GasPrincipal {
    const { name, prefix, env, parent, api } = input;
    // Protected in prd: GAS Script Properties hold this user's key, so replacing either breaks GAS until they are
    // pasted again.
    const user = new aws.iam.User(
        `${name}-gas`,
        { name: `${prefix}-gas`, path: "/ops-platform/" },
        { parent, protect: input.protectStateful },
    );
    new aws.iam.UserPolicy(
        `${name}-gas`,
        {
            user: user.name,
            policy: policyDocument([
                {
                    Sid: "InvokeFormSenderApi",
                    Effect: "Allow",
                    Action: ["execute-api:Invoke"],
                    // A path parameter ({id}) matches any value: `*` in the execute-api ARN.
                    Resource: ROUTES.map((r) => {
                        const resourcePath = r.path.join("/").replace("{id}", "*");
                        return pulumi.interpolate`${api.executionArn}/${env}/${r.method}/${resourcePath}`;
                    }),
                },
            ]),
        },
        { parent },
    );
    const accessKey = new aws.iam.AccessKey(
        `${name}-gas`,
        { user: user.name },
        { parent, protect: input.protectStateful },
    );
    return { user, accessKey };
}
