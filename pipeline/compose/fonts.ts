import { existsSync } from 'node:fs';
import { GlobalFonts } from '@napi-rs/canvas';

/** CJK-capable fonts from Debian packages, in order of preference. */
const CJK_FONT_FILES = [
  '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc',
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc',
];

export const CAPTION_FONT_FAMILY = 'FenshenCaption';
let registered: string | null | undefined;

/** Registers the first CJK font found under one family name; returns its file or null if none. */
export function ensureCaptionFont(): string | null {
  if (registered !== undefined) return registered;
  registered = null;
  for (const file of CJK_FONT_FILES) {
    if (existsSync(file) && GlobalFonts.registerFromPath(file, CAPTION_FONT_FAMILY)) {
      registered = file;
      break;
    }
  }
  return registered;
}
