import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pushUrlParts } from '../../pipeline/output/rtmpUrl.js';

test('push URLs split into address, app and stream name the way ffmpeg\'s RTMP client splits them', () => {
  const cases: [string, ReturnType<typeof pushUrlParts>][] = [
    ['rtmp://127.0.0.1:1935/live/main', { address: 'rtmp://127.0.0.1:1935/live', app: 'live', playpath: 'main' }],
    ['rtmp://push.example.com/live/stream-123?txSecret=abc&txTime=65F1', { address: 'rtmp://push.example.com/live', app: 'live', playpath: 'stream-123?txSecret=abc&txTime=65F1' }],
    // Three segments or more: ffmpeg takes the first two as the app (an application instance).
    ['rtmps://live.example.com:443/app/inst/key', { address: 'rtmps://live.example.com:443/app/inst', app: 'app/inst', playpath: 'key' }],
    ['rtmp://h/a/b/c/key', { address: 'rtmp://h/a/b', app: 'a/b', playpath: 'c/key' }],
    // ...unless a ':' comes before the next slash (mp4:name/...).
    ['rtmp://h/app/mp4:folder/name', { address: 'rtmp://h/app', app: 'app', playpath: 'mp4:folder/name' }],
    ['rtmp://user:pw@h/live/key', { address: 'rtmp://user:pw@h/live', app: 'live', playpath: 'key' }],
    // Forms ffmpeg rewrites go as the whole URL.
    ['rtmp://h/live/clip.flv', null],
    ['rtmp://h/live/clip.mp4', null],
    ['rtmp://h/ondemand/x/y', null],
    ['rtmp://h/live?slist=key', null],
    [`rtmp://h/live/${'k'.repeat(1000)}`, null],
  ];
  for (const [url, expected] of cases) assert.deepEqual(pushUrlParts(url), expected, url);
});
