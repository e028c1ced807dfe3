// Signing in with the node's trust: a GA4GH passport or a broker's access token (LS-AAI),
// pasted once and kept in this tab only (sessionStorage), sent as the bearer of every Beacon
// call. The node's /permissions says what it grants; the pages then show controlled datasets at
// the granularity the permit allows. Without a token the pages see what an anonymous Beacon
// caller sees, nothing more.
import {escapeHtml, t} from './format.js';

const KEY = 'gdi-node-browser-token';

export function token() {
    return window.sessionStorage.getItem(KEY);
}

async function permissions(config) {
    const headers = {Accept: 'application/json'};
    if (token()) headers.Authorization = `Bearer ${token()}`;
    const response = await fetch(config.permissions, {headers});
    const answer = await response.json().catch(() => null);
    return response.ok ? answer : {error: answer && answer.message ? answer.message : `HTTP ${response.status}`};
}

function describe(answer) {
    if (!answer) return t('signin.unknown');
    if (answer.error) return t('signin.refused', {message: answer.error});
    const granted = (answer.permissions || []).filter(p => p.audience !== 'anonymous' && p.securityLevel !== 'PUBLIC');
    const who = answer.subject ? answer.subject.sub : t('signin.nobody');
    const list = granted.map(p => `${p.datasetId} (${p.disclosure})`).join(', ');
    return t(granted.length ? 'signin.granted' : 'signin.nothing', {who, datasets: list});
}

export function setupSignIn(config, refresh) {
    const root = document.getElementById('signin');
    const render = async () => {
        if (!token()) {
            root.innerHTML = `<button type="button" id="signin-open">${escapeHtml(t('signin.button'))}</button>`;
            root.querySelector('#signin-open').addEventListener('click', () => dialog.showModal());
            return;
        }
        const answer = await permissions(config).catch(() => null);
        root.innerHTML = `<span class="signed-in" role="status">${escapeHtml(describe(answer))}</span>`
            + ` <button type="button" id="signin-out">${escapeHtml(t('signin.out'))}</button>`;
        root.querySelector('#signin-out').addEventListener('click', () => {
            window.sessionStorage.removeItem(KEY);
            render();
            refresh();
        });
    };
    document.body.insertAdjacentHTML('beforeend', `<dialog id="signin-dialog" aria-labelledby="signin-title">
<form method="dialog"><h2 id="signin-title">${escapeHtml(t('signin.title'))}</h2>
<p>${escapeHtml(t('signin.explain'))}</p>
<label for="signin-token">${escapeHtml(t('signin.token'))}</label>
<textarea id="signin-token" rows="5" spellcheck="false" autocomplete="off"></textarea>
<div class="dialog-buttons"><button type="submit" value="sign-in">${escapeHtml(t('signin.submit'))}</button>
<button type="submit" value="cancel" formnovalidate>${escapeHtml(t('signin.cancel'))}</button></div></form></dialog>`);
    const dialog = document.getElementById('signin-dialog');
    dialog.addEventListener('close', () => {
        const pasted = document.getElementById('signin-token').value.trim().replace(/^Bearer\s+/i, '');
        document.getElementById('signin-token').value = '';
        if (dialog.returnValue === 'sign-in' && pasted) {
            window.sessionStorage.setItem(KEY, pasted);
            render();
            refresh();
        }
    });
    render();
}
