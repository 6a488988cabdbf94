/** Which channel the console steers, its latest status, and who wants to know when either changes. */
import type { ChannelStatusAnswer } from '../../server/api/contract.js';

type Listener<T> = (value: T) => void;

let channelId = '';
let latest: ChannelStatusAnswer | null = null;
const channelListeners: Listener<string>[] = [];
const statusListeners: Listener<ChannelStatusAnswer>[] = [];

export const consoleState = {
  get channel(): string {
    return channelId;
  },
  get status(): ChannelStatusAnswer | null {
    return latest;
  },
  selectChannel(id: string): void {
    if (id === channelId) return;
    channelId = id;
    latest = null;
    for (const listener of channelListeners) listener(id);
  },
  /** Forgets the channel without telling anyone (signed out): the next selection starts everything again. */
  reset(): void {
    channelId = '';
    latest = null;
  },
  publishStatus(status: ChannelStatusAnswer): void {
    if (status.id !== channelId) return;
    latest = status;
    for (const listener of statusListeners) listener(status);
  },
  /** Called with the new channel id whenever the operator switches channel (and once at start). */
  onChannel(listener: Listener<string>): void {
    channelListeners.push(listener);
  },
  onStatus(listener: Listener<ChannelStatusAnswer>): void {
    statusListeners.push(listener);
  },
};

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console page lacks #${id}`);
  return el as T;
};

/** Shows a short message beside a control; errors stay, confirmations fade after a few seconds. */
export function flash(el: HTMLElement, text: string, error = false): void {
  el.textContent = text;
  el.classList.toggle('err', error);
  const stamp = String(Date.now());
  el.dataset.stamp = stamp;
  if (!error) setTimeout(() => el.dataset.stamp === stamp && (el.textContent = ''), 4000);
}

export const channelPath = (suffix = ''): string => `/api/channels/${encodeURIComponent(channelId)}${suffix}`;
