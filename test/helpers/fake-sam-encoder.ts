// A SAM-shaped image encoder for tests that run nodes needing one (the real
// ones cannot be downloaded here, and would add seconds per view):
// [1, 3, 1024, 1024] -> 16 x 16 average pooling -> 1 x 1 conv to 256
// channels [1, 256, 64, 64], with weights sin(frequency * i) * 0.3.

import { onnxModel } from './onnx-writer';

export function fakeSamEncoder(frequency: number): Uint8Array {
  const w = Float32Array.from({ length: 256 * 3 }, (_, i) => Math.sin(frequency * i) * 0.3);
  return onnxModel({
    inputs: [{ name: 'input_image', elemType: 'float', shape: [1, 3, 1024, 1024] }],
    outputs: [{ name: 'image_embeddings', elemType: 'float', shape: [1, 256, 64, 64] }],
    nodes: [
      { opType: 'AveragePool', inputs: ['input_image'], outputs: ['pooled'], attributes: { kernel_shape: [16, 16], strides: [16, 16], pads: [0, 0, 0, 0] } },
      { opType: 'Conv', inputs: ['pooled', 'w'], outputs: ['image_embeddings'], attributes: { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 } },
    ],
    initializers: [{ name: 'w', dims: [256, 3, 1, 1], data: w }],
  });
}
