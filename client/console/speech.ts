/**
 * The speak panel: a line said now or queued, interrupt, the looping playlist editor, and what is being
 * said highlighted as it is spoken (the channel's speech events, read as they happen).
 */
import { call, readEvents, session } from './api.js';
import { onLanguageChange, t } from './i18n.js';
import { $, channelPath, consoleState, flash } from './state.js';
import type { PlaylistAnswer, PlaylistLineAnswer, SpeechEventAnswer } from '../../server/api/contract.js';

const sayText = $<HTMLTextAreaElement>('say-text');
const sayMsg = $('say-msg');
const list = $<HTMLOListElement>('playlist-lines');
const loop = $<HTMLInputElement>('playlist-loop');
const playlistMsg = $('playlist-msg');
const speaking = $('speaking');
let events: AbortController | null = null;
let current: { utteranceId: string; line: number | null } | null = null;

async function say(interrupt: boolean): Promise<void> {
  const text = sayText.value.trim();
  if (!text) return;
  await call(channelPath('/say'), { body: { text, interrupt } });
  flash(sayMsg, t(interrupt ? 'sayingNow' : 'queued'));
  sayText.value = '';
}

function lineItem(line: PlaylistLineAnswer): HTMLLIElement {
  const li = document.createElement('li');
  const row = document.createElement('div');
  row.className = 'line';
  const text = Object.assign(document.createElement('input'), { type: 'text', value: line.text, maxLength: 2000, className: 'line-text' });
  text.placeholder = t('lineText');
  const pause = Object.assign(document.createElement('input'), { type: 'number', min: '0', max: '600000', step: '100', value: String(line.pauseMs ?? 800), className: 'line-pause' });
  pause.title = t('pauseMs');
  const up = Object.assign(document.createElement('button'), { type: 'button', textContent: '↑', className: 'small' });
  const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: '✕', className: 'small danger' });
  remove.title = t('remove');
  up.addEventListener('click', () => li.previousElementSibling?.before(li));
  remove.addEventListener('click', () => li.remove());
  if (line.voice) li.dataset.voice = line.voice;
  row.append(text, pause, up, remove);
  li.append(row);
  return li;
}

function editedLines(): PlaylistLineAnswer[] {
  return [...list.children].flatMap((li) => {
    const text = (li.querySelector('.line-text') as HTMLInputElement).value.trim();
    const pauseMs = Math.max(0, Math.min(600_000, Math.round(Number((li.querySelector('.line-pause') as HTMLInputElement).value) || 0)));
    const voice = (li as HTMLElement).dataset.voice;
    return text ? [{ text, pauseMs, ...(voice ? { voice } : {}) }] : [];
  });
}

async function loadPlaylist(): Promise<void> {
  const playlist = await call<PlaylistAnswer>(channelPath('/playlist'));
  list.replaceChildren(...playlist.lines.map(lineItem));
  // A new playlist loops by default: a stream runs all night.
  loop.checked = playlist.lines.length === 0 ? true : playlist.loop;
  highlight();
}

async function savePlaylist(): Promise<void> {
  const lines = editedLines();
  await call(channelPath('/playlist'), { method: 'PUT', body: { lines, loop: loop.checked } });
  // Blank lines were dropped: show what was saved, numbered as the server numbers it.
  list.replaceChildren(...lines.map(lineItem));
  flash(playlistMsg, t('saved'));
}

/** Marks what is being said: the sentence under the preview and the playlist line it comes from. */
function highlight(sentence?: string | null): void {
  const on = current !== null;
  speaking.dataset.state = on ? 'speaking' : 'idle';
  $('speaking-state').textContent = t(on ? 'speakingNow' : 'idle');
  if (sentence !== undefined) $('speaking-text').textContent = on ? (sentence ?? '') : '';
  [...list.children].forEach((li, i) => li.classList.toggle('speaking', on && current?.line === i));
}

function onSpeech(event: SpeechEventAnswer): void {
  if (event.type === 'started' || event.type === 'sentence') {
    current = { utteranceId: event.utteranceId, line: event.source === 'playlist' && event.line !== undefined ? event.line : null };
    highlight(event.type === 'sentence' ? event.sentence : '');
  } else if (event.type === 'finished' && current?.utteranceId === event.utteranceId) {
    current = null;
    highlight(null);
  } else if (event.type === 'error') {
    flash(sayMsg, event.message ?? 'speech error', true);
  }
}

/** Follows the channel's speech events, reconnecting after a dropped stream. */
function follow(channel: string): void {
  events?.abort();
  const controller = new AbortController();
  events = controller;
  current = null;
  highlight(null);
  void (async () => {
    while (!controller.signal.aborted && session.token) {
      try {
        await readEvents(`/api/channels/${encodeURIComponent(channel)}/events`, controller.signal, (type, data) => {
          if (type === 'speech') onSpeech(data as SpeechEventAnswer);
        });
      } catch {
        // dropped or refused: retry below unless stopped
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
}

export function initSpeech(): void {
  const report = (el: HTMLElement) => (err: Error) => flash(el, err.message, true);
  $('say-now').addEventListener('click', () => void say(true).catch(report(sayMsg)));
  $('say-queue').addEventListener('click', () => void say(false).catch(report(sayMsg)));
  sayText.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void say(false).catch(report(sayMsg));
  });
  $('interrupt').addEventListener('click', () => {
    call(channelPath('/interrupt'), { method: 'POST', body: {} }).then(() => flash(sayMsg, t('interrupted')), report(sayMsg));
  });
  $('playlist-add').addEventListener('click', () => {
    const li = lineItem({ text: '' });
    list.append(li);
    (li.querySelector('.line-text') as HTMLInputElement).focus();
  });
  $('playlist-save').addEventListener('click', () => void savePlaylist().catch(report(playlistMsg)));
  consoleState.onChannel((channel) => {
    follow(channel);
    void loadPlaylist().catch(report(playlistMsg));
  });
  // The status poll as a backstop for a missed event (a reconnect in the middle of a sentence).
  consoleState.onStatus((status) => {
    if (status.activity === 'idle' && current) {
      current = null;
      highlight(null);
    }
  });
  session.onSignedOut(() => events?.abort());
  onLanguageChange(() => highlight());
}
