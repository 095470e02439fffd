/**
 * Scanner part: the text around a field that says what it is, when no <label> does: the row's
 * caption, the short text right before it ("姓", "〒") and right after it ("-", "円"). Runs inside
 * the page (see ../scan.ts): uses only its parameters and browser globals.
 */
import type { DomControl, DomElement, DomNode, DomNodeConstants } from "../dom";
import type { Layout } from "./layout";
import type { TextReader } from "./text";

declare const Node: DomNodeConstants;

export interface Caption {
    /** The row caption ("" when none). */
    readonly text: string;
    /** The element holding the caption, shared by the fields of one row. */
    readonly node: DomElement | null;
    /** Short text right before the field in its cell ("姓", "〒"). */
    readonly inline: string;
}

export interface CaptionReader {
    /**
     * The caption of the row `el` sits in, looked for no further out than `boundary` (its form):
     * table <th>, <dt>, small fieldset legend, or preceding text. `ownLabels` are not captions.
     */
    readonly captionOf: (el: DomElement, boundary: DomElement, ownLabels: DomElement[]) => Caption;
    /** Short text right after the field ("-", "（名）", "円"). */
    readonly trailingOf: (el: DomElement) => string;
}

export function makeCaptionReader(reader: TextReader, layout: Layout): CaptionReader {
    const { clean, textOf } = reader;
    const { CONTROL_SELECTOR, hasControls } = layout;

    const captionOf = (el: DomElement, boundary: DomElement, ownLabels: DomElement[]): Caption => {
        let inline = "";
        const td = el.closest("td");
        if (td && boundary.contains(td)) {
            const tr = td.parentElement;
            if (tr) {
                const cells: DomElement[] = Array.from(tr.children);
                const idx = cells.indexOf(td);
                const th = cells
                    .slice(0, idx)
                    .reverse()
                    .find((c) => c.tagName === "TH" || (c.tagName === "TD" && !hasControls(c) && textOf(c).length > 0));
                if (th) {
                    return { text: textOf(th), node: th, inline: inlineOf(el, td) };
                }
                const prevRow = tr.previousElementSibling;
                if (prevRow && Array.from(prevRow.children).every((c) => c.tagName === "TH")) {
                    const head = prevRow.children[Math.min(idx, prevRow.children.length - 1)];
                    if (head) {
                        return { text: textOf(head), node: head, inline: inlineOf(el, td) };
                    }
                }
            }
        }
        const dd = el.closest("dd");
        if (dd && boundary.contains(dd)) {
            let prev = dd.previousElementSibling;
            while (prev && prev.tagName !== "DT") {
                prev = prev.previousElementSibling;
            }
            if (prev) {
                return { text: textOf(prev), node: prev, inline: inlineOf(el, dd) };
            }
        }
        const fieldset = el.closest("fieldset");
        if (fieldset && boundary.contains(fieldset) && fieldset !== boundary) {
            const legend = fieldset.querySelector(":scope > legend");
            const controls = fieldset.querySelectorAll(CONTROL_SELECTOR).length;
            const checkableOnly = Array.from(fieldset.querySelectorAll(CONTROL_SELECTOR)).every((c) =>
                /^(radio|checkbox)$/.test((c as DomControl).type),
            );
            if (legend && (controls <= 3 || checkableOnly)) {
                return { text: textOf(legend), node: legend, inline: "" };
            }
        }
        // Generic layouts: climb a few levels, looking at preceding siblings that hold text but
        // no controls. The first text found next to the field is its inline label ("姓", "〒");
        // text found higher up, beside the field's wrapper, is the row caption ("お名前").
        let cur: DomElement = el;
        for (let level = 0; level < 5; level++) {
            const parent = cur.parentElement;
            if (!parent || cur === boundary) {
                break;
            }
            let sib: DomNode | null = cur.previousSibling;
            let steps = 0;
            let blocked = false;
            while (sib && steps < 6) {
                steps++;
                if (sib.nodeType === Node.TEXT_NODE) {
                    const t = clean(sib.nodeValue ?? "");
                    if (t) {
                        if (level === 0 && !inline) {
                            inline = t.slice(0, 40);
                            sib = sib.previousSibling;
                            continue;
                        }
                        return { text: t.slice(0, 120), node: parent, inline };
                    }
                } else if (sib.nodeType === Node.ELEMENT_NODE) {
                    const s = sib as DomElement;
                    if (hasControls(s)) {
                        blocked = true;
                        break;
                    }
                    if (!ownLabels.includes(s)) {
                        const t = textOf(s, 160);
                        if (t && t.length <= 120) {
                            if (level === 0 && !inline && t.length <= 40) {
                                inline = t;
                                sib = sib.previousSibling;
                                continue;
                            }
                            return { text: t, node: s, inline };
                        }
                    }
                }
                sib = sib.previousSibling;
            }
            if (parent === boundary) {
                break;
            }
            // Stop once the wrapper holds more than a row's worth of controls: above that is the form.
            if (parent.querySelectorAll(CONTROL_SELECTOR).length > 4) {
                break;
            }
            if (blocked && level > 0) {
                break;
            }
            cur = parent;
        }
        return { text: "", node: null, inline };
    };
    /** The nearest text before `el` inside its table cell or <dd>, "" when a control comes first. */
    const inlineOf = (el: DomElement, cell: DomElement): string => {
        let sib = el.previousSibling;
        while (sib && cell.contains(sib)) {
            if (sib.nodeType === Node.TEXT_NODE) {
                const t = clean(sib.nodeValue ?? "");
                if (t) {
                    return t.slice(0, 40);
                }
            } else if (sib.nodeType === Node.ELEMENT_NODE) {
                const s = sib as DomElement;
                if (hasControls(s)) {
                    return "";
                }
                const t = textOf(s, 60);
                if (t) {
                    return t.slice(0, 40);
                }
            }
            sib = sib.previousSibling;
        }
        return "";
    };
    const trailingOf = (el: DomElement): string => {
        let sib = el.nextSibling;
        let steps = 0;
        while (sib && steps < 3) {
            steps++;
            if (sib.nodeType === Node.TEXT_NODE) {
                const t = clean(sib.nodeValue ?? "");
                if (t) {
                    return t.slice(0, 20);
                }
            } else if (sib.nodeType === Node.ELEMENT_NODE) {
                if (hasControls(sib as DomElement)) {
                    return "";
                }
                const t = textOf(sib, 30);
                if (t) {
                    return t.slice(0, 20);
                }
            }
            sib = sib.nextSibling;
        }
        return "";
    };
    return { captionOf, trailingOf };
}
