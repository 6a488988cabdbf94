/** What the console reads from the API (the fields it uses of GET /api/channels/:id and friends). */
import type { DestinationStatus } from '../../pipeline/output/destinationStatus.js';
import type { StoredUpload } from '../../server/uploadRecord.js';

/** The destination's status as the API gives it (its URL masked: the stream key never reaches the page). */
export type DestinationView = DestinationStatus;

export interface ChannelView {
  readonly id: string;
  readonly state: string;
  readonly preset: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly fpsMeasured: number;
  readonly avOffsetMs: number | null;
  readonly activity: 'idle' | 'speaking';
  readonly speech: { readonly queued: number; readonly playlistLines: number; readonly playlistLoop: boolean; readonly sentence: string | null };
  readonly avatar: string;
  readonly drive: { readonly source: string };
  readonly destinations: readonly DestinationView[];
  readonly viewers: number;
}

export interface PlaylistLineView {
  readonly text: string;
  readonly pauseMs?: number;
  readonly voice?: string;
}

export interface ProductCardView {
  readonly visible: boolean;
  readonly name: string;
  readonly price: string;
  readonly tagline: string;
  readonly image?: string;
  readonly side: 'left' | 'right';
  readonly y: number;
  readonly accentColor: string;
}

export type BackgroundView =
  | { readonly type: 'color'; readonly color: string }
  | { readonly type: 'gradient'; readonly from: string; readonly to: string; readonly angleDeg: number }
  | { readonly type: 'image'; readonly path: string; readonly fit: 'cover' | 'contain' }
  | { readonly type: 'video'; readonly path: string; readonly fit: 'cover' | 'contain' };

export interface SceneView {
  readonly scene: {
    readonly background: BackgroundView;
    readonly caption?: { readonly text: string };
    readonly logo?: { readonly path: string; readonly corner: string };
    readonly productCard?: ProductCardView;
    readonly speechCaptions: boolean;
    /** Horizontal centre (of the width), size and bust bottom above the frame's bottom edge (of the height). */
    readonly avatarPlacement: { readonly x: number; readonly heightFraction: number; readonly bottom: number };
  };
  readonly avatar: { readonly id: string; readonly palette: Record<string, string>; readonly slots: Record<string, string> };
}

export interface AvatarView {
  readonly id: string;
  readonly name: string;
  readonly palette: Readonly<Record<string, string>>;
  readonly slots: Readonly<Record<string, { readonly default: string; readonly options: readonly string[] }>>;
}

export interface UploadView extends StoredUpload {
  /** Where the file itself is served (with the bearer token). */
  readonly url: string;
}

/** Speech events (GET /api/channels/:id/events, event "speech"). */
export interface SpeechEventView {
  readonly type: 'started' | 'sentence' | 'finished' | 'error';
  readonly utteranceId: string;
  readonly text: string;
  readonly source: 'say' | 'playlist';
  readonly line?: number;
  readonly sentence?: string;
  readonly interrupted?: boolean;
  readonly message?: string;
}
