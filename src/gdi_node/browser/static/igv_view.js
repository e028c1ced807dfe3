// The signed-in view of reads and variants: igv.js (the node's own copy, /static/igv.min.js)
// drawing the files of the datasets the user's permits allow at file level, over htsget with
// the user's token. The node lists the files (/browser/igv); htsget checks each slice again.
import {escapeHtml, t} from './format.js';
import {token} from './signin.js';

let loading = null;

function loadIgv(src) {
    if (window.igv) return Promise.resolve(window.igv);
    if (!loading) {
        loading = new Promise((resolve, reject) => {
            const script = document.createElement('script');
            script.src = src;
            script.onload = () => resolve(window.igv);
            script.onerror = () => reject(new Error(`could not load ${src}`));
            document.head.appendChild(script);
        });
    }
    return loading;
}

export async function drawIgv(main, config, locus) {
    const bearer = token();
    if (!bearer) return null;
    const response = await fetch(`${config.base}/igv?locus=${encodeURIComponent(locus)}`,
        {headers: {Accept: 'application/json', Authorization: `Bearer ${bearer}`}});
    if (!response.ok) return null;
    const view = await response.json();
    if (!view.tracks.length) return null;
    main.insertAdjacentHTML('beforeend', `<section class="igv-view"><h2>${escapeHtml(t('igv.heading'))}</h2>`
        + `<p>${escapeHtml(t('igv.explain'))}</p><div class="igv" id="igv-view"></div></section>`);
    const igv = await loadIgv(config.igv);
    // igv.js reads chromosome sizes from a URL: hand it the files' own sizes as a blob URL
    const sizes = URL.createObjectURL(new Blob([view.reference.chromSizes], {type: 'text/plain'}));
    const reference = {id: view.reference.id, name: view.reference.name, format: 'chromsizes', url: sizes};
    const tracks = view.tracks.map(track => ({...track, oauthToken: bearer}));
    const browser = await igv.createBrowser(document.getElementById('igv-view'),
        {reference, locus: view.locus, tracks, loadDefaultGenomes: false, showCursorGuide: true});
    window.gdiBrowser.igv = browser;
    return browser;
}
