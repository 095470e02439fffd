/**
 * The few DOM shapes the in-page functions (scan.ts and scan/, fill.ts evaluate callbacks) use.
 *
 * The repository compiles as a Node program without the "dom" lib, and a `/// <reference
 * lib="dom">` here would leak DOM globals into every other module of that program; so the
 * page-side code declares exactly what it touches, module-locally.
 */
export interface DomRect {
    readonly left: number;
    readonly top: number;
    readonly width: number;
    readonly height: number;
}

export interface DomNode {
    readonly nodeType: number;
    readonly nodeValue: string | null;
    readonly childNodes: ArrayLike<DomNode>;
    readonly previousSibling: DomNode | null;
    readonly nextSibling: DomNode | null;
    readonly parentElement: DomElement | null;
    contains(other: DomNode | null): boolean;
    compareDocumentPosition(other: DomNode): number;
    getRootNode(): DomNode;
}

/** An open shadow root (closed ones are invisible to page scripts, as to us). */
export interface DomShadowRoot extends DomNode {
    readonly host: DomElement;
    readonly children: ArrayLike<DomElement>;
    querySelector(selector: string): DomElement | null;
    querySelectorAll(selector: string): ArrayLike<DomElement>;
    getElementById(id: string): DomElement | null;
}

export interface DomElement extends DomNode {
    readonly tagName: string;
    readonly id: string;
    readonly className: string | object;
    readonly style?: { readonly display: string };
    readonly children: ArrayLike<DomElement>;
    readonly previousElementSibling: DomElement | null;
    readonly isConnected: boolean;
    readonly innerText: string;
    readonly shadowRoot?: DomShadowRoot | null;
    getAttribute(name: string): string | null;
    setAttribute(name: string, value: string): void;
    removeAttribute(name: string): void;
    closest(selector: string): DomElement | null;
    matches(selector: string): boolean;
    querySelector(selector: string): DomElement | null;
    querySelectorAll(selector: string): ArrayLike<DomElement>;
    getBoundingClientRect(): DomRect;
    getClientRects(): ArrayLike<DomRect>;
    checkVisibility?(options: object): boolean;
    click(): void;
    focus(options?: object): void;
    blur(): void;
    dispatchEvent(event: unknown): boolean;
}

export interface DomOption {
    readonly value: string;
    readonly text: string;
    readonly disabled: boolean;
}

/** input, select and textarea, with the members the scanner reads. */
export interface DomControl extends DomElement {
    /** An HTML element's class attribute is a string (only SVG elements have an object there). */
    readonly className: string;
    readonly type: string;
    value: string;
    checked: boolean;
    readonly required: boolean;
    readonly disabled: boolean;
    readonly readOnly?: boolean;
    readonly labels: ArrayLike<DomElement> | null;
    readonly form: DomForm | null;
    readonly options?: ArrayLike<DomOption>;
    readonly willValidate: boolean;
    readonly validationMessage: string;
    checkValidity(): boolean;
}

export interface DomForm extends DomElement {
    readonly className: string;
    readonly elements: ArrayLike<DomElement>;
    readonly noValidate: boolean;
    checkValidity(): boolean;
}

export interface DomDocument {
    readonly documentElement: DomElement;
    readonly body: DomElement | null;
    readonly forms: ArrayLike<DomForm>;
    readonly title: string;
    querySelector(selector: string): DomElement | null;
    querySelectorAll(selector: string): ArrayLike<DomElement>;
    getElementById(id: string): DomElement | null;
}

export interface DomNodeConstants {
    readonly TEXT_NODE: number;
    readonly ELEMENT_NODE: number;
    readonly DOCUMENT_POSITION_FOLLOWING: number;
    readonly DOCUMENT_FRAGMENT_NODE: number;
}

export type DomEventConstructor = new (type: string, init?: object) => unknown;
