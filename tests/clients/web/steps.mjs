// Drive one page of the frequency browser in an already running Chromium (started by
// tests/support/web_harness.py with the project's flags) over the DevTools protocol, using
// playwright-core, which never downloads a browser. Requests that would leave this machine are
// refused and reported (the browser must work offline).
//
// Job on stdin (JSON): {cdpEndpoint, viewport, steps: [...], timeoutMs}
// Steps, run in order; each may add to the results list (one entry per step, null when silent):
//   {goto: url}                      load a URL; waits for the page's data-state to settle
//   {fill: selector, text}           type into a field (as keystrokes)
//   {press: key}                     press a key in the focused element
//   {click: selector}                click; then waits for the page to settle
//   {waitFor: selector}              until the selector is visible
//   {waitForUrl: text}               until the page's URL contains text, then settled
//   {settle: true}                   until body[data-state] is ready or error
//   {evaluate: "expression"}         the value of a JavaScript expression in the page
//   {text: selector}                 the text of every match
//   {cells: tableSelector}           the rows of a table as lists of cell texts (tbody)
//   {download: selector}             click and return the text of the file downloaded
//   {screenshot: path}               a full-page PNG
//   {axe: true}                      run axe-core (WCAG 2.x A and AA rules); its violations
//   {timing: url}                    load url cold; time to first render and to interactive
// Writes one JSON object on stdout: {results, console, pageErrors, offMachine, browserVersion}.
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {chromium} from 'playwright-core';
import {isLocal, readStdin} from '../harness_io.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

async function settle(page, timeout) {
    await page.waitForFunction(() => ['ready', 'error'].includes(document.body && document.body.dataset.state),
        null, {timeout});
}

async function run(page, step, timeout) {
    if (step.goto) {
        await page.goto(step.goto, {waitUntil: 'load', timeout});
        await settle(page, timeout);
        return {status: 'loaded', url: page.url()};
    }
    if (step.fill) {
        await page.click(step.fill);
        await page.keyboard.type(step.text, {delay: 20});
        return null;
    }
    if (step.press) {
        await page.keyboard.press(step.press);
        return null;
    }
    if (step.click) {
        await page.click(step.click);
        await page.waitForLoadState('load');
        await settle(page, timeout);
        return null;
    }
    if (step.waitForUrl) {
        await page.waitForURL(url => url.href.includes(step.waitForUrl), {timeout});
        await page.waitForLoadState('load');
        await settle(page, timeout);
        return {url: page.url()};
    }
    if (step.waitFor) {
        await page.waitForSelector(step.waitFor, {state: 'visible', timeout});
        return null;
    }
    if (step.settle) {
        await page.waitForLoadState('load');
        await settle(page, timeout);
        return {url: page.url()};
    }
    if (step.evaluate) {  // a page's promise may never settle: never wait past the job's timeout
        let timer;
        const late = new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`evaluate did not settle in ${timeout} ms`)), timeout);
        });
        try {
            return await Promise.race([page.evaluate(step.evaluate), late]);
        } finally {
            clearTimeout(timer);
        }
    }
    if (step.text) return page.$$eval(step.text, nodes => nodes.map(n => n.textContent.trim()));
    if (step.cells) {
        return page.$$eval(`${step.cells} tbody tr`, rows => rows.map(r => [...r.children].map(c => c.textContent.trim())));
    }
    if (step.download) {
        const [download] = await Promise.all([page.waitForEvent('download', {timeout}), page.click(step.download)]);
        const path = await download.path();
        return {name: download.suggestedFilename(), text: readFileSync(path, 'utf8')};
    }
    if (step.screenshot) {
        await page.screenshot({path: step.screenshot, fullPage: true});
        return {path: step.screenshot};
    }
    if (step.axe) {
        // evaluated over the DevTools protocol: the page's Content-Security-Policy forbids
        // inline scripts, and rightly so
        await page.evaluate(AXE);
        return page.evaluate(async () => {
            const result = await window.axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        });
    }
    if (step.timing) {
        const started = Date.now();
        await page.goto(step.timing, {waitUntil: 'load', timeout});
        await settle(page, timeout);
        const wall = Date.now() - started;
        return page.evaluate(wallMs => {
            const mark = name => {
                const entries = performance.getEntriesByName(name);
                return entries.length ? entries[0].startTime : null;
            };
            const rows = window.gdiBrowser && window.gdiBrowser.rows ? window.gdiBrowser.rows.length : 0;
            return {firstRenderMs: mark('gdi:first-render'), interactiveMs: mark('gdi:interactive'), wallMs, rows};
        }, wall);
    }
    throw new Error(`unknown step ${JSON.stringify(step)}`);
}

async function main() {
    const job = JSON.parse(await readStdin());
    const timeout = job.timeoutMs || 30000;
    const browser = await chromium.connectOverCDP(job.cdpEndpoint, {timeout: 30000});
    const out = {browserVersion: browser.version(), results: [], console: [], pageErrors: [], offMachine: []};
    try {
        const context = await browser.newContext({viewport: job.viewport, acceptDownloads: true, locale: job.locale || 'en-GB'});
        await context.route('**/*', route => {
            const url = route.request().url();
            if (isLocal(url)) return route.continue();
            out.offMachine.push(url);
            return route.abort('blockedbyclient');
        });
        const page = await context.newPage();
        page.on('console', m => out.console.push({type: m.type(), text: m.text()}));
        page.on('pageerror', e => out.pageErrors.push(String(e && e.message ? e.message : e)));
        for (const step of job.steps) {
            try {
                out.results.push(await run(page, step, timeout));
            } catch (error) {
                out.results.push({error: String(error && error.message ? error.message : error), step});
                break;
            }
        }
        await context.close();
    } finally {
        await browser.close().catch(() => {});
    }
    process.stdout.write(JSON.stringify(out));
}

main().catch(error => {
    process.stderr.write(String(error && error.stack ? error.stack : error));
    process.exit(1);
});
