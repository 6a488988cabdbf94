import { EventEmitter } from 'node:events';
import type { FlvTag } from '../output/flvTags.js';
import type { DestinationStatus } from '../output/destinationStatus.js';
import { RtmpDestination, type DestinationOptions } from '../output/rtmpDestination.js';
import { DestinationError } from './errors.js';
import type { ChannelObserverEvents } from './events.js';

/** What a destination is: its id, validated URL, preset (checked against the channel's) and whether it pushes. */
export type DestinationSpec = Pick<DestinationOptions, 'id' | 'url' | 'preset' | 'enabled'>;

/**
 * The encode once, fanned out: every FLV tag of the channel's one encoder goes to each RTMP destination's
 * muxer. A destination added mid-stream first gets the stream's metadata and sequence headers.
 */
export class DestinationFanout {
  readonly #ffmpegPath: string;
  readonly #observer: EventEmitter<ChannelObserverEvents>;
  readonly #destinations = new Map<string, RtmpDestination>();
  /** The latest metadata and sequence headers of the encoded stream, for destinations that join later. */
  readonly #streamHeaders = new Map<'script' | 'video' | 'audio', FlvTag>();
  #started = false;
  #closed = false;

  constructor(ffmpegPath: string, observer: EventEmitter<ChannelObserverEvents>) {
    this.#ffmpegPath = ffmpegPath;
    this.#observer = observer;
  }

  /** Starts pushing to one more RTMP server. Throws DestinationError if the id is taken. */
  add(spec: DestinationSpec): DestinationStatus {
    if (this.#closed) throw new DestinationError('the channel is closed');
    if (this.#destinations.has(spec.id)) throw new DestinationError(`destination ${spec.id} already exists`);
    const destination = new RtmpDestination({ ...spec, ffmpegPath: this.#ffmpegPath });
    const observer = this.#observer;
    observer.emit('destinationState', { id: spec.id, status: destination.status });
    destination.on('state', () => observer.emit('destinationState', { id: spec.id, status: destination.status }));
    destination.on('bytes', (bytes) => observer.emit('destinationBytes', { id: spec.id, bytes, uptimeS: destination.status.uptimeS }));
    this.#destinations.set(spec.id, destination);
    for (const header of this.#streamHeaders.values()) destination.push(header);
    if (this.#started) destination.start();
    return destination.status;
  }

  /** Stops a destination's push for good. */
  async remove(id: string): Promise<void> {
    const destination = this.#get(id);
    this.#destinations.delete(id);
    await destination.close();
  }

  /** Turns a destination's push on or off (it stays listed). */
  async setEnabled(id: string, enabled: boolean): Promise<DestinationStatus> {
    const destination = this.#get(id);
    await destination.setEnabled(enabled);
    if (!enabled) this.#observer.emit('destinationDisabled', id);
    return destination.status;
  }

  status(id: string): DestinationStatus | undefined {
    return this.#destinations.get(id)?.status;
  }

  get statuses(): DestinationStatus[] {
    return [...this.#destinations.values()].map((d) => d.status);
  }

  /** One tag of the encoded stream to every destination (headers kept for later ones). */
  push(tag: FlvTag): void {
    if (tag.isSequenceHeader || tag.type === 'script') this.#streamHeaders.set(tag.isSequenceHeader ? tag.type : 'script', tag);
    for (const destination of this.#destinations.values()) destination.push(tag);
  }

  start(): void {
    this.#started = true;
    for (const destination of this.#destinations.values()) destination.start();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#destinations.values()].map((d) => d.close()));
    this.#destinations.clear();
  }

  #get(id: string): RtmpDestination {
    const destination = this.#destinations.get(id);
    if (!destination) throw new DestinationError(`no destination ${id}`);
    return destination;
  }
}
