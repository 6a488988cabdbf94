/** The console's words in Chinese (the default) and English; the choice is kept in this browser. */
const zh = {
  channel: '频道',
  signIn: '登录',
  signOut: '退出',
  tokenLabel: '操作员令牌',
  tokenRefused: '令牌不正确，请重新输入',
  tokenMissing: '请输入操作员令牌',
  serverUnreachable: '连不上服务器',
  sound: '♪ 声音',
  fps: '帧率',
  latency: '延迟',
  avOffset: '音画偏差',
  viewers: '观众',
  idle: '待机',
  speakingNow: '正在说',
  speak: '说话',
  sayPlaceholder: '输入要说的话（中文或英文）',
  sayNow: '立即说',
  sayQueue: '排队',
  interrupt: '打断',
  queued: '已排队',
  sayingNow: '马上说',
  interrupted: '已打断',
  playlist: '脚本循环',
  addLine: '加一行',
  loop: '循环',
  savePlaylist: '保存并播放',
  saved: '已保存',
  lineText: '台词',
  pauseMs: '停顿 ms',
  remove: '删除',
  scene: '场景',
  switchScene: '切换',
  saveScene: '保存为场景',
  sceneName: '场景名，如 开场',
  noSavedScene: '（已保存的场景）',
  background: '背景',
  bgColor: '纯色',
  bgGradient: '渐变',
  bgImage: '图片',
  bgVideo: '视频',
  apply: '应用',
  applied: '已应用',
  avatar: '形象',
  avatarSize: '大小',
  avatarX: '左右',
  avatarY: '上下',
  productCard: '商品卡',
  cardName: '商品名',
  cardPrice: '价格，如 ¥99',
  cardTagline: '卖点',
  noImage: '（无图片）',
  left: '左',
  right: '右',
  showCard: '显示',
  hideCard: '隐藏',
  cardShown: '显示中',
  cardHidden: '已隐藏',
  overlays: '字幕与台标',
  speechCaptions: '说话字幕',
  captionText: '固定字幕（可空）',
  logo: '台标',
  noLogo: '（无台标）',
  topLeft: '左上',
  topRight: '右上',
  uploads: '素材',
  uploading: '上传中…',
  uploaded: '已上传',
  tooLarge: '文件太大：图片最大 {image} MB，视频最大 {video} MB',
  notMedia: '只能上传图片（PNG、JPEG、WebP、GIF）或视频（MP4、MOV、WebM）',
  pickUpload: '（选择素材）',
  drive: '摄像头驱动',
  microphone: '麦克风',
  startCamera: '开启摄像头',
  calibrate: '校准中性脸',
  cameraDriving: '摄像头驱动中',
  calibrated: '已校准',
  stopped: '已停止',
  signalingLost: '信令断开',
  stop: '停止',
  start: '开始',
  destinations: '推流地址',
  destId: '名称',
  destUrl: '地址',
  destState: '状态',
  destOut: '已推送',
  add: '添加',
  added: '已添加',
  confirmRemove: '删除推流地址 {id}？',
  state_connecting: '连接中',
  state_live: '直播中',
  state_retrying: '{s} 秒后重试',
  state_failed: '失败：{reason}',
  state_stopped: '已停止',
  state_closed: '已关闭',
  state_starting: '启动中',
  state_stopping: '停止中',
  state_reconnecting: '重新连接',
  state_offline: '未开播',
  state_refused: '被拒绝',
  state_on: '显示中',
  state_off: '已隐藏',
} as const;

export type MessageKey = keyof typeof zh;

const en: Record<MessageKey, string> = {
  channel: 'Channel',
  signIn: 'Sign in',
  signOut: 'Sign out',
  tokenLabel: 'Operator token',
  tokenRefused: 'Wrong token: please enter it again',
  tokenMissing: 'Enter the operator token',
  serverUnreachable: 'Cannot reach the server',
  sound: '♪ Sound',
  fps: 'fps',
  latency: 'Latency',
  avOffset: 'A/V offset',
  viewers: 'Viewers',
  idle: 'Idle',
  speakingNow: 'Speaking',
  speak: 'Speak',
  sayPlaceholder: 'What to say (Chinese or English)',
  sayNow: 'Say now',
  sayQueue: 'Queue',
  interrupt: 'Interrupt',
  queued: 'Queued',
  sayingNow: 'Saying it now',
  interrupted: 'Interrupted',
  playlist: 'Playlist',
  addLine: 'Add line',
  loop: 'Loop',
  savePlaylist: 'Save and play',
  saved: 'Saved',
  lineText: 'Line',
  pauseMs: 'Pause ms',
  remove: 'Remove',
  scene: 'Scene',
  switchScene: 'Switch',
  saveScene: 'Save as scene',
  sceneName: 'Scene name, e.g. Opening',
  noSavedScene: '(saved scenes)',
  background: 'Background',
  bgColor: 'Colour',
  bgGradient: 'Gradient',
  bgImage: 'Image',
  bgVideo: 'Video',
  apply: 'Apply',
  applied: 'Applied',
  avatar: 'Avatar',
  avatarSize: 'Size',
  avatarX: 'Left–right',
  avatarY: 'Up–down',
  productCard: 'Product card',
  cardName: 'Product name',
  cardPrice: 'Price, e.g. ¥99',
  cardTagline: 'Tagline',
  noImage: '(no picture)',
  left: 'Left',
  right: 'Right',
  showCard: 'Show',
  hideCard: 'Hide',
  cardShown: 'Shown',
  cardHidden: 'Hidden',
  overlays: 'Captions and logo',
  speechCaptions: 'Speech captions',
  captionText: 'Fixed caption (optional)',
  logo: 'Logo',
  noLogo: '(no logo)',
  topLeft: 'Top left',
  topRight: 'Top right',
  uploads: 'Uploads',
  uploading: 'Uploading…',
  uploaded: 'Uploaded',
  tooLarge: 'File too large: images up to {image} MB, videos up to {video} MB',
  notMedia: 'Only pictures (PNG, JPEG, WebP, GIF) or videos (MP4, MOV, WebM) can be uploaded',
  pickUpload: '(choose an upload)',
  drive: 'Camera drive',
  microphone: 'Microphone',
  startCamera: 'Start camera',
  calibrate: 'Calibrate neutral face',
  cameraDriving: 'the camera drives the avatar',
  calibrated: 'calibrated',
  stopped: 'stopped',
  signalingLost: 'signaling lost',
  stop: 'Stop',
  start: 'Start',
  destinations: 'Destinations',
  destId: 'Name',
  destUrl: 'URL',
  destState: 'State',
  destOut: 'Sent',
  add: 'Add',
  added: 'Added',
  confirmRemove: 'Remove destination {id}?',
  state_connecting: 'connecting',
  state_live: 'live',
  state_retrying: 'retrying in {s} s',
  state_failed: 'failed: {reason}',
  state_stopped: 'stopped',
  state_closed: 'closed',
  state_starting: 'starting',
  state_stopping: 'stopping',
  state_reconnecting: 'reconnecting',
  state_offline: 'offline',
  state_refused: 'refused',
  state_on: 'shown',
  state_off: 'hidden',
};

export type Language = 'zh' | 'en';
const STORAGE_KEY = 'fenshen-lang';
let language: Language = localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh';
const listeners: (() => void)[] = [];

export function currentLanguage(): Language {
  return language;
}

/** The message in the current language, with `{name}` filled from `vars`. */
export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  const text: string = (language === 'en' ? en : zh)[key];
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? ''));
}

/** Whether `key` names a message (state names come from the server). */
export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(zh, key);
}

/** Fills every [data-i18n] element's text and [data-i18n-placeholder] placeholder under `root`. */
export function translate(root: ParentNode = document): void {
  document.documentElement.lang = language === 'en' ? 'en' : 'zh-CN';
  for (const el of root.querySelectorAll<HTMLElement>('[data-i18n]')) {
    const key = el.dataset.i18n ?? '';
    if (isMessageKey(key)) el.textContent = t(key);
  }
  for (const el of root.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('[data-i18n-placeholder]')) {
    const key = el.dataset.i18nPlaceholder ?? '';
    if (isMessageKey(key)) el.placeholder = t(key);
  }
}

export function setLanguage(next: Language): void {
  language = next;
  localStorage.setItem(STORAGE_KEY, next);
  translate();
  for (const listener of listeners) listener();
}

/** Called after every language switch (for text built in code, such as table rows). */
export function onLanguageChange(listener: () => void): void {
  listeners.push(listener);
}
