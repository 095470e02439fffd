/**
 * What a CallbackFunction's deployment package carries. By default Pulumi packages every
 * dependency in package.json (playwright, pg, Supabase, the whole AWS SDK…) into every function;
 * `lambdaCodePaths` keeps only the packages a function names, excluding the rest of package.json
 * (derived from it, so a dependency added later stays out of every bundle).
 *
 * The AWS SDK for JavaScript v3 clients are never packaged: the Lambda Node.js runtimes since
 * nodejs18.x include the SDK v3 at /var/runtime/node_modules on NODE_PATH
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html). They are most of a
 * bundle's size and cold-load time. What counts as provided is derived: every `@aws-sdk/client-*`
 * dependency of package.json and everything those clients pull in. Other `@aws-sdk/*` packages
 * (such as `@aws-sdk/s3-request-presigner`) are not guaranteed in the runtime, so a function that
 * uses one names it and it is packaged; its own dependencies that the clients already pull in
 * resolve to the runtime's copies. The functions only use long-stable API operations, so the
 * runtime's SDK version (which AWS updates) serves them; the artifact tests run each serialized
 * function against a runtime-like NODE_PATH holding the clients and their dependencies only.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

const PACKAGE_JSON = path.join(__dirname, "..", "package.json");

type Manifest = { dependencies?: Record<string, string> };

const readManifest = (nodeModules: string, pkg: string): Manifest | undefined => {
    const file = path.join(nodeModules, pkg, "package.json");
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Manifest) : undefined;
};

const isSdk = (pkg: string): boolean => pkg.startsWith("@aws-sdk/");
const isSdkClient = (pkg: string): boolean => pkg.startsWith("@aws-sdk/client-");

/** The packages the Lambda runtime provides: the SDK clients in `deps` and all they depend on. */
export function runtimeProvidedPackages(deps: readonly string[], nodeModules: string): Set<string> {
    const provided = new Set<string>();
    const visit = (pkg: string) => {
        if (provided.has(pkg)) return;
        provided.add(pkg);
        for (const dep of Object.keys(readManifest(nodeModules, pkg)?.dependencies ?? {})) visit(dep);
    };
    deps.filter(isSdkClient).forEach(visit);
    return provided;
}

/**
 * `codePathOptions` for the function `fn` that packages exactly `keep` (and what they depend
 * on, except what the runtime provides to an SDK package) out of package.json's dependencies.
 * Throws when `keep` names a package that is not a dependency, or one the runtime provides.
 */
export function lambdaCodePaths(
    fn: string,
    keep: readonly string[],
    packageJsonPath = PACKAGE_JSON,
    nodeModules = path.join(path.dirname(packageJsonPath), "node_modules"),
): pulumi.runtime.CodePathOptions {
    const deps = Object.keys((JSON.parse(fs.readFileSync(packageJsonPath, "utf8")) as Manifest).dependencies ?? {});
    const missing = keep.filter((p) => !deps.includes(p));
    if (missing.length > 0) {
        throw new Error(
            `${fn}: package.json has no dependency ${missing.join(", ")}, which the function needs; ` +
                "npm install --save-exact it",
        );
    }
    const provided = runtimeProvidedPackages(deps, nodeModules);
    const refused = keep.filter((p) => provided.has(p));
    if (refused.length > 0) {
        throw new Error(
            `${fn}: ${refused.join(", ")} come${refused.length === 1 ? "s" : ""} with the Lambda runtime; ` +
                `remove ${refused.length === 1 ? "it" : "them"} from the packaged list`,
        );
    }
    // What the bundle needs: the kept packages and their dependencies, except that an SDK
    // package's dependencies the runtime provides are left to the runtime. A non-SDK package
    // keeps all of its dependencies (tslib, say), whether or not the runtime happens to have them.
    const needed = new Set<string>();
    const visit = (pkg: string, fromSdk: boolean) => {
        if (needed.has(pkg) || (fromSdk && provided.has(pkg))) return;
        needed.add(pkg);
        for (const dep of Object.keys(readManifest(nodeModules, pkg)?.dependencies ?? {})) visit(dep, isSdk(pkg));
    };
    keep.forEach((p) => visit(p, false));
    // Pulumi excludes by name wherever a package appears in the dependency tree.
    const excluded = new Set([...deps.filter((d) => !keep.includes(d)), ...provided]);
    return { extraExcludePackages: [...excluded].filter((p) => !needed.has(p)).sort() };
}
