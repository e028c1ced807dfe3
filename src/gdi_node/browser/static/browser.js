// The frequency browser's page script: the search box (an ARIA 1.2 combobox with a listbox of
// choices from /browser/search), sign-in by token, and the page the URL names. The shell the
// node serves embeds the route, the words of the page's language and the API paths as JSON.
import {Beacon} from './beacon.js';
import {escapeHtml, setWords, t} from './format.js';
import {drawIgv} from './igv_view.js';
import {listPage, variantPage} from './pages.js';
import {setupSignIn, token} from './signin.js';

const MAX_QUERY = 500; // openapi/browser.yaml: q's maxLength
const config = JSON.parse(document.getElementById('browser-config').textContent);
setWords(config.messages, config.language);
const state = {table: null, rows: [], datasets: [], error: null};
window.gdiBrowser = state;

function withLanguage(path) {
    const url = new URL(path, window.location.href);
    if (config.languageAsked) url.searchParams.set('lang', config.language);
    return url.pathname + url.search;
}

function setupSearch() {
    const form = document.getElementById('search');
    const input = document.getElementById('q');
    const list = document.getElementById('choices');
    const message = document.getElementById('search-message');
    let choices = [];
    let active = -1;
    let asked = 0;

    const close = () => {
        list.hidden = true;
        input.setAttribute('aria-expanded', 'false');
        input.removeAttribute('aria-activedescendant');
        active = -1;
    };
    const show = () => {
        list.innerHTML = choices.map((c, i) => `<li role="option" id="choice-${i}" aria-selected="${i === active}" data-index="${i}">`
            + `<span class="choice-label">${escapeHtml(c.label)}</span> <span class="choice-detail">${escapeHtml(c.detail)}</span></li>`).join('');
        list.hidden = !choices.length;
        input.setAttribute('aria-expanded', String(Boolean(choices.length)));
        if (active >= 0) input.setAttribute('aria-activedescendant', `choice-${active}`);
        else input.removeAttribute('aria-activedescendant');
    };
    const ask = async text => {
        const mine = ++asked;
        if (text.length > MAX_QUERY) {  // the search answers 400 to longer text: do not ask
            choices = [];
            message.textContent = t('search.too_long', {max: MAX_QUERY});
            show();
            return {choices: [], message: message.textContent};
        }
        const url = `${config.base}/search?q=${encodeURIComponent(text)}&lang=${config.language}`;
        const response = await fetch(url, {headers: {Accept: 'application/json'}});
        const body = await response.json().catch(() => ({}));
        // a refused search (too long, say) answers a problem object: say its detail
        const answer = response.ok ? body : {choices: [], message: body.detail || `HTTP ${response.status}`};
        if (mine !== asked) return null; // a later keystroke asked again
        choices = answer.choices || [];
        active = -1;
        message.textContent = answer.message || '';
        show();
        return answer;
    };
    let timer = null;
    input.addEventListener('input', () => {
        clearTimeout(timer);
        const text = input.value.trim();
        if (text.length < 2) {
            choices = [];
            message.textContent = '';
            close();
            return;
        }
        timer = setTimeout(() => ask(text), 150);
    });
    input.addEventListener('keydown', event => {
        if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
            if (!choices.length) return;
            event.preventDefault();
            const step = event.key === 'ArrowDown' ? 1 : -1;
            active = (active + step + choices.length) % choices.length;
            show();
        } else if (event.key === 'Escape') {
            close();
        }
    });
    list.addEventListener('mousedown', event => {
        const option = event.target.closest('[role=option]');
        if (option) {
            event.preventDefault();
            window.location.assign(withLanguage(choices[Number(option.dataset.index)].path));
        }
    });
    input.addEventListener('blur', () => setTimeout(close, 100));
    form.addEventListener('submit', async event => {
        event.preventDefault();
        clearTimeout(timer);
        if (active >= 0 && choices[active]) {
            window.location.assign(withLanguage(choices[active].path));
            return;
        }
        if (!input.value.trim()) {
            message.textContent = t('search.empty');
            return;
        }
        const answer = await ask(input.value.trim());
        if (answer && answer.choices.length === 1) window.location.assign(withLanguage(answer.choices[0].path));
        else if (answer && answer.choices.length > 1) message.textContent = t('search.pick', {n: answer.choices.length});
    });
    if (config.route.query) {
        input.value = config.route.query;
        ask(config.route.query);
    }
}

async function showRoute(main, beacon) {
    const route = config.route;
    document.body.dataset.state = 'loading';
    try {
        if (route.kind === 'variant') {
            const shown = await variantPage(main, beacon, route);
            performance.mark('gdi:first-render');
            state.rows = shown.rows;
            state.datasets = shown.datasets;
            await drawIgv(main, config, `${route.chrom}:${Math.max(1, route.pos - 50)}-${route.pos + 50}`);
        } else if (['gene', 'region', 'hgvs', 'rsid'].includes(route.kind)) {
            const shown = await listPage(main, beacon, route.heading, route.parameters, route.filters || [], route.note);
            state.table = shown.table;
            state.rows = shown.table.rows;
            state.datasets = shown.datasets;
            if (route.kind === 'region') {
                const p = route.parameters;
                await drawIgv(main, config, `${p.referenceName}:${p.start[0] + 1}-${p.end[0]}`);
            }
        }
        document.body.dataset.state = 'ready';
    } catch (error) {
        state.error = error.message;
        const key = error.status === 429 ? 'error.budget' : error.status === 401 || error.status === 403 ? 'error.token' : 'error.beacon';
        main.insertAdjacentHTML('beforeend', `<p class="error" role="alert">${escapeHtml(t(key, {message: error.message}))}</p>`);
        document.body.dataset.state = 'error';
    }
    performance.mark('gdi:interactive');
}

const beacon = new Beacon(config.beacon, token);
beacon.pageBase = config.base;
setupSearch();
setupSignIn(config, () => showRoute(document.getElementById('page'), beacon));
showRoute(document.getElementById('page'), beacon);
