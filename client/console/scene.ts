/**
 * The scene panel: background (colour, gradient, uploaded picture or video), avatar and its style, the
 * avatar's size and place (sliders, applied while they move), the product card shown and hidden live, captions
 * and logo, and the uploads they use. Every change is one PUT of the scene; the server applies it from the
 * next frames and keeps it across restarts.
 */
import { blobUrl, call } from './api.js';
import { t } from './i18n.js';
import { $, channelPath, consoleState, flash } from './state.js';
import type { AvatarListAnswer, RigAvatarAnswer, ChannelSceneAnswer, UploadAnswer, UploadListAnswer } from '../../server/api/contract.js';

type ProductCard = NonNullable<ChannelSceneAnswer['scene']['productCard']>;

const msg = $('scene-msg');
const uploadMsg = $('upload-msg');
const sel = (id: string) => $<HTMLSelectElement>(id);
const input = (id: string) => $<HTMLInputElement>(id);
let uploads: readonly UploadAnswer[] = [];
let limits = { image: 20 * 1024 * 1024, video: 100 * 1024 * 1024 };
let avatars: readonly RigAvatarAnswer[] = [];
let scene: ChannelSceneAnswer | null = null;
const thumbs = new Map<string, string>();
/** The placement sliders' pending PUT: set while one moves, so the answer to an earlier one does not move it back. */
let placementTimer: ReturnType<typeof setTimeout> | undefined;
const PLACEMENT_SLIDERS = { 'avatar-size': 'heightFraction', 'avatar-x': 'x', 'avatar-y': 'bottom' } as const;

async function putScene(change: Record<string, unknown>): Promise<void> {
  await call(channelPath('/scene'), { method: 'PUT', body: change });
  scene = await call<ChannelSceneAnswer>(channelPath('/scene'));
  showScene();
  flash(msg, t('applied'));
}

function fillUploadSelect(select: HTMLSelectElement, kinds: readonly UploadAnswer['kind'][], empty: string, chosen: string | undefined): void {
  const options = uploads.filter((u) => kinds.includes(u.kind)).map((u) => new Option(u.name, u.file, false, u.file === chosen));
  select.replaceChildren(new Option(empty, ''), ...options);
  if (chosen) select.value = chosen;
}

function showScene(): void {
  if (!scene) return;
  const { background, productCard, caption, logo, speechCaptions } = scene.scene;
  sel('bg-type').value = background.type;
  if (background.type === 'color') input('bg-color').value = background.color;
  if (background.type === 'gradient') {
    input('bg-color').value = background.from;
    input('bg-color2').value = background.to;
  }
  const bgKinds: UploadAnswer['kind'][] = sel('bg-type').value === 'video' ? ['video'] : ['image'];
  fillUploadSelect(sel('bg-upload'), bgKinds, t('pickUpload'), background.type === 'image' || background.type === 'video' ? background.path : undefined);
  showBackgroundControls();
  input('card-name').value = productCard?.name ?? input('card-name').value;
  input('card-price').value = productCard?.price ?? input('card-price').value;
  input('card-tagline').value = productCard?.tagline ?? input('card-tagline').value;
  fillUploadSelect(sel('card-image'), ['image'], t('noImage'), productCard?.image);
  sel('card-side').value = productCard?.side ?? 'left';
  const shown = productCard?.visible === true;
  const badge = $('card-state');
  badge.dataset.state = shown ? 'on' : 'off';
  badge.textContent = t(shown ? 'cardShown' : 'cardHidden');
  input('captions').checked = speechCaptions;
  input('caption-text').value = caption?.text ?? '';
  fillUploadSelect(sel('logo-upload'), ['image'], t('noLogo'), logo?.path);
  sel('logo-corner').value = logo?.corner ?? 'top-left';
  if (placementTimer === undefined) {
    for (const [id, key] of Object.entries(PLACEMENT_SLIDERS)) input(id).value = String(scene.scene.avatarPlacement[key]);
  }
  showAvatar();
}

/** Sends the sliders' placement once they rest for a moment (a drag sends a few PUTs, not one per pixel). */
function placementChanged(report: (err: Error) => void): void {
  clearTimeout(placementTimer);
  placementTimer = setTimeout(() => {
    placementTimer = undefined;
    const avatarPlacement = Object.fromEntries(Object.entries(PLACEMENT_SLIDERS).map(([id, key]) => [key, Number(input(id).value)]));
    void putScene({ avatarPlacement }).catch(report);
  }, 150);
}

function showBackgroundControls(): void {
  const type = sel('bg-type').value;
  input('bg-color').hidden = type !== 'color' && type !== 'gradient';
  input('bg-color2').hidden = type !== 'gradient';
  sel('bg-upload').hidden = type !== 'image' && type !== 'video';
}

function showAvatar(): void {
  const chosen = scene?.avatar;
  sel('avatar').replaceChildren(...avatars.map((a) => new Option(a.name, a.id, false, a.id === chosen?.id)));
  const avatar = avatars.find((a) => a.id === sel('avatar').value);
  if (!avatar) return;
  const slotNames = Object.keys(avatar.slots);
  const slot = slotNames.includes(sel('avatar-slot').value) ? sel('avatar-slot').value : (slotNames[0] ?? '');
  sel('avatar-slot').replaceChildren(...slotNames.map((s) => new Option(s, s, false, s === slot)));
  const options = avatar.slots[slot]?.options ?? [];
  const current = (chosen?.id === avatar.id ? chosen.slots[slot] : undefined) ?? avatar.slots[slot]?.default;
  sel('avatar-option').replaceChildren(...options.map((o) => new Option(o, o, false, o === current)));
  const keys = Object.keys(avatar.palette);
  const key = keys.includes(sel('avatar-color-key').value) ? sel('avatar-color-key').value : (keys[0] ?? '');
  sel('avatar-color-key').replaceChildren(...keys.map((k) => new Option(k, k, false, k === key)));
  input('avatar-color').value = (chosen?.id === avatar.id ? chosen.palette[key] : undefined) ?? avatar.palette[key] ?? '#000000';
}

function backgroundChange(): Record<string, unknown> | null {
  const type = sel('bg-type').value;
  if (type === 'color') return { type, color: input('bg-color').value };
  if (type === 'gradient') return { type, from: input('bg-color').value, to: input('bg-color2').value, angleDeg: 180 };
  const path = sel('bg-upload').value;
  return path ? { type, path, fit: 'cover' } : null;
}

function cardChange(visible: boolean): Omit<ProductCard, 'y' | 'accentColor'> | null {
  const name = input('card-name').value.trim();
  if (!name) return null;
  const image = sel('card-image').value;
  return {
    visible,
    name,
    price: input('card-price').value.trim(),
    tagline: input('card-tagline').value.trim(),
    ...(image ? { image } : {}),
    side: sel('card-side').value === 'right' ? 'right' : 'left',
    // A new card takes the server's default place and colour.
    ...(scene?.scene.productCard ? { y: scene.scene.productCard.y, accentColor: scene.scene.productCard.accentColor } : {}),
  };
}

async function thumbnail(upload: UploadAnswer): Promise<HTMLElement> {
  if (upload.kind !== 'image') return Object.assign(document.createElement('div'), { className: 'thumb', textContent: upload.kind === 'video' ? '🎬' : '🎵' });
  let url = thumbs.get(upload.id);
  if (!url) {
    url = await blobUrl(upload.url).catch(() => '');
    thumbs.set(upload.id, url);
  }
  return Object.assign(document.createElement('img'), { src: url, alt: upload.name });
}

async function loadUploads(): Promise<void> {
  const answer = await call<UploadListAnswer>('/api/uploads');
  uploads = answer.uploads;
  limits = answer.limits;
  const items = await Promise.all(
    uploads.map(async (u) => {
      const li = document.createElement('li');
      li.dataset.id = u.id;
      const remove = Object.assign(document.createElement('button'), { type: 'button', className: 'small danger', textContent: t('remove') });
      remove.addEventListener('click', () => {
        call(`/api/uploads/${u.id}`, { method: 'DELETE' }).then(loadUploads, (err: Error) => flash(uploadMsg, err.message, true));
      });
      li.append(await thumbnail(u), Object.assign(document.createElement('div'), { className: 'name', textContent: u.name, title: u.name }), remove);
      return li;
    }),
  );
  $('uploads').replaceChildren(...items);
  showScene();
}

/** Refuses in the page what the server would refuse anyway, so a 200 MB mistake costs no upload time. */
async function upload(file: File): Promise<void> {
  const kind = file.type.startsWith('video/') || file.type.startsWith('audio/') ? 'video' : file.type.startsWith('image/') ? 'image' : null;
  const mb = (n: number) => Math.round(n / 1024 / 1024);
  if (!kind) throw new Error(t('notMedia'));
  // Sound files have the videos' limit.
  if (file.size > limits[kind]) throw new Error(`${t('tooLarge', { image: mb(limits.image), video: mb(limits.video) })} (${(file.size / 1024 / 1024).toFixed(1)} MB)`);
  flash(uploadMsg, t('uploading'));
  await call(`/api/uploads?name=${encodeURIComponent(file.name)}`, { body: file });
  flash(uploadMsg, t('uploaded'));
  await loadUploads();
}

async function loadSavedScenes(): Promise<void> {
  const { scenes } = await call<{ scenes: { id: string; name: string }[] }>('/api/scenes');
  const chosen = sel('scene-saved').value;
  sel('scene-saved').replaceChildren(new Option(t('noSavedScene'), ''), ...scenes.map((s) => new Option(s.name, s.id, false, s.id === chosen)));
}

export async function initScene(): Promise<void> {
  const report = (el: HTMLElement) => (err: Error) => flash(el, err.message, true);
  $('scene-save').addEventListener('click', () => {
    const name = input('scene-name').value.trim();
    if (!name) return flash(msg, t('sceneName'), true);
    call<{ id: string }>(channelPath('/scenes'), { body: { name } }).then(async ({ id }) => {
      input('scene-name').value = '';
      await loadSavedScenes();
      sel('scene-saved').value = id;
      flash(msg, t('saved'));
    }, report(msg));
  });
  $('scene-switch').addEventListener('click', () => {
    const id = sel('scene-saved').value;
    if (!id) return;
    call(channelPath('/scene/apply'), { body: { scene: id } }).then(async () => {
      scene = await call<ChannelSceneAnswer>(channelPath('/scene'));
      showScene();
      flash(msg, t('applied'));
    }, report(msg));
  });
  $('scene-delete').addEventListener('click', () => {
    const id = sel('scene-saved').value;
    if (id) call(`/api/scenes/${encodeURIComponent(id)}`, { method: 'DELETE' }).then(loadSavedScenes, report(msg));
  });
  // Clones are listed too; the scene editor styles drawn avatars (a clone is shown by its own section).
  avatars = (await call<AvatarListAnswer>('/api/avatars')).avatars.filter((a): a is RigAvatarAnswer => a.kind === 'rig');
  sel('bg-type').addEventListener('change', () => {
    showBackgroundControls();
    fillUploadSelect(sel('bg-upload'), sel('bg-type').value === 'video' ? ['video'] : ['image'], t('pickUpload'), undefined);
  });
  $('bg-apply').addEventListener('click', () => {
    const background = backgroundChange();
    if (background) void putScene({ background }).catch(report(msg));
  });
  sel('avatar').addEventListener('change', showAvatar);
  sel('avatar-slot').addEventListener('change', showAvatar);
  sel('avatar-color-key').addEventListener('change', showAvatar);
  $('avatar-apply').addEventListener('click', () => {
    const id = sel('avatar').value;
    const same = scene?.avatar.id === id;
    const slots = { ...(same ? scene?.avatar.slots : {}), [sel('avatar-slot').value]: sel('avatar-option').value };
    const palette = { ...(same ? scene?.avatar.palette : {}), [sel('avatar-color-key').value]: input('avatar-color').value };
    void putScene({ avatar: { id, slots, palette } }).catch(report(msg));
  });
  for (const id of Object.keys(PLACEMENT_SLIDERS)) input(id).addEventListener('input', () => placementChanged(report(msg)));
  for (const [button, visible] of [['card-show', true], ['card-hide', false]] as const) {
    $(button).addEventListener('click', () => {
      const productCard = cardChange(visible);
      if (productCard) void putScene({ overlays: { productCard } }).catch(report(msg));
      else if (!visible) void putScene({ overlays: { productCard: null } }).catch(report(msg));
      else flash(msg, t('cardName'), true);
    });
  }
  $('caption-apply').addEventListener('click', () => {
    const text = input('caption-text').value.trim();
    void putScene({ overlays: { speechCaptions: input('captions').checked, caption: text ? { text } : null } }).catch(report(msg));
  });
  input('captions').addEventListener('change', () => void putScene({ overlays: { speechCaptions: input('captions').checked } }).catch(report(msg)));
  $('logo-apply').addEventListener('click', () => {
    const path = sel('logo-upload').value;
    void putScene({ overlays: { logo: path ? { path, corner: sel('logo-corner').value } : null } }).catch(report(msg));
  });
  input('upload-file').addEventListener('change', () => {
    const file = input('upload-file').files?.[0];
    input('upload-file').value = '';
    if (file) void upload(file).catch(report(uploadMsg));
  });
  consoleState.onChannel(() => {
    void (async () => {
      scene = await call<ChannelSceneAnswer>(channelPath('/scene'));
      await Promise.all([loadUploads(), loadSavedScenes()]);
    })().catch(report(msg));
  });
}
