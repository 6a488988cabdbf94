/**
 * The operator console (/): sign in with the operator token, pick a channel, and steer it: live preview,
 * speech and playlist, scene, clones (分身), camera drive, destinations. Chinese by default, English on one click.
 */
import { ApiCallError, call, session } from './console/api.js';
import { initCamera } from './console/camera.js';
import { initClones } from './console/clones.js';
import { initDestinations } from './console/destinations.js';
import { currentLanguage, onLanguageChange, setLanguage, t, translate, type MessageKey } from './console/i18n.js';
import { initPreview } from './console/preview.js';
import { initScene } from './console/scene.js';
import { initSpeech } from './console/speech.js';
import { initVideos } from './console/videos.js';
import { $, consoleState } from './console/state.js';
import type { ChannelListAnswer, ChannelStatusAnswer } from '../server/api/contract.js';

const signin = $<HTMLDialogElement>('signin');
const tokenInput = $<HTMLInputElement>('token');
const signinMsg = $('signin-msg');
const channelSelect = $<HTMLSelectElement>('channel');
let started = false;
let poll: number | null = null;

function showSignIn(reason: string): void {
  $('console').hidden = true;
  if (poll !== null) clearInterval(poll);
  poll = null;
  signinMsg.textContent = reason;
  if (!signin.open) signin.showModal();
  tokenInput.focus();
}

function showChannelState(status: ChannelStatusAnswer | null): void {
  const badge = $('channel-state');
  const state = status?.state ?? 'starting';
  badge.dataset.state = state;
  const key = `state_${state}`;
  badge.textContent = key in { state_live: 1, state_starting: 1, state_stopping: 1, state_closed: 1 } ? t(key as MessageKey) : state;
  // The person in the loop, plainly: a person driving (camera or microphone), or only a script / idle motion.
  const driver = $('driver-state');
  const live = status?.liveDriver;
  const kind = !live ? 'script' : live.away ? 'away' : live.driving ? 'person' : 'script';
  driver.dataset.driver = kind;
  driver.textContent = kind === 'person' ? t(live?.via === 'microphone' ? 'driverMic' : 'driverCamera') : kind === 'away' ? t('driverAway') : t(live?.required ? 'driverNeeded' : 'driverScript');
  driver.title = live ? t('driverSeconds', { person: Math.round(live.seconds.person), script: Math.round(live.seconds.script) }) : '';
}

async function refreshStatus(): Promise<void> {
  const { channels } = await call<ChannelListAnswer>('/api/channels');
  const ids = channels.map((c) => c.id);
  if (ids.join() !== [...channelSelect.options].map((o) => o.value).join()) {
    channelSelect.replaceChildren(...ids.map((id) => new Option(id, id)));
  }
  if (!consoleState.channel || !ids.includes(consoleState.channel)) {
    const first = ids.includes('main') ? 'main' : ids[0];
    if (first) consoleState.selectChannel(first);
  }
  channelSelect.value = consoleState.channel;
  const status = channels.find((c) => c.id === consoleState.channel) ?? null;
  showChannelState(status);
  if (status) consoleState.publishStatus(status);
}

/** Checks the token with the server; on success shows the console and starts everything once. */
async function enter(token: string): Promise<void> {
  session.signIn(token);
  const presets = await call<{ presets: string[] }>('/api/presets');
  if (!started) {
    started = true;
    initPreview();
    initSpeech();
    initCamera();
    initDestinations(presets.presets);
    initClones();
    initVideos();
    await initScene();
  }
  // Shown once a channel is chosen: every panel acts on it.
  await refreshStatus();
  if (signin.open) signin.close();
  $('console').hidden = false;
  poll = window.setInterval(() => void refreshStatus().catch(() => undefined), 1000);
}

async function tryEnter(token: string): Promise<void> {
  try {
    await enter(token);
  } catch (err) {
    showSignIn(err instanceof ApiCallError ? (err.status === 401 ? t('tokenRefused') : err.message) : t('serverUnreachable'));
  }
}

session.onSignedOut((reason) => {
  consoleState.reset();
  showSignIn(reason === 'refused' ? t('tokenRefused') : '');
});
$<HTMLFormElement>('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (!token) return showSignIn(t('tokenMissing'));
  tokenInput.value = '';
  void tryEnter(token);
});
// Escape must not leave an unusable page behind the dialog.
signin.addEventListener('cancel', (event) => event.preventDefault());
$('signout').addEventListener('click', () => session.signOut());
channelSelect.addEventListener('change', () => {
  consoleState.selectChannel(channelSelect.value);
  void refreshStatus().catch(() => undefined);
});
const langButton = $('lang');
const showLangButton = () => (langButton.textContent = currentLanguage() === 'zh' ? 'EN' : '中文');
langButton.addEventListener('click', () => setLanguage(currentLanguage() === 'zh' ? 'en' : 'zh'));
onLanguageChange(() => {
  showLangButton();
  showChannelState(consoleState.status);
});

translate();
showLangButton();
if (session.token) void tryEnter(session.token);
else showSignIn('');
