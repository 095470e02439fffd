/**
 * Scanner part: the visible text of a node. Runs inside the page (see ../scan.ts): the factory
 * uses only its parameters and browser globals, and hands its functions out in the returned object.
 */
import type { DomElement, DomNode, DomNodeConstants } from "../dom";

declare const Node: DomNodeConstants;

export interface TextReader {
    /** Collapses runs of white space and trims. */
    readonly clean: (s: string) => string;
    /**
     * The text a reader sees in `node`: image alt texts included; scripts, hidden elements and
     * controls nested in it left out; open shadow roots read as what they render. At most `limit` characters.
     */
    readonly textOf: (node: DomNode | null, limit?: number) => string;
}

export function makeTextReader(): TextReader {
    const clean = (s: string): string => s.replace(/\s+/g, " ").trim();
    const SKIP_TEXT = new Set([
        "SCRIPT",
        "STYLE",
        "NOSCRIPT",
        "TEMPLATE",
        "SELECT",
        "OPTION",
        "TEXTAREA",
        "INPUT",
        "BUTTON",
    ]);
    const textOf = (node: DomNode | null, limit = 400): string => {
        if (!node) {
            return "";
        }
        const parts: string[] = [];
        let size = 0;
        const walk = (n: DomNode): void => {
            if (size > limit) {
                return;
            }
            if (n.nodeType === Node.TEXT_NODE) {
                const t = n.nodeValue ?? "";
                parts.push(t);
                size += t.length;
                return;
            }
            if (n.nodeType === Node.DOCUMENT_FRAGMENT_NODE) {
                // A shadow root handed in directly: its children are its text.
                for (const child of Array.from(n.childNodes)) {
                    walk(child);
                }
                return;
            }
            if (n.nodeType !== Node.ELEMENT_NODE) {
                return;
            }
            const el = n as DomElement;
            // Controls inside a label are not its text; a button asked for directly is.
            if (SKIP_TEXT.has(el.tagName) && n !== node) {
                return;
            }
            if (el.tagName === "IMG") {
                parts.push(` ${el.getAttribute("alt") ?? ""} `);
                return;
            }
            if (el.tagName === "BR") {
                parts.push(" ");
                return;
            }
            const style = el.style;
            if (style && style.display === "none") {
                return;
            }
            // A web component shows its open shadow root (its light children only through slots).
            const shadow = el.shadowRoot;
            for (const child of Array.from((shadow ?? n).childNodes)) {
                walk(child);
            }
        };
        walk(node);
        return clean(parts.join("")).slice(0, limit);
    };
    return { clean, textOf };
}
