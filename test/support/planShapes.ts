/**
 * Shapes of plan inputs and of the JSON documents inside them, as the tests read them with
 * `plan.inputs<T>()` and `json<T>()`: the fields tests look at, typed as the offline plan holds
 * them (JSON documents are strings until parsed; secrets are "[secret]"). Nothing checks a plan
 * against these types; the tests' assertions do.
 */
import { CodeAssets } from "./lambdaArtifact";

/** An IAM policy document (`policy`, `assumeRolePolicy`), parsed. */
export interface PolicyDocument {
    readonly Version?: string;
    readonly Statement: PolicyStatement[];
}

export interface PolicyStatement {
    readonly Sid?: string;
    readonly Effect: string;
    readonly Action: string | string[];
    readonly Resource?: string | string[];
    readonly Principal?: Record<string, string | string[]>;
    readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** `aws:lambda/function:Function` inputs (a CallbackFunction's included). */
export interface LambdaFunctionInputs {
    readonly name: string;
    readonly role: string;
    readonly runtime: string;
    readonly handler?: string;
    readonly timeout: number;
    readonly memorySize: number;
    readonly code: CodeAssets;
    readonly environment?: { readonly variables?: Record<string, string> };
    readonly tracingConfig?: { readonly mode: string };
    readonly deadLetterConfig?: { readonly targetArn: string };
    readonly reservedConcurrentExecutions?: number;
    readonly vpcConfig?: { readonly subnetIds: string[]; readonly securityGroupIds: string[] };
}

/** One element of an ECS task definition's `containerDefinitions`, parsed. */
export interface ContainerDefinition {
    readonly name: string;
    readonly image: string;
    readonly essential?: boolean;
    readonly privileged?: boolean;
    readonly readonlyRootFilesystem?: boolean;
    readonly portMappings?: { readonly containerPort: number; readonly protocol?: string }[];
    readonly environment?: { readonly name: string; readonly value: string }[];
    readonly secrets?: { readonly name: string; readonly valueFrom: string }[];
    readonly mountPoints?: unknown[];
    readonly logConfiguration?: { readonly logDriver: string; readonly options: Record<string, string> };
    readonly linuxParameters?: { readonly initProcessEnabled?: boolean };
}
