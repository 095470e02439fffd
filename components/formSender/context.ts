/**
 * What every part of FormSenderBatch receives: the names to derive its children's names from and
 * the component to parent them to. The parts live in their own files so the component reads as a
 * table of contents; this shared shape keeps their child names and parents exactly as before.
 */
import type * as pulumi from "@pulumi/pulumi";

export interface PartContext {
    /** The component's name; every child's logical name starts with it (a contract: renaming replaces). */
    readonly name: string;
    /** Physical-name prefix, `fs-<env>`. */
    readonly prefix: string;
    /** Stack environment (`stg`, `prd`). */
    readonly env: string;
    /** The FormSenderBatch component: the parent of every child a part creates. */
    readonly parent: pulumi.ComponentResource;
    /**
     * `protect` for the stateful children (client-config bucket, ECR repository, Supabase secrets, GAS user and key):
     * true in prd, so neither `pulumi destroy` nor a replacing change can delete them without an explicit unprotect.
     */
    readonly protectStateful: boolean;
}

/**
 * Days every form-sender log group keeps its events (functions, API access and execution logs, the runner): seed 000
 * §6 ("ログコスト": shorten CloudWatch Logs retention to 14 days).
 */
export const FORM_SENDER_LOG_RETENTION_DAYS = 14;
