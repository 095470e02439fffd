import { strict as assert } from "assert";
import * as http from "http";
import type { AddressInfo } from "net";
import type { Browser } from "playwright-core";
import { launchBrowser } from "../../containers/runner/src/browser";
import { scanExpression } from "../../containers/runner/src/scan";
import type { FrameScan } from "../../containers/runner/src/types";

const PAGE = `<!doctype html><html lang="ja"><head><title>お問い合わせ</title></head><body>
<h2>お問い合わせフォーム</h2>
<form action="/send" method="post">
  <table>
    <tr><th>お名前</th><td><input name="sei"> <input name="mei"></td></tr>
    <tr><th><label for="mail">メールアドレス</label></th><td><input id="mail" type="email" name="email"></td></tr>
    <tr><th>内容</th><td><textarea name="body"></textarea></td></tr>
  </table>
  <button type="submit">確認画面へ</button>
</form>
<a href="/contact">お問い合わせ</a>
<div class="g-recaptcha" data-sitekey="x"></div>
</body></html>`;

// fill.ts swallows a frame whose scan throws (a frame may navigate mid-scan), so a part of the composed in-page
// script that refers to something outside itself would only show as "no form". This runs the composed script
// directly in Chromium, where such a reference throws.
describe("the composed in-page scanner", function () {
    this.timeout(60_000);
    let browser: Browser;
    let server: http.Server;
    let url: string;
    before(async () => {
        browser = await launchBrowser();
        server = http.createServer((_req, res) =>
            res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE),
        );
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    after(async () => {
        server?.close();
        await browser?.close();
    });

    it("runs in a real page and reports its form, fields, button, contact link and CAPTCHA", async () => {
        const page = await browser.newPage();
        try {
            await page.goto(url);
            const scan = await page.evaluate<FrameScan>(
                scanExpression({ maxText: 1000, contactLinkPattern: "お問い合わせ|contact" }),
            );
            assert.equal(scan.title, "お問い合わせ");
            assert.equal(scan.lang, "ja");
            assert.equal(scan.forms.length, 1);
            const [form] = scan.forms;
            assert.deepEqual(
                form.fields.map((f) => [f.tag, f.name]),
                [
                    ["input", "sei"],
                    ["input", "mei"],
                    ["input", "email"],
                    ["textarea", "body"],
                ],
            );
            assert.equal(form.fields[2].label, "メールアドレス");
            assert.equal(form.heading, "お問い合わせフォーム");
            assert.equal(form.buttons.length, 1);
            assert.ok(
                scan.links.some((l) => l.href.endsWith("/contact")),
                JSON.stringify(scan.links),
            );
            assert.deepEqual(scan.captcha, ["recaptcha"]);
            assert.ok(scan.text.length <= 1000);
        } finally {
            await page.close();
        }
    });

    it("reports an ARIA combobox as a select with its listbox's options, and a cookie notice's OK as consent", async () => {
        const page = await browser.newPage();
        try {
            await page.goto(url);
            await page.setContent(`<form action="/send" method="post">
  <span id="l">ご用件</span>
  <div role="combobox" aria-controls="lb" aria-expanded="false" aria-labelledby="l" aria-required="true">選択</div>
  <div role="listbox" id="lb" hidden><div role="option">採用</div><div role="option" data-value="p">営業・ご提案</div></div>
  <button type="button" role="combobox" aria-controls="gone" aria-labelledby="l">国</button>
  <textarea name="body"></textarea><button type="submit">送信する</button>
</form>
<div class="cookie-notice"><p>Cookie を使用しています</p><button type="button">OK</button></div>`);
            const scan = await page.evaluate<FrameScan>(scanExpression({ maxText: 1000, contactLinkPattern: "x" }));
            const form = scan.forms.find((f) => !f.pseudo);
            assert.ok(form);
            const combos = form.fields.filter((f) => f.ariaRole === "combobox");
            assert.equal(combos.length, 2);
            assert.equal(combos[0].tag, "select");
            assert.equal(combos[0].label, "ご用件");
            assert.equal(combos[0].required, true);
            assert.deepEqual(
                combos[0].options.map((o) => [o.value, o.text]),
                [
                    ["採用", "採用"],
                    ["p", "営業・ご提案"],
                ],
            );
            // A list rendered only while open has no options yet (fill.ts opens it to read them).
            assert.deepEqual(combos[1].options, []);
            // Comboboxes are fields, not buttons: only 送信する is the form's button.
            assert.deepEqual(
                form.buttons.map((b) => b.text),
                ["送信する"],
            );
            const notice = scan.forms.find((f) => f.pseudo)?.buttons.find((b) => b.text === "OK");
            assert.equal(notice?.consent, true);
            assert.equal(form.buttons[0].consent, false);
        } finally {
            await page.close();
        }
    });

    it("reports an editable combobox as a text field until fill.ts notes its options, then as a select", async () => {
        const page = await browser.newPage();
        try {
            await page.goto(url);
            await page.setContent(`<form action="/send" method="post">
  <label for="pref">都道府県</label>
  <input id="pref" role="combobox" aria-autocomplete="list" aria-expanded="false" required>
  <label for="co">会社名</label><input id="co" name="company" role="combobox" aria-autocomplete="list">
  <textarea name="body"></textarea><button type="submit">送信する</button>
</form>`);
            const scanForm = async () => {
                const scan = await page.evaluate<FrameScan>(scanExpression({ maxText: 1000, contactLinkPattern: "x" }));
                const form = scan.forms.find((f) => !f.pseudo);
                assert.ok(form);
                return form;
            };
            let form = await scanForm();
            assert.deepEqual(
                form.fields.map((f) => [f.tag, f.ariaRole, f.comboInput, f.label]),
                [
                    ["input", undefined, true, "都道府県"],
                    ["input", undefined, true, "会社名"],
                    ["textarea", undefined, undefined, ""],
                ],
            );
            // What fill.ts's discoverComboOptions writes after opening the list.
            const noted = JSON.stringify([{ value: "東京都", text: "東京都", disabled: false }]);
            await page.evaluate(
                `document.getElementById("pref").setAttribute("data-ops-options", ${JSON.stringify(noted)})`,
            );
            form = await scanForm();
            const pref = form.fields[0];
            assert.deepEqual(
                [pref.tag, pref.ariaRole, pref.comboInput, pref.required, pref.label],
                ["select", "combobox", true, true, "都道府県"],
            );
            assert.deepEqual(pref.options, [{ value: "東京都", text: "東京都", disabled: false }]);
            assert.equal(form.fields[1].tag, "input");
        } finally {
            await page.close();
        }
    });

    it("throws in the page when a part depends on anything outside the script", async () => {
        const page = await browser.newPage();
        try {
            await page.goto(url);
            const broken = scanExpression({ maxText: 1000, contactLinkPattern: "x" }).replace(
                /(const makeIdAllocator = function makeIdAllocator\([^)]*\)\s*\{)/,
                "$1 void SOME_MODULE_CONSTANT;",
            );
            assert.notEqual(broken, scanExpression({ maxText: 1000, contactLinkPattern: "x" }));
            await assert.rejects(page.evaluate(broken), /SOME_MODULE_CONSTANT is not defined/);
        } finally {
            await page.close();
        }
    });
});
