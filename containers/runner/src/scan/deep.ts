/**
 * Scanner part: the document as a person sees it, open shadow roots included. Web components (design
 * systems, embedded widgets) render their forms inside shadow roots, where `document.querySelectorAll`
 * and `document.forms` do not reach (https://dom.spec.whatwg.org/#shadow-trees). Runs inside the page
 * (see ../scan.ts): uses only browser globals.
 */
import type { DomDocument, DomElement, DomNode, DomShadowRoot } from "../dom";

declare const document: DomDocument;

export interface Deep {
    /** Every open shadow root of the document, nested ones included, outermost first. */
    readonly shadowRoots: readonly DomShadowRoot[];
    /** Elements matching `selector` in `root` (the document by default) and in every shadow root below it. */
    readonly all: (selector: string, root?: DomElement) => DomElement[];
    /** The nearest ancestor matching `selector`, crossing shadow boundaries (host after shadow root). */
    readonly closest: (el: DomElement, selector: string) => DomElement | null;
}

export function makeDeep(): Deep {
    const shadowRoots: DomShadowRoot[] = [];
    const collect = (scope: { querySelectorAll(s: string): ArrayLike<DomElement> }) => {
        for (const el of Array.from(scope.querySelectorAll("*"))) {
            const sr = el.shadowRoot;
            if (sr) {
                shadowRoots.push(sr);
                collect(sr);
            }
        }
    };
    collect(document);
    const all = (selector: string, root?: DomElement): DomElement[] => {
        const out: DomElement[] = Array.from((root ?? document).querySelectorAll(selector));
        for (const sr of shadowRoots) {
            if (!root || root.contains(sr.host) || isInside(sr.host, root)) {
                out.push(...Array.from(sr.querySelectorAll(selector)));
            }
        }
        return out;
    };
    /** `el` lies in `root`'s subtree, through any number of shadow boundaries. */
    const isInside = (el: DomElement, root: DomElement): boolean => {
        let cur: DomElement | null = el;
        while (cur) {
            if (root.contains(cur)) return true;
            const top = cur.getRootNode() as DomNode & { host?: DomElement };
            cur = top.host ?? null;
        }
        return false;
    };
    const closest = (el: DomElement, selector: string): DomElement | null => {
        let cur: DomElement | null = el;
        while (cur) {
            const hit = cur.closest(selector);
            if (hit) return hit;
            const top = cur.getRootNode() as DomNode & { host?: DomElement };
            cur = top.host ?? null;
        }
        return null;
    };
    return { shadowRoots, all, closest };
}
