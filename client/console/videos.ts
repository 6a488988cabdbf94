/**
 * The short videos (短视频) panel: a script written or pasted, the avatar, saved scene, size and voice chosen,
 * queued as a render; each video's progress bar and time left, then a preview and a download (fetched with
 * the operator token, which a <video src> could not carry), and delete.
 */
import { blobUrl, call } from './api.js';
import { onLanguageChange, t } from './i18n.js';
import { $, flash } from './state.js';
import type { AvatarListAnswer, PresetListAnswer, SavedSceneListAnswer, UploadListAnswer, VideoAnswer, VideoListAnswer } from '../../server/api/contract.js';

const list = $<HTMLUListElement>('videos');
const msg = $('video-msg');
/** While a video renders the list is read this often. */
const POLL_MS = 1000;
let videos: readonly VideoAnswer[] = [];
let timer: number | null = null;
/** Object URLs of fetched videos, by id (freed when the video goes). */
const previews = new Map<string, string>();

async function fileUrl(video: VideoAnswer): Promise<string> {
  const known = previews.get(video.id);
  if (known) return known;
  const url = await blobUrl(video.file ?? `/api/videos/${encodeURIComponent(video.id)}/file`);
  previews.set(video.id, url);
  return url;
}

function item(video: VideoAnswer): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.id = video.id;
  li.dataset.state = video.state;
  const head = document.createElement('div');
  head.className = 'row';
  const when = new Date(video.createdAt).toLocaleTimeString();
  head.append(
    Object.assign(document.createElement('strong'), { className: 'name', textContent: `${when} · ${video.preset} · ${video.avatar}` }),
    Object.assign(document.createElement('span'), { className: 'badge', textContent: t(`video_${video.state}`) }),
  );
  if (video.state === 'queued' || video.state === 'rendering') {
    const eta = video.etaS !== undefined && video.etaS !== null ? ` · ${t('videoEta', { s: video.etaS })}` : '';
    head.append(
      Object.assign(document.createElement('progress'), { max: 1, value: video.progress, title: video.stage }),
      Object.assign(document.createElement('span'), { className: 'stage', textContent: `${Math.round(video.progress * 100)}% ${video.stage}${eta}` }),
    );
  }
  if (video.state === 'done') {
    head.append(Object.assign(document.createElement('span'), { className: 'stage', textContent: t('videoMade', { length: (video.durationS ?? 0).toFixed(1), took: (video.renderS ?? 0).toFixed(1) }) }));
    const preview = Object.assign(document.createElement('button'), { type: 'button', className: 'small primary preview', textContent: t('videoPreview') });
    const player = Object.assign(document.createElement('video'), { controls: true, hidden: true });
    preview.addEventListener('click', () => {
      fileUrl(video).then((url) => {
        player.src = url;
        player.hidden = false;
        void player.play().catch(() => undefined);
      }, (err: Error) => flash(msg, err.message, true));
    });
    const save = Object.assign(document.createElement('button'), { type: 'button', className: 'small download', textContent: t('videoDownload') });
    save.addEventListener('click', () => {
      fileUrl(video).then((url) => {
        const a = Object.assign(document.createElement('a'), { href: url, download: `${video.id}.mp4` });
        a.click();
      }, (err: Error) => flash(msg, err.message, true));
    });
    head.append(preview, save);
    li.append(head, player);
  } else {
    li.append(head);
  }
  const remove = Object.assign(document.createElement('button'), { type: 'button', className: 'small danger', textContent: t('remove') });
  remove.addEventListener('click', () => {
    call(`/api/videos/${encodeURIComponent(video.id)}`, { method: 'DELETE' }).then(() => {
      const url = previews.get(video.id);
      if (url) URL.revokeObjectURL(url);
      previews.delete(video.id);
      return refresh();
    }, (err: Error) => flash(msg, err.message, true));
  });
  head.append(remove);
  if (video.error) li.append(Object.assign(document.createElement('p'), { className: 'msg err', textContent: video.error }));
  return li;
}

function render(): void {
  list.replaceChildren(...videos.map(item));
}

async function refresh(): Promise<void> {
  videos = (await call<VideoListAnswer>('/api/videos')).videos;
  render();
  const busy = videos.some((v) => v.state === 'queued' || v.state === 'rendering');
  if (busy && timer === null) timer = window.setInterval(() => void refresh().catch(() => undefined), POLL_MS);
  if (!busy && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
}

/** The choices: avatars (drawn and ready clones), saved scenes, sizes, uploaded music. */
async function fillChoices(): Promise<void> {
  const [{ avatars }, { scenes }, { presets }, { uploads }] = await Promise.all([call<AvatarListAnswer>('/api/avatars'), call<SavedSceneListAnswer>('/api/scenes'), call<PresetListAnswer>('/api/presets'), call<UploadListAnswer>('/api/uploads')]);
  const option = (value: string, text: string) => Object.assign(document.createElement('option'), { value, textContent: text });
  const avatar = $<HTMLSelectElement>('video-avatar');
  const keep = avatar.value;
  avatar.replaceChildren(...avatars.filter((a) => a.state === 'ready').map((a) => option(a.id, a.kind === 'clone' ? `${a.name} (${t('clone')})` : a.name)));
  if (keep) avatar.value = keep;
  const scene = $<HTMLSelectElement>('video-scene');
  const keptScene = scene.value;
  scene.replaceChildren(option('', t('videoDefaultScene')), ...scenes.map((s) => option(s.id, s.name)));
  scene.value = keptScene;
  const music = $<HTMLSelectElement>('video-music');
  const keptMusic = music.value;
  music.replaceChildren(option('', t('videoNoMusic')), ...uploads.filter((u) => u.kind === 'audio').map((u) => option(u.id, `🎵 ${u.name}`)));
  music.value = keptMusic;
  const drive = $<HTMLSelectElement>('video-drive');
  const keptDrive = drive.value;
  drive.replaceChildren(option('', t('videoIdleMotion')), ...uploads.filter((u) => u.kind === 'video').map((u) => option(u.id, `🎬 ${u.name}`)));
  drive.value = keptDrive;
  const preset = $<HTMLSelectElement>('video-preset');
  if (preset.options.length === 0) {
    preset.replaceChildren(...presets.map((p) => option(p, p)));
    preset.value = 'portrait-720p';
  }
}

async function create(): Promise<void> {
  const script = $<HTMLTextAreaElement>('video-script').value;
  if (script.trim() === '') throw new Error(t('videoNeedsScript'));
  const avatar = $<HTMLSelectElement>('video-avatar').value;
  const cutout = $<HTMLInputElement>('video-cutout').checked && avatar.startsWith('clone-');
  const scene = $<HTMLSelectElement>('video-scene').value;
  const voice = $<HTMLInputElement>('video-voice').value.trim();
  const music = $<HTMLSelectElement>('video-music').value;
  const drive = $<HTMLSelectElement>('video-drive').value;
  const body = {
    script,
    ...(avatar ? { avatar: cutout ? { id: avatar, cutout } : avatar } : {}),
    ...(scene ? { scene } : {}),
    preset: $<HTMLSelectElement>('video-preset').value || 'portrait-720p',
    ...(voice ? { voice } : {}),
    ...(music ? { music } : {}),
    ...(drive ? { drive } : {}),
    subtitles: $<HTMLInputElement>('video-subtitles').checked,
  };
  await call<VideoAnswer>('/api/videos', { body });
  flash(msg, t('videoQueued'));
  await refresh();
}

export function initVideos(): void {
  $('video-create').addEventListener('click', () => void create().catch((err: Error) => flash(msg, err.message, true)));
  // The avatars and scenes change elsewhere in the console: read again when the panel is opened.
  $('video-panel').addEventListener('focusin', () => void fillChoices().catch(() => undefined));
  onLanguageChange(render);
  void fillChoices().catch((err: Error) => flash(msg, err.message, true));
  void refresh().catch((err: Error) => flash(msg, err.message, true));
}
