/**
 * Image tags derived from what goes into an image, for ECR repositories with immutable tags.
 *
 * awsx.ecr.Image tags an image `<sha1(context, dockerfile, args, stack)>-container` unless given `imageTag`
 * (pulumi/pulumi-awsx awsx/ecr/image.ts `createUniqueImageName`): a hash of paths, not content, so a rebuild of
 * changed content pushes to the same tag, which an IMMUTABLE repository rejects ("tag invalid: The image tag … already
 * exists … and cannot be overwritten"). A tag from the content changes exactly when the content does. Hashing more
 * than the build sends only costs an extra push; hashing less would reuse a tag for new content, so when in doubt a
 * path is included.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/** ECR lifecycle policy of every repository here: untagged images (superseded builds) expire after 7 days. */
export const EXPIRE_UNTAGGED_IMAGES_POLICY = JSON.stringify({
    rules: [
        {
            rulePriority: 1,
            description: "Expire untagged images after 7 days",
            selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 7 },
            action: { type: "expire" },
        },
    ],
});

/** Directories never part of an image's build input (version-control metadata). */
const NEVER_CONTENT = new Set([".git"]);

function filesUnder(root: string, rel: string, out: string[]): void {
    const full = path.join(root, rel);
    const stat = fs.statSync(full);
    if (stat.isDirectory()) {
        for (const name of fs.readdirSync(full).sort()) {
            if (!NEVER_CONTENT.has(name)) filesUnder(root, path.posix.join(rel, name), out);
        }
    } else if (stat.isFile()) {
        out.push(rel);
    }
}

export interface ContentTagInput {
    /** Build context directory. */
    readonly root: string;
    /** Paths inside `root` (files or directories) whose content makes the image; `["."]` for all of it. */
    readonly paths: readonly string[];
    /** Further inputs of the build: the Dockerfile text, build arguments, platform. */
    readonly extra: Readonly<Record<string, string>>;
}

/**
 * `content-<20 hex>`: SHA-256 over every file's relative path and bytes under `paths`, then `extra` by key. Throws
 * with the missing path when one does not exist, since a build would fail on it anyway.
 */
export function contentTag(input: ContentTagInput): string {
    const files: string[] = [];
    for (const p of [...input.paths].sort()) {
        const rel = path.posix.normalize(p.replace(/\/+$/, "") || ".");
        if (!fs.existsSync(path.join(input.root, rel))) {
            throw new Error(`image content: ${path.join(input.root, rel)} does not exist`);
        }
        filesUnder(input.root, rel, files);
    }
    const hash = createHash("sha256");
    for (const rel of [...new Set(files)].sort()) {
        hash.update(`file\0${rel}\0`)
            .update(fs.readFileSync(path.join(input.root, rel)))
            .update("\0");
    }
    for (const key of Object.keys(input.extra).sort()) hash.update(`extra\0${key}\0${input.extra[key]}\0`);
    return `content-${hash.digest("hex").slice(0, 20)}`;
}

/**
 * Sources of a Dockerfile's `COPY`/`ADD` instructions that read the build context (not `--from` another stage),
 * in the order they appear: exactly the context paths the image is made of.
 */
export function dockerfileContextSources(dockerfile: string): string[] {
    const sources: string[] = [];
    const logical = dockerfile.replace(/\\\r?\n/g, " ").split(/\r?\n/);
    for (const line of logical) {
        const m = /^\s*(COPY|ADD)\s+(.*)$/i.exec(line);
        if (!m) continue;
        const words = m[2].trim().split(/\s+/);
        if (words.some((w) => w.startsWith("--from="))) continue;
        const args = words.filter((w) => !w.startsWith("--"));
        sources.push(...args.slice(0, -1));
    }
    return sources;
}
