/**
 * The destinations panel: each RTMP push with its live state (live / retrying in N s / failed: reason),
 * add (the URL field is a password field: the stream key is not shown on a shared screen), remove,
 * start/stop. The server only ever returns masked URLs.
 */
import { call } from './api.js';
import { onLanguageChange, t } from './i18n.js';
import { $, channelPath, consoleState, flash } from './state.js';
import type { DestinationListAnswer, DestinationStatusAnswer } from '../../server/api/contract.js';

const body = $('destinations').querySelector('tbody') as HTMLTableSectionElement;
const msg = $('dest-msg');
const urlInput = $<HTMLInputElement>('dest-url');
const presetSelect = $<HTMLSelectElement>('dest-preset');

export function destinationStateText(d: DestinationStatusAnswer): string {
  switch (d.state) {
    case 'retrying':
      return t('state_retrying', { s: d.retryInS ?? 0 });
    case 'failed':
      return t('state_failed', { reason: d.lastError ?? '' });
    default:
      return t(`state_${d.state}`);
  }
}

function bytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`;
}

function row(d: DestinationStatusAnswer): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.id = d.id;
  const cell = (text: string, className = '') => {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    tr.append(td);
    return td;
  };
  cell(d.id);
  cell(d.url, 'dest-url');
  const state = cell('', 'dest-state');
  const badge = Object.assign(document.createElement('span'), { className: 'badge', textContent: destinationStateText(d) });
  badge.dataset.state = d.state;
  if (d.lastError) badge.title = d.lastError;
  state.append(badge);
  cell(bytes(d.bytesSent));
  const actions = cell('');
  const toggle = Object.assign(document.createElement('button'), { type: 'button', className: 'small', textContent: t(d.enabled ? 'stop' : 'start') });
  toggle.addEventListener('click', () => {
    call(channelPath(`/destinations/${encodeURIComponent(d.id)}/${d.enabled ? 'stop' : 'start'}`), { method: 'POST', body: {} }).then(refresh, (err: Error) => flash(msg, err.message, true));
  });
  actions.append(toggle);
  if (d.id !== 'embedded') {
    const remove = Object.assign(document.createElement('button'), { type: 'button', className: 'small danger', textContent: t('remove') });
    remove.addEventListener('click', () => {
      if (!confirm(t('confirmRemove', { id: d.id }))) return;
      call(channelPath(`/destinations/${encodeURIComponent(d.id)}`), { method: 'DELETE' }).then(refresh, (err: Error) => flash(msg, err.message, true));
    });
    actions.append(remove);
  }
  return tr;
}

function render(destinations: readonly DestinationStatusAnswer[]): void {
  body.replaceChildren(...destinations.map(row));
}

async function refresh(): Promise<void> {
  const { destinations } = await call<DestinationListAnswer>(channelPath('/destinations'));
  render(destinations);
}

export function initDestinations(presets: readonly string[]): void {
  presetSelect.replaceChildren(new Option('—', ''), ...presets.map((p) => new Option(p, p)));
  consoleState.onStatus((status) => render(status.destinations));
  onLanguageChange(() => consoleState.status && render(consoleState.status.destinations));
  $('dest-add').addEventListener('click', () => {
    const url = urlInput.value.trim();
    if (!url) return;
    const preset = presetSelect.value;
    call(channelPath('/destinations'), { body: { url, ...(preset ? { preset } : {}) } }).then(
      () => {
        urlInput.value = '';
        flash(msg, t('added'));
        void refresh();
      },
      (err: Error) => flash(msg, err.message, true),
    );
  });
}
