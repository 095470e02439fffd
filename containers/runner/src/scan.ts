/**
 * The in-page half of form filling: one `evaluate` per frame collects every form, field, label,
 * button, contact link and CAPTCHA marker, so the Node side decides without further round trips.
 *
 * `scanDocument` is serialised by Playwright and runs inside the page, so it must not reference
 * anything outside its own body.
 */
import type { DomControl, DomDocument, DomElement, DomNode, DomNodeConstants } from "./dom";
import type { FrameScan } from "./types";

declare const document: DomDocument;
declare const window: { readonly scrollX: number; readonly scrollY: number };
declare const Node: DomNodeConstants;
declare const CSS: { escape(value: string): string };
declare const location: { readonly href: string };

export interface ScanArgs {
    /** Longest document text returned (refusal and outcome detection read it). */
    readonly maxText: number;
    /** Source of the RegExp (flag "i") a link's text/href must match to count as a contact link. */
    readonly contactLinkPattern: string;
}

export function scanDocument(args: ScanArgs): FrameScan {
    const doc = document;
    const root = doc.documentElement;
    let nextId = Number(root.getAttribute("data-ops-next") ?? "1");
    const idOf = (el: DomElement, attr: string): number => {
        const existing = el.getAttribute(attr);
        if (existing !== null) {
            return Number(existing);
        }
        const id = nextId++;
        el.setAttribute(attr, String(id));
        return id;
    };
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
            const style = (el as DomElement).style;
            if (style && style.display === "none") {
                return;
            }
            for (const child of Array.from(n.childNodes)) {
                walk(child);
            }
        };
        walk(node);
        return clean(parts.join("")).slice(0, limit);
    };
    const CONTROL_SELECTOR =
        "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=image]):not([type=reset]), select, textarea";
    const isVisible = (el: DomElement): boolean => {
        if (!el.isConnected) {
            return false;
        }
        const anyEl = el as DomElement & { checkVisibility?: (o: object) => boolean };
        if (
            typeof anyEl.checkVisibility === "function" &&
            !anyEl.checkVisibility({ opacityProperty: true, visibilityProperty: true })
        ) {
            return false;
        }
        const r = el.getBoundingClientRect();
        if (r.width < 2 || r.height < 2) {
            return false;
        }
        const x = r.left + window.scrollX;
        const y = r.top + window.scrollY;
        return x + r.width > 0 && y + r.height > 0 && x < 20000;
    };
    const hasControls = (el: DomElement): boolean =>
        el.matches(CONTROL_SELECTOR) || el.querySelector(CONTROL_SELECTOR) !== null;

    /** The caption of the row a field sits in: table <th>, <dt>, small fieldset legend, or preceding text. */
    const captionOf = (
        el: DomElement,
        boundary: DomElement,
        ownLabels: DomElement[],
    ): { text: string; node: DomElement | null; inline: string } => {
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
    const HONEYPOT_NAME =
        /honey|hpot|trap|bot[-_]?(check|field|trap)|do[-_]?not[-_]?fill|leave[-_]?(this[-_]?)?(blank|empty)|spam[-_]?(check|field)/i;
    const HONEYPOT_LABEL =
        /(空欄|空白)のまま|入力しないで|記入しないで|leave (this )?(field )?(blank|empty)|do not fill|don't fill|if you are (a )?human/i;

    const describeField = (el: DomControl, boundary: DomElement, formKey: number) => {
        const tag = el.tagName.toLowerCase() as "input" | "select" | "textarea";
        const type = tag === "input" ? ((el as DomControl).type || "text").toLowerCase() : tag;
        const checkable = type === "checkbox" || type === "radio";
        const labels = Array.from((el as DomControl).labels ?? []);
        let own = labels
            .map((l) => textOf(l))
            .filter((t) => t)
            .join(" ");
        const labelledBy = el.getAttribute("aria-labelledby");
        if (labelledBy) {
            const t = labelledBy
                .split(/\s+/)
                .map((id) => textOf(doc.getElementById(id)))
                .filter((x) => x)
                .join(" ");
            own = clean(`${own} ${t}`);
        }
        const cap = captionOf(el, boundary, labels);
        // A checkbox's own label is its option text; a text field's inline text is its label.
        const label = clean(own || (checkable ? "" : cap.inline));
        let groupLabel = cap.text;
        if (!checkable && !own && cap.inline && !cap.text) {
            groupLabel = "";
        }
        let groupNode: DomElement | null = cap.node;
        if (!groupNode && labels.length > 0) {
            groupNode = labels[0];
        }
        const groupKey = groupNode
            ? `g${idOf(groupNode, "data-ops-gid")}`
            : `f${formKey}-${el.getAttribute("name") ?? ""}`;
        const visible = checkable ? isVisible(el) || labels.some((l) => isVisible(l)) : isVisible(el);
        const hints: string[] = [];
        if (!visible) {
            hints.push("invisible");
        }
        if (el.closest("[aria-hidden=true]")) {
            hints.push("aria-hidden");
        }
        const ident = `${el.getAttribute("name") ?? ""} ${el.id} ${el.className}`;
        if (HONEYPOT_NAME.test(ident)) {
            hints.push("name");
        }
        if (HONEYPOT_LABEL.test(`${label} ${groupLabel} ${el.getAttribute("placeholder") ?? ""}`)) {
            hints.push("label");
        }
        const options =
            tag === "select"
                ? Array.from((el as DomControl).options ?? []).map((o) => ({
                      value: o.value,
                      text: clean(o.text),
                      disabled: o.disabled,
                  }))
                : [];
        const maxAttr = el.getAttribute("maxlength");
        const readOnly = (el as DomControl).readOnly === true;
        return {
            fid: idOf(el, "data-ops-fid"),
            tag,
            type,
            name: el.getAttribute("name") ?? "",
            id: el.id,
            className: typeof el.className === "string" ? el.className : "",
            placeholder: el.getAttribute("placeholder") ?? "",
            autocomplete: (el.getAttribute("autocomplete") ?? "").toLowerCase(),
            ariaLabel: el.getAttribute("aria-label") ?? "",
            title: el.getAttribute("title") ?? "",
            label,
            groupLabel,
            groupKey,
            trailingText: trailingOf(el),
            required: el.required || el.getAttribute("aria-required") === "true",
            maxLength: maxAttr !== null && /^\d+$/.test(maxAttr) ? Number(maxAttr) : null,
            pattern: el.getAttribute("pattern") ?? "",
            inputMode: el.getAttribute("inputmode") ?? "",
            visible,
            editable: !el.disabled && !readOnly,
            value: (el as DomControl).value ?? "",
            checked: checkable ? (el as DomControl).checked : false,
            options,
            honeypotHints: hints,
        };
    };
    const BUTTON_SELECTOR =
        "button, input[type=submit], input[type=image], input[type=button], [role=button], a[onclick], a[href^='javascript']";
    const describeButton = (b: DomElement) => {
        const input = b as DomControl;
        const text =
            b.tagName === "INPUT"
                ? clean(
                      input.value ||
                          input.getAttribute("alt") ||
                          input.getAttribute("aria-label") ||
                          (input.type === "submit" ? "submit" : ""),
                  )
                : clean(textOf(b, 80) || b.getAttribute("aria-label") || b.getAttribute("title") || "");
        return {
            bid: idOf(b, "data-ops-bid"),
            text,
            type: (b.getAttribute("type") ?? (b.tagName === "BUTTON" ? "submit" : "")).toLowerCase(),
            tag: b.tagName.toLowerCase(),
            visible: isVisible(b),
        };
    };
    const headingBefore = (el: DomElement): string => {
        const all = Array.from(doc.querySelectorAll("h1,h2,h3,h4,legend,.title,.heading"));
        let found = "";
        for (const h of all) {
            if (h.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING || el.contains(h)) {
                if (!el.contains(h) || !found) {
                    found = textOf(h, 80);
                }
            }
        }
        return found;
    };

    const forms = [];
    for (const form of Array.from(doc.forms)) {
        const formId = idOf(form, "data-ops-form");
        const controls = Array.from(form.elements).filter((e) => e.matches(CONTROL_SELECTOR)) as Array<DomControl>;
        const fields = controls.map((c) => describeField(c, form, formId));
        const buttonEls = Array.from(form.querySelectorAll(BUTTON_SELECTOR));
        if (form.id) {
            buttonEls.push(
                ...Array.from(doc.querySelectorAll(`[form="${CSS.escape(form.id)}"]`)).filter((b) =>
                    b.matches(BUTTON_SELECTOR),
                ),
            );
        }
        forms.push({
            formId,
            pseudo: false,
            action: form.getAttribute("action") ?? "",
            method: (form.getAttribute("method") ?? "get").toLowerCase(),
            attrs: `${form.id} ${form.className} ${form.getAttribute("name") ?? ""}`,
            role: form.getAttribute("role") ?? "",
            text: textOf(form, 2000),
            heading: headingBefore(form),
            noValidate: form.noValidate,
            fields,
            buttons: buttonEls.map(describeButton),
        });
    }
    // Some sites build the form without a <form> element (JS-submitted): group the loose
    // controls of the document into one pseudo-form.
    const loose = Array.from(doc.querySelectorAll(CONTROL_SELECTOR)).filter(
        (c) => !(c as DomControl).form && !c.closest("form"),
    ) as Array<DomControl>;
    // Buttons outside any form matter too: single-page confirmation steps put 送信する there.
    const looseButtons = Array.from(doc.querySelectorAll(BUTTON_SELECTOR)).filter(
        (b) => !b.closest("form") && !(b as DomControl).form,
    );
    const body = doc.body;
    if (body && (loose.filter((c) => isVisible(c)).length >= 2 || looseButtons.some((b) => isVisible(b)))) {
        const formId = idOf(body, "data-ops-form");
        forms.push({
            formId,
            pseudo: true,
            action: "",
            method: "post",
            attrs: "",
            role: "",
            text: textOf(body, 2000),
            heading: "",
            noValidate: true,
            fields: loose.map((c) => describeField(c, body, formId)),
            buttons: looseButtons.map(describeButton),
        });
    }

    const contact = new RegExp(args.contactLinkPattern, "i");
    const links = [];
    for (const a of Array.from(doc.querySelectorAll("a[href], area[href]")) as Array<
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

    const captcha: string[] = [];
    const has = (sel: string) => doc.querySelector(sel) !== null;
    if (
        has(
            ".g-recaptcha, iframe[src*='recaptcha'], script[src*='recaptcha'], textarea[name='g-recaptcha-response'], input[name*='recaptcha' i]",
        )
    ) {
        captcha.push("recaptcha");
    }
    if (has(".h-captcha, iframe[src*='hcaptcha'], script[src*='hcaptcha'], textarea[name='h-captcha-response']")) {
        captcha.push("hcaptcha");
    }
    if (
        has(
            ".cf-turnstile, iframe[src*='challenges.cloudflare.com'], script[src*='turnstile'], input[name='cf-turnstile-response']",
        )
    ) {
        captcha.push("turnstile");
    }
    if (captcha.length === 0 && has("[data-sitekey]")) {
        captcha.push("captcha-widget");
    }
    if (has("img[src*='captcha' i], img[alt*='captcha' i], input[name*='captcha' i]:not([name*='recaptcha' i])")) {
        captcha.push("image-captcha");
    }

    root.setAttribute("data-ops-next", String(nextId));
    const bodyText = doc.body ? (doc.body.innerText ?? "") : "";
    return {
        url: location.href,
        title: doc.title,
        lang: (root.getAttribute("lang") ?? "").toLowerCase(),
        text: bodyText.slice(0, args.maxText),
        captcha,
        forms,
        links,
    };
}
