import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { processTally } from './process/processTally.js';

/** Stage names as they appear in the `stage` label. */
export type StageName = 'rig' | 'speech' | 'render' | 'convert' | 'mix' | 'tick';

const STAGE_BUCKETS_S = [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.033, 0.066, 0.1, 0.25, 1];

/** Metric families shared by every channel of the process; each channel binds its own label values. */
export class PipelineMetrics {
  readonly framesRendered: Counter<'channel'>;
  readonly framesDropped: Counter<'channel' | 'stage' | 'reason'>;
  readonly stageSeconds: Histogram<'channel' | 'stage'>;
  readonly outputFps: Gauge<'channel'>;
  readonly encoderFps: Gauge<'channel'>;
  readonly encoderBitrateKbps: Gauge<'channel'>;
  readonly encoderSpeed: Gauge<'channel'>;
  readonly encoderRestarts: Counter<'channel'>;
  readonly destinationUp: Gauge<'channel' | 'destination'>;
  readonly destinationReconnects: Counter<'channel' | 'destination'>;
  readonly destinationBytes: Counter<'channel' | 'destination'>;
  readonly destinationState: Gauge<'channel' | 'destination' | 'state'>;
  readonly destinationUptimeSeconds: Gauge<'channel' | 'destination'>;
  readonly clockLagSeconds: Gauge<'channel'>;
  readonly avatarCacheBytes: Gauge<'channel'>;
  readonly spriteWorkerSeconds: Counter<'channel'>;
  readonly drivenSeconds: Counter<'channel' | 'by'>;
  readonly hostAway: Gauge<'channel'>;
  readonly avOffsetSeconds: Gauge<'channel'>;
  readonly driveLatencySeconds: Histogram<'channel'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.framesRendered = new Counter({ name: 'fenshen_frames_rendered_total', help: 'Video frames rendered', labelNames: ['channel'], registers });
    this.framesDropped = new Counter({
      name: 'fenshen_frames_dropped_total',
      help: 'Frames given up by a live stage (late render repeated, encoder queue full)',
      labelNames: ['channel', 'stage', 'reason'],
      registers,
    });
    this.stageSeconds = new Histogram({
      name: 'fenshen_stage_duration_seconds',
      help: 'Time spent per frame in each pipeline stage',
      labelNames: ['channel', 'stage'],
      buckets: STAGE_BUCKETS_S,
      registers,
    });
    this.outputFps = new Gauge({ name: 'fenshen_output_fps', help: 'Frames per second leaving the tick, measured', labelNames: ['channel'], registers });
    this.encoderFps = new Gauge({ name: 'fenshen_encoder_fps', help: 'Frames per second reported by the encoder', labelNames: ['channel'], registers });
    this.encoderBitrateKbps = new Gauge({ name: 'fenshen_encoder_bitrate_kbps', help: 'Output bitrate reported by the encoder', labelNames: ['channel'], registers });
    this.encoderSpeed = new Gauge({ name: 'fenshen_encoder_speed_ratio', help: 'Encoder speed relative to real time', labelNames: ['channel'], registers });
    this.encoderRestarts = new Counter({ name: 'fenshen_encoder_restarts_total', help: 'Times the encoder process was restarted', labelNames: ['channel'], registers });
    this.destinationUp = new Gauge({ name: 'fenshen_destination_up', help: '1 while a destination is connected and flowing', labelNames: ['channel', 'destination'], registers });
    this.destinationReconnects = new Counter({ name: 'fenshen_destination_reconnects_total', help: 'Destination reconnect attempts', labelNames: ['channel', 'destination'], registers });
    this.destinationBytes = new Counter({ name: 'fenshen_destination_bytes_total', help: 'Bytes written to a destination server', labelNames: ['channel', 'destination'], registers });
    this.destinationState = new Gauge({
      name: 'fenshen_destination_state',
      help: '1 for the state a destination is in (connecting, live, retrying, failed, stopped), 0 for the others',
      labelNames: ['channel', 'destination', 'state'],
      registers,
    });
    this.destinationUptimeSeconds = new Gauge({ name: 'fenshen_destination_uptime_seconds', help: 'How long the current connection of a destination has been live (0 when not)', labelNames: ['channel', 'destination'], registers });
    this.driveLatencySeconds = new Histogram({ name: 'fenshen_drive_latency_seconds', help: 'Drive frame arrival to the tick that renders its pose', labelNames: ['channel'], buckets: [0.01, 0.02, 0.033, 0.05, 0.066, 0.1, 0.15, 0.25, 0.5], registers });
    this.avOffsetSeconds = new Gauge({ name: 'fenshen_av_offset_seconds', help: 'Output video minus audio timestamp at each video frame (smoothed): near 0, a trend means drift', labelNames: ['channel'], registers });
    this.avatarCacheBytes = new Gauge({ name: 'fenshen_avatar_cache_bytes', help: 'Bytes held by the avatar rotation cache and the converted sprites frames are blended from (each bounded by its budget)', labelNames: ['channel'], registers });
    this.spriteWorkerSeconds = new Counter({ name: 'fenshen_sprite_worker_seconds_total', help: 'Seconds the sprite worker thread spent making big layers at new rotations, off the tick (the tick\'s own conversions are stage="convert")', labelNames: ['channel'], registers });
    this.drivenSeconds = new Counter({ name: 'fenshen_driven_seconds_total', help: 'Seconds of output by who drove the host: a person (face on the camera or voice on the microphone), a script, or idle motion alone', labelNames: ['channel', 'by'], registers });
    this.hostAway = new Gauge({ name: 'fenshen_host_away', help: '1 while a channel that requires a live driver shows the host-away card or has paused its destinations', labelNames: ['channel'], registers });
    this.clockLagSeconds = new Gauge({ name: 'fenshen_clock_lag_seconds', help: 'How far the tick runs behind the media clock', labelNames: ['channel'], registers });
    // Child processes (ffmpeg encoders, muxers, decoders, the eSpeak helper), read from the supervisor's tally when scraped.
    new Gauge({
      name: 'fenshen_child_processes',
      help: 'Supervised child processes running, by what they are',
      labelNames: ['process'],
      registers,
      collect() {
        this.reset();
        for (const [name, e] of processTally.entries()) this.set({ process: name }, e.running);
      },
    });
    new Counter({
      name: 'fenshen_child_process_starts_total',
      help: 'Supervised child processes started, by what they are and whether the restart policy started them',
      labelNames: ['process', 'restart'],
      registers,
      collect() {
        this.reset();
        for (const [name, e] of processTally.entries()) {
          this.inc({ process: name, restart: 'no' }, e.starts - e.restarts);
          this.inc({ process: name, restart: 'yes' }, e.restarts);
        }
      },
    });
    new Counter({
      name: 'fenshen_child_process_failures_total',
      help: 'Unexpected ends of supervised child processes: exit (by itself), watchdog (killed for silence or a stall), start (could not start)',
      labelNames: ['process', 'how'],
      registers,
      collect() {
        this.reset();
        for (const [name, e] of processTally.entries()) for (const [how, n] of Object.entries(e.ends)) if (n > 0) this.inc({ process: name, how }, n);
      },
    });
  }

  /** Forgets every series of one destination. */
  async removeDestination(channel: string, destination: string): Promise<void> {
    const families = [this.destinationUp, this.destinationReconnects, this.destinationBytes, this.destinationState, this.destinationUptimeSeconds];
    await removeSeries(families, (labels) => labels.channel === channel && labels.destination === destination);
  }

  /** Forgets every series of a channel, so a deleted channel leaves nothing behind. */
  async removeChannel(channel: string): Promise<void> {
    const families = [
      this.framesRendered, this.framesDropped, this.stageSeconds, this.outputFps, this.encoderFps, this.encoderBitrateKbps,
      this.encoderSpeed, this.encoderRestarts, this.destinationUp, this.destinationReconnects, this.destinationBytes, this.destinationState, this.destinationUptimeSeconds, this.clockLagSeconds, this.avatarCacheBytes, this.spriteWorkerSeconds, this.drivenSeconds, this.hostAway, this.avOffsetSeconds, this.driveLatencySeconds,
    ];
    await removeSeries(families, (labels) => labels.channel === channel);
  }
}

type Family = Counter<string> | Gauge<string> | Histogram<string>;

async function removeSeries(families: readonly Family[], matches: (labels: Record<string, string | number | undefined>) => boolean): Promise<void> {
  for (const family of families) {
    const { values } = await family.get();
    const seen = new Set<string>();
    for (const { labels } of values) {
      if (!matches(labels)) continue;
      // Histogram samples carry `le`; a series is identified by the family's own labels.
      const { le: _le, ...own } = labels as Record<string, string | number>;
      const key = JSON.stringify(own);
      if (seen.has(key)) continue;
      seen.add(key);
      (family as { remove(labels: Record<string, string | number>): void }).remove(own);
    }
  }
}
