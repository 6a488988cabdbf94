/**
 * Free space the data folder's disk keeps for what must never find it full: the database, the audit trail,
 * channels' state and the finishing of work already accepted. New uploads, short videos and clone builds are
 * refused (507, saying how much is free) when they would leave less, instead of failing half-written or
 * taking the live rooms' last megabytes.
 */
import { statfs } from 'node:fs/promises';
import { Gauge, type Registry } from 'prom-client';
import { DataFolderError } from './domainErrors.js';

const MB = 1024 * 1024;

export class DiskReserve {
  readonly #dataDir: string;
  readonly #reserveBytes: number;

  constructor(dataDir: string, reserveBytes: number) {
    this.#dataDir = dataDir;
    this.#reserveBytes = reserveBytes;
  }

  /** Bytes an unprivileged writer may still write on the data folder's disk. */
  async freeBytes(): Promise<number> {
    const stats = await statfs(this.#dataDir);
    return stats.bavail * stats.bsize;
  }

  /** Throws a 507-kind DataFolderError unless `bytes` more (what `what` will write, estimated) leave the reserve free. */
  async ensureRoom(bytes: number, what: string): Promise<void> {
    let free: number;
    try {
      free = await this.freeBytes();
    } catch {
      return; // Cannot tell (the folder is gone or unreadable): the write itself will say what is wrong.
    }
    if (free - Math.max(0, bytes) >= this.#reserveBytes) return;
    throw new DataFolderError(
      'data_folder_full',
      `the data folder's disk is nearly full: ${sizeText(free)} free, ${what} needs about ${sizeText(bytes)} and ${sizeText(this.#reserveBytes)} stay free for the live rooms (config storage.reserveMB); delete uploads, videos or clones no longer needed`,
      undefined,
    );
  }

  /** `fenshen_data_free_bytes`, read when scraped. */
  registerMetric(registry: Registry): void {
    const reserve = this;
    new Gauge({
      name: 'fenshen_data_free_bytes',
      help: 'Bytes free on the data folder\'s disk (new uploads, videos and clone builds are refused below config storage.reserveMB)',
      registers: [registry],
      async collect() {
        this.set(await reserve.freeBytes().catch(() => 0));
      },
    });
  }
}

function sizeText(bytes: number): string {
  if (bytes >= 1024 * MB) return `${(bytes / 1024 / MB).toFixed(1)} GB`;
  return bytes >= MB ? `${Math.round(bytes / MB)} MB` : `${Math.ceil(bytes / 1024)} kB`;
}
