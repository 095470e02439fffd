/**
 * What a CallbackFunction's deployment package carries. By default Pulumi packages every
 * dependency in package.json (playwright, pg, Supabase, the whole AWS SDK…) into every function;
 * `lambdaCodePaths` keeps only the packages a function names, excluding the rest of package.json
 * (derived from it, so a dependency added later stays out of every bundle).
 *
 * The AWS SDK for JavaScript v3 (`@aws-sdk/*` and the `@smithy/*` packages under it) is never
 * packaged: the Lambda Node.js runtimes since nodejs18.x provide it at
 * /var/runtime/node_modules on NODE_PATH
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html). It is most of a bundle's
 * size and cold-load time. The functions only use long-stable API operations, so the runtime's
 * SDK version (which AWS updates) serves them; the artifact tests run each serialized function
 * against a runtime-like NODE_PATH that holds the SDK and nothing else.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

const PACKAGE_JSON = path.join(__dirname, "..", "package.json");

/** The package scope the Lambda runtime provides. */
const isRuntimeProvided = (pkg: string): boolean => pkg.startsWith("@aws-sdk/");

/**
 * `codePathOptions` for the function `fn` that packages exactly `keep` (and what they depend
 * on) out of package.json's dependencies. Throws when `keep` names a package that is not a
 * dependency, or one the runtime provides.
 */
export function lambdaCodePaths(fn: string, keep: readonly string[], packageJsonPath = PACKAGE_JSON): pulumi.runtime.CodePathOptions {
    const deps = Object.keys((JSON.parse(fs.readFileSync(packageJsonPath, "utf8")) as { dependencies?: Record<string, string> }).dependencies ?? {});
    const missing = keep.filter((p) => !deps.includes(p));
    if (missing.length > 0) {
        throw new Error(`${fn}: package.json has no dependency ${missing.join(", ")}, which the function needs; npm install --save-exact it`);
    }
    const provided = keep.filter(isRuntimeProvided);
    if (provided.length > 0) {
        throw new Error(`${fn}: ${provided.join(", ")} come${provided.length === 1 ? "s" : ""} with the Lambda runtime; remove ${provided.length === 1 ? "it" : "them"} from the packaged list`);
    }
    return { extraExcludePackages: deps.filter((d) => !keep.includes(d)) };
}
