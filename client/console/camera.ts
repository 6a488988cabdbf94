/**
 * The console's camera panel: the operator's camera (and microphone) go to the server over WebRTC
 * (mediasoup-client, a send transport joined with the operator token) and become the channel's drive:
 * the face moves the avatar, the voice is heard in the stream and moves the mouth. A mirrored self-view
 * shows what is sent, and "calibrate" takes the current face as the neutral one.
 */
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { SignalingClient } from '../signalingClient.js';
import { call, session } from './api.js';
import { t } from './i18n.js';
import { $, consoleState, flash } from './state.js';

const startButton = $<HTMLButtonElement>('camera-start');
const stopButton = $<HTMLButtonElement>('camera-stop');
const calibrateButton = $<HTMLButtonElement>('camera-calibrate');
const message = $<HTMLElement>('camera-msg');
const selfView = $<HTMLVideoElement>('camera-self');

interface Sending {
  readonly channel: string;
  readonly stream: MediaStream;
  readonly transport: types.Transport;
  readonly signaling: SignalingClient;
}
let sending: Sending | null = null;

/** Shows the panel's state; data-state is what tests and styles read, the text is for the operator. */
function say(text: string, error = false, state?: 'driving' | 'calibrated' | 'stopped' | 'error'): void {
  flash(message, text, error);
  message.dataset.state = state ?? (error ? 'error' : (message.dataset.state ?? ''));
}

async function api(path: string, method: string, body: unknown = {}): Promise<void> {
  await call(path, { method, body });
}

async function start(): Promise<void> {
  const channel = consoleState.channel;
  say('…');
  const withMic = $<HTMLInputElement>('camera-mic').checked;
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
    audio: withMic ? { echoCancellation: true, noiseSuppression: true, autoGainControl: true } : false,
  });
  selfView.srcObject = stream;
  const signaling = await SignalingClient.open(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  try {
    const { routerRtpCapabilities } = await signaling.request('join', { channel, role: 'operator', token: session.token });
    const device = new Device();
    await device.load({ routerRtpCapabilities: routerRtpCapabilities as types.RtpCapabilities });
    const { transport: info } = await signaling.request('createTransport', { direction: 'send' });
    const transport = device.createSendTransport(info as types.TransportOptions);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      signaling.request('connect', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
      signaling.request('produce', { transportId: transport.id, kind, rtpParameters }).then(({ producerId }) => callback({ id: producerId }), errback);
    });
    const track = stream.getVideoTracks()[0];
    if (!track) throw new Error('the camera gave no video');
    await transport.produce({ track });
    // The microphone before the drive switch: the server takes the voice when the camera drive starts.
    const voice = stream.getAudioTracks()[0];
    if (voice) await transport.produce({ track: voice, codecOptions: { opusStereo: false, opusDtx: false } });
    sending = { channel, stream, transport, signaling };
    signaling.onClose(() => {
      if (sending?.signaling === signaling) void stop(t('signalingLost'), true);
    });
    await api(`/api/channels/${encodeURIComponent(channel)}/drive`, 'PUT', { source: 'camera' });
    say(t('cameraDriving'), false, 'driving');
    stopButton.disabled = false;
    calibrateButton.disabled = false;
    startButton.disabled = true;
  } catch (err) {
    signaling.close();
    for (const track of stream.getTracks()) track.stop();
    throw err;
  }
}

async function stop(text = t('stopped'), error = false): Promise<void> {
  const current = sending;
  sending = null;
  if (current) {
    current.transport.close();
    current.signaling.close();
    for (const track of current.stream.getTracks()) track.stop();
    selfView.srcObject = null;
    await api(`/api/channels/${encodeURIComponent(current.channel)}/drive`, 'PUT', { source: 'idle' }).catch(() => undefined);
  }
  startButton.disabled = false;
  stopButton.disabled = true;
  calibrateButton.disabled = true;
  say(text, error, error ? 'error' : 'stopped');
}

export function initCamera(): void {
  startButton.addEventListener('click', () => {
    start().catch((err: Error) => say(err.message, true));
  });
  stopButton.addEventListener('click', () => void stop());
  calibrateButton.addEventListener('click', () => {
    if (!sending) return;
    api(`/api/channels/${encodeURIComponent(sending.channel)}/drive/calibrate`, 'POST').then(
      () => say(t('calibrated'), false, 'calibrated'),
      (err: Error) => say(err.message, true),
    );
  });
  // The camera drives one channel: switching channel or signing out stops it.
  consoleState.onChannel(() => void (sending ? stop() : undefined));
  session.onSignedOut(() => void (sending ? stop() : undefined));
}
