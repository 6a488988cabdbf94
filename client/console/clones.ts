/**
 * The avatars (clones) panel: a recording of a real person uploaded, their consent confirmed (the
 * operator types the name of the person filmed and ticks that they agreed: the server refuses without
 * it), the build's progress bar, its report (what it warns about, the frames it left out and why, or why
 * it refused the recording), and "put on air" on the selected channel. The preview shows the result.
 */
import { call } from './api.js';
import { onLanguageChange, t } from './i18n.js';
import { $, channelPath, consoleState, flash } from './state.js';
import type { AvatarListAnswer, CloneAvatarAnswer, UploadCreatedAnswer } from '../../server/api/contract.js';

const list = $<HTMLUListElement>('clones');
const msg = $('clone-msg');
/** While a clone builds the list is read this often. */
const BUILD_POLL_MS = 1000;
let clones: readonly CloneAvatarAnswer[] = [];
let timer: number | null = null;

function item(clone: CloneAvatarAnswer): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.id = clone.id;
  li.dataset.state = clone.state;
  const head = document.createElement('div');
  head.className = 'row';
  const stateText = t(clone.state === 'ready' ? 'cloneReady' : clone.state === 'failed' ? 'cloneFailed' : 'cloneBuilding');
  head.append(
    Object.assign(document.createElement('strong'), { className: 'name', textContent: clone.name }),
    Object.assign(document.createElement('span'), { className: 'badge', textContent: stateText }),
  );
  if (clone.state === 'building') {
    const bar = Object.assign(document.createElement('progress'), { max: 1, value: clone.progress, title: clone.stage });
    head.append(bar, Object.assign(document.createElement('span'), { className: 'stage', textContent: `${Math.round(clone.progress * 100)}% ${clone.stage}` }));
  }
  const status = consoleState.status;
  const shown = status?.avatar === clone.id;
  if (clone.state === 'ready') {
    // Two ways on air: full frame in the recorded room, or cut out over the scene (placed by its sliders).
    for (const cutout of [false, true]) {
      const current = shown && status?.avatarCutout === cutout;
      const label = cutout ? (current ? 'cloneShownCutout' : 'cloneShowCutout') : current ? 'cloneShown' : 'cloneShow';
      const show = Object.assign(document.createElement('button'), { type: 'button', className: `small${cutout ? '' : ' primary'}`, textContent: t(label), disabled: current });
      show.dataset.cutout = String(cutout);
      show.addEventListener('click', () => {
        call(channelPath('/scene'), { method: 'PUT', body: { avatar: { id: clone.id, cutout } } }).then(() => flash(msg, t(cutout ? 'cloneShownCutout' : 'cloneShown')), (err: Error) => flash(msg, err.message, true));
      });
      head.append(show);
    }
  }
  const remove = Object.assign(document.createElement('button'), { type: 'button', className: 'small danger', textContent: t('remove') });
  remove.addEventListener('click', () => {
    if (!confirm(t('confirmRemove', { id: clone.name }))) return;
    call(`/api/avatars/${encodeURIComponent(clone.id)}`, { method: 'DELETE' }).then(refresh, (err: Error) => flash(msg, err.message, true));
  });
  head.append(remove);
  li.append(head);
  const notes = document.createElement('ul');
  notes.className = 'notes';
  const note = (text: string, className = '') => notes.append(Object.assign(document.createElement('li'), { textContent: text, className }));
  note(t('cloneConsentOf', { person: clone.consent.person, at: new Date(clone.consent.agreedAt ?? clone.consent.confirmedAt).toLocaleString() }) + (clone.consent.document ? ` · ${t('cloneConsentSigned')}` : ''));
  if (clone.error) note(clone.error, 'err');
  for (const warning of clone.report?.warnings ?? []) note(warning.message, 'warn');
  for (const run of (clone.report?.rejectedFrames ?? []).slice(0, 5)) note(t('cloneRejected', { from: run.from, to: run.to, reason: run.reason }));
  li.append(notes);
  return li;
}

function render(): void {
  list.replaceChildren(...clones.map(item));
}

async function refresh(): Promise<void> {
  const { avatars } = await call<AvatarListAnswer>('/api/avatars');
  clones = avatars.filter((a): a is CloneAvatarAnswer => a.kind === 'clone');
  render();
  const building = clones.some((c) => c.state === 'building');
  if (building && timer === null) timer = window.setInterval(() => void refresh().catch(() => undefined), BUILD_POLL_MS);
  if (!building && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
}

async function create(): Promise<void> {
  const file = $<HTMLInputElement>('clone-file').files?.[0];
  const person = $<HTMLInputElement>('clone-person').value.trim();
  if (!file) throw new Error(t('cloneNeedsFile'));
  if (!person || !$<HTMLInputElement>('clone-consent').checked) throw new Error(t('cloneNeedsConsent'));
  const name = $<HTMLInputElement>('clone-name').value.trim() || file.name.replace(/\.[^.]+$/, '');
  flash(msg, t('uploading'));
  const upload = await call<UploadCreatedAnswer>(`/api/uploads?name=${encodeURIComponent(file.name)}`, { body: file });
  await call<CloneAvatarAnswer>('/api/avatars', { body: { kind: 'clone', name, upload: upload.id, consent: { person } } });
  flash(msg, t('cloneQueued'));
  $<HTMLInputElement>('clone-consent').checked = false;
  await refresh();
}

export function initClones(): void {
  $('clone-create').addEventListener('click', () => void create().catch((err: Error) => flash(msg, err.message, true)));
  onLanguageChange(render);
  // The "on air" button follows the channel's avatar: redrawn when that changes, not on every status (a
  // button replaced under the pointer loses the click).
  let shown: string | null = null;
  consoleState.onStatus((status) => {
    const now = `${status.avatar} ${status.avatarCutout}`;
    if (now === shown) return;
    shown = now;
    render();
  });
  void refresh().catch((err: Error) => flash(msg, err.message, true));
}
