import type { EventEmitter } from 'node:events';
import type { PipelineMetrics } from '../metrics.js';
import { PUSH_STATES } from '../output/destinationStatus.js';
import type { ChannelObserverEvents, LogLevel } from './events.js';

/**
 * A channel's metrics and logs, kept out of its stages: this listens to the channel's observer events
 * and updates the Prometheus series (labelled by channel and destination) and writes the log lines.
 * Series are made once per label set, so a tick costs a few histogram observations.
 */
export class ChannelMonitor {
  readonly #channelId: string;
  readonly #metrics: PipelineMetrics;

  constructor(channelId: string, metrics: PipelineMetrics, observer: EventEmitter<ChannelObserverEvents>, log: (level: LogLevel, message: string) => void) {
    this.#channelId = channelId;
    this.#metrics = metrics;
    const id = channelId;
    const stage = (name: 'speech' | 'rig' | 'render' | 'convert' | 'mix' | 'tick') => metrics.stageSeconds.labels(id, name);
    const stages = { speech: stage('speech'), rig: stage('rig'), render: stage('render'), convert: stage('convert'), mix: stage('mix'), tick: stage('tick') };
    const rendered = metrics.framesRendered.labels(id);
    const repeated = metrics.framesDropped.labels(id, 'render', 'late');
    const encoderOverflow = metrics.framesDropped.labels(id, 'encoder', 'overflow');
    observer.on('tick', (t) => {
      stages.speech.observe(t.speech / 1000);
      stages.mix.observe(t.mix / 1000);
      stages.tick.observe(t.tick / 1000);
      if (t.rendered) {
        stages.rig.observe(t.rig / 1000);
        stages.render.observe(t.render / 1000);
        stages.convert.observe(t.convert / 1000);
        rendered.inc();
      } else {
        repeated.inc();
      }
      if (t.encoderOverflow) encoderOverflow.inc();
    });
    const fps = metrics.outputFps.labels(id), lag = metrics.clockLagSeconds.labels(id), cache = metrics.avatarCacheBytes.labels(id);
    const spriteWorker = metrics.spriteWorkerSeconds.labels(id);
    let spriteWorkerMs = 0;
    const driven = { person: metrics.drivenSeconds.labels(id, 'person'), script: metrics.drivenSeconds.labels(id, 'script'), idle: metrics.drivenSeconds.labels(id, 'idle') };
    const drivenBefore = { person: 0, script: 0, idle: 0 };
    observer.on('fps', (s) => {
      fps.set(s.fps);
      for (const by of ['person', 'script', 'idle'] as const) {
        driven[by].inc(Math.max(0, s.drivenS[by] - drivenBefore[by]));
        drivenBefore[by] = s.drivenS[by];
      }
      spriteWorker.inc((s.spriteWorkerMs - spriteWorkerMs) / 1000);
      spriteWorkerMs = s.spriteWorkerMs;
      lag.set(s.lagS);
      cache.set(s.cacheBytes);
    });
    const avOffset = metrics.avOffsetSeconds.labels(id);
    observer.on('avOffset', (seconds) => avOffset.set(seconds));
    const driveLatency = metrics.driveLatencySeconds.labels(id);
    observer.on('driveLatency', ({ ms }) => driveLatency.observe(ms / 1000));
    observer.on('encoderStats', (stats) => {
      metrics.encoderFps.labels(id).set(stats.fps);
      metrics.encoderBitrateKbps.labels(id).set(stats.bitrateKbps);
      metrics.encoderSpeed.labels(id).set(stats.speed);
    });
    observer.on('encoderDied', (why) => {
      metrics.encoderRestarts.labels(id).inc();
      log('warn', `channel ${id}: encoder stopped (${why}); restarting`);
    });
    observer.on('destinationState', ({ id: destination, status }) => {
      for (const s of PUSH_STATES) metrics.destinationState.labels(id, destination, s).set(s === status.state ? 1 : 0);
      metrics.destinationUp.labels(id, destination).set(status.state === 'live' ? 1 : 0);
      if (status.state === 'retrying') {
        metrics.destinationReconnects.labels(id, destination).inc();
        log('warn', `channel ${id}: destination ${destination} (${status.url}) lost: ${status.lastError ?? 'unknown'}; retrying in ${status.retryInS ?? '?'} s`);
      } else if (status.state === 'live') {
        log('info', `channel ${id}: destination ${destination} live`);
      } else if (status.state === 'failed') {
        log('error', `channel ${id}: destination ${destination} failed: ${status.lastError ?? 'unknown'}`);
      }
    });
    observer.on('destinationBytes', ({ id: destination, bytes, uptimeS }) => {
      metrics.destinationBytes.labels(id, destination).inc(bytes);
      metrics.destinationUptimeSeconds.labels(id, destination).set(uptimeS);
    });
    observer.on('destinationDisabled', (destination) => metrics.destinationUptimeSeconds.labels(id, destination).set(0));
    observer.on('liveDriver', (status) => metrics.hostAway.labels(id).set(status.away ? 1 : 0));
    observer.on('log', ({ level, message }) => log(level, message));
  }

  /** Forgets every series of a removed destination. */
  async forgetDestination(destination: string): Promise<void> {
    await this.#metrics.removeDestination(this.#channelId, destination);
  }

  /** Forgets every series of the channel. */
  async close(): Promise<void> {
    await this.#metrics.removeChannel(this.#channelId);
  }
}
