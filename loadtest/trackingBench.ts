/** Tracking rows of `npm run bench`: the converted models' inference time per frame on one core. */
import ort from 'onnxruntime-node';
import { loadModel } from '../models/onnxModels.js';

/** Face (mesh + two irises) and body (BlazePose lite) inference per frame on one core, converted ONNX models. */
export async function trackingCost(frames = 50): Promise<{ faceMs: number; irisMs: number; poseMs: number }> {
  const timeModel = async (id: string, runsPerFrame: number) => {
    const model = await loadModel(id);
    const input = model.entry.input;
    if (!input) throw new Error(`${id} has no input`);
    const data = new Float32Array(input.shape.reduce((a, b) => a * b, 1)).map((_, i) => (i % 255) / 255);
    const feeds = { [input.name]: new ort.Tensor('float32', data, input.shape) };
    for (let i = 0; i < 5; i++) await model.session.run(feeds);
    const t0 = performance.now();
    for (let i = 0; i < frames * runsPerFrame; i++) await model.session.run(feeds);
    const ms = (performance.now() - t0) / frames;
    await model.session.release();
    return ms;
  };
  return { faceMs: await timeModel('facemesh', 1), irisMs: await timeModel('iris', 2), poseMs: await timeModel('blazepose-lite', 1) };
}
