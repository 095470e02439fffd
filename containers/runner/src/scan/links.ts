/**
 * Scanner part: links that lead to a contact page. Runs inside the page (see ../scan.ts): uses
 * only its parameters and browser globals.
 */
import type { DomDocument, DomElement } from "../dom";
import type { LinkInfo } from "../types";
import type { TextReader } from "./text";

declare const document: DomDocument;

/** At most 40 http(s) links whose text or URL matches `contactLinkPattern` (a RegExp source, flag "i"). */
export function collectContactLinks(contactLinkPattern: string, reader: TextReader): LinkInfo[] {
    const { clean, textOf } = reader;
    const contact = new RegExp(contactLinkPattern, "i");
    const links: LinkInfo[] = [];
    for (const a of Array.from(document.querySelectorAll("a[href], area[href]")) as Array<
        DomElement & { readonly href: string }
    >) {
        const text = clean(`${textOf(a, 80)} ${a.getAttribute("title") ?? ""} ${a.getAttribute("aria-label") ?? ""}`);
        const href = a.href;
        if (!/^https?:/i.test(href)) {
            continue;
        }
        if (contact.test(text) || contact.test(decodeURI(href))) {
            links.push({ text, href });
            if (links.length >= 40) {
                break;
            }
        }
    }
    return links;
}
