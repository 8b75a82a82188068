// Tests build small ONNX models with a known answer through the runtime's
// own writer (runtime-gpu/onnx/writer.ts).
export * from '../../runtime-gpu/onnx/writer';
