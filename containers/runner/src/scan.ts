/**
 * The in-page half of form filling: one `evaluate` per frame collects every form, field, label,
 * button, contact link and CAPTCHA marker, so the Node side decides without further round trips.
 *
 * How the in-page script is built: Playwright does not run a function in the page, it sends its
 * source text (`String(fn)`) and evaluates that there. So the scanner is written as parts under
 * ./scan/, each an exported function that uses only its parameters and browser globals (never an
 * import, nor a constant of its module: those do not exist in the page), and that gets the other
 * parts it needs as parameters. `scanDocument` below wires them together, receiving the parts as
 * one object. `SCAN_FUNCTION_SOURCE` is the text
 *
 *     (args) => {
 *         const makeIdAllocator = function makeIdAllocator(root) { … };   // one per part
 *         …
 *         const scanDocument = function scanDocument(args, parts) { … };
 *         return scanDocument(args, { makeIdAllocator, … });
 *     }
 *
 * made from the compiled parts' `toString()` (ES2022 output, so no helper the compiler would add
 * outside a function). A string given to `frame.evaluate` is evaluated as an expression and never
 * called, and no argument reaches it (playwright-core sends `isFunction: false`), so
 * `scanExpression` appends the call with the arguments as a JSON literal: `(<source>)({...})`.
 * The parts are type-checked as ordinary TypeScript against the page shapes in dom.ts.
 */
import type { DomDocument } from "./dom";
import { makeButtonDescriber } from "./scan/buttons";
import { makeCaptionReader } from "./scan/caption";
import { findCaptchas } from "./scan/captcha";
import { makeDeep } from "./scan/deep";
import { makeFieldDescriber } from "./scan/fields";
import { collectForms } from "./scan/forms";
import { makeIdAllocator } from "./scan/ids";
import { makeLayout } from "./scan/layout";
import { collectContactLinks } from "./scan/links";
import { makeTextReader } from "./scan/text";
import type { FrameScan } from "./types";

declare const document: DomDocument;
declare const location: { readonly href: string };

export interface ScanArgs {
    /** Longest document text returned (refusal and outcome detection read it). */
    readonly maxText: number;
    /** Source of the RegExp (flag "i") a link's text/href must match to count as a contact link. */
    readonly contactLinkPattern: string;
}

/** Every part of the in-page script, under the name it has there. */
const SCAN_PARTS = {
    makeIdAllocator,
    makeDeep,
    makeTextReader,
    makeLayout,
    makeCaptionReader,
    makeFieldDescriber,
    makeButtonDescriber,
    collectForms,
    collectContactLinks,
    findCaptchas,
} as const;

export type ScanParts = typeof SCAN_PARTS;

/** Scans the document it runs in. In-page: uses only its parameters and browser globals. */
export function scanDocument(args: ScanArgs, parts: ScanParts): FrameScan {
    const root = document.documentElement;
    const ids = parts.makeIdAllocator(root);
    const reader = parts.makeTextReader();
    const layout = parts.makeLayout();
    const caption = parts.makeCaptionReader(reader, layout);
    const describeField = parts.makeFieldDescriber(ids, reader, layout, caption);
    const buttons = parts.makeButtonDescriber(ids, reader, layout);
    const deep = parts.makeDeep();

    const forms = parts.collectForms({ ids, reader, layout, describeField, buttons, deep });
    const links = parts.collectContactLinks(args.contactLinkPattern, reader);
    const captcha = parts.findCaptchas();

    ids.save();
    const bodyText = document.body ? (document.body.innerText ?? "") : "";
    // innerText stops at shadow roots: the text web components render is read from their roots.
    const shadowText = deep.shadowRoots
        .filter((sr) => !(sr.host.getRootNode() as { host?: unknown }).host)
        .map((sr) => reader.textOf(sr, 4000))
        .filter((t) => t)
        .join("\n");
    const imageText = [
        ...deep.all("img[alt], area[alt], input[type=image][alt]").map((el) => el.getAttribute("alt") ?? ""),
        ...deep.all("[title]:not(iframe):not(link):not(style)").map((el) => el.getAttribute("title") ?? ""),
    ]
        .map((t) => reader.clean(t))
        .filter((t) => t.length >= 4)
        .join("\n");
    return {
        url: location.href,
        title: document.title,
        lang: (root.getAttribute("lang") ?? "").toLowerCase(),
        text: `${bodyText}${shadowText ? `\n${shadowText}` : ""}`.slice(0, args.maxText),
        imageText: imageText.slice(0, 4000),
        captcha,
        forms,
        links,
    };
}

/** `(args) => FrameScan` as page-side source: every part, then `scanDocument` given all of them. */
const SCAN_FUNCTION_SOURCE = [
    "(args) => {",
    ...Object.entries(SCAN_PARTS).map(([name, part]) => `const ${name} = ${part.toString()};`),
    `const scanDocument = ${scanDocument.toString()};`,
    `return scanDocument(args, { ${Object.keys(SCAN_PARTS).join(", ")} });`,
    "}",
].join("\n");

/** The expression `frame.evaluate<FrameScan>` runs: the scanner called with `args` (JSON data only). */
export function scanExpression(args: ScanArgs): string {
    return `(${SCAN_FUNCTION_SOURCE})(${JSON.stringify(args)})`;
}
